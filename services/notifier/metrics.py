"""Prometheus metrics of the notifier, on a registry given by whoever serves /metrics."""

from prometheus_client import CollectorRegistry, Counter, Gauge


class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "reslot_notifier_requests",
            "Notification requests read, by what the claim decided.",
            ["decision"],
            registry=self.registry,
        )
        self.attempts = Counter(
            "reslot_notifier_send_attempts",
            "Send attempts, by channel and result.",
            ["channel", "result"],
            registry=self.registry,
        )
        # names shared with deploy/grafana and deploy/prometheus/alerts.yml
        self.outcomes = Counter(
            "reslot_notifications",
            "Notifications decided, by channel, language and outcome.",
            ["channel", "language", "outcome"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "reslot_deadletters",
            "Inputs sent to the dead-letter topic, by service and error class.",
            ["service", "error_class"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "reslot_notifier_in_flight",
            "Deliveries being sent or waiting to retry in this instance.",
            registry=self.registry,
        )
