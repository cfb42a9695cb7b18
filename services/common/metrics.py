"""Prometheus metrics of both services, on a registry the composition root creates."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.consumed = Counter("reslot_events_consumed", "Input events consumed",
                                ["topic"], registry=r)
        self.forwarded = Counter(
            "reslot_events_forwarded",
            "Inputs read on a partition other than their centre's, forwarded to its owner",
            ["topic"], registry=r)
        self.duplicates = Counter(
            "reslot_internal_duplicates",
            "Records of an internal topic published again by the relay, applied once",
            ["topic"], registry=r)
        self.deadletters = Counter("reslot_deadletters", "Inputs sent to the dead-letter topic",
                                   ["service", "error_class"], registry=r)
        self.plans = Counter("reslot_plans", "Plans solved", ["status"], registry=r)
        self.solve_seconds = Histogram(
            "reslot_solve_seconds", "Time to solve one plan", registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10))
        self.displaced = Counter("reslot_displaced", "Bookings displaced", ["centre"], registry=r)
        self.moved = Counter("reslot_moved", "Bookings moved", ["centre"], registry=r)
        self.unplaced = Counter("reslot_unplaced", "Bookings left unplaced", ["centre"],
                                registry=r)
        self.gap = Gauge("reslot_plan_gap_ratio", "Last plan's (cost - bound) / cost",
                         registry=r)
        self.notifications = Counter("reslot_notifications", "Notifications by outcome",
                                     ["channel", "language", "outcome"], registry=r)
        self.outbox_backlog = Gauge("reslot_outbox_backlog", "Outbox rows not yet published",
                                    registry=r)
        self.lag = Gauge("reslot_consumer_lag", "End offset minus stored position",
                         ["topic", "partition", "group"], registry=r)
        # v1.1, the living calendar: set by the scheduler after each batch, per centre.
        self.waiting = Gauge("reslot_waiting", "Displaced bookings waiting for a place",
                             ["centre"], registry=r)
        self.placed_from_waiting = Counter(
            "reslot_placed_from_waiting", "Waiting bookings placed when room appeared",
            ["centre"], registry=r)
        self.restored = Counter("reslot_restored", "Bookings given back their original slot",
                                ["centre"], registry=r)
        self.active_outages = Gauge("reslot_active_outages", "Outages active at owned centres",
                                    registry=r)
