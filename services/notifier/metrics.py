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
        self.outcomes = Counter(
            "reslot_notifier_outcomes",
            "Deliveries decided, by channel and outcome.",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "reslot_notifier_dead_letters",
            "Messages sent to the dead-letter topic, by error class.",
            ["error_class"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "reslot_notifier_in_flight",
            "Deliveries being sent or waiting to retry in this instance.",
            registry=self.registry,
        )
