"""What the observability tests check expressions against: the metrics the services export
(with their labels), and a reader of the metric and label names of a PromQL expression."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "reslot.json"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"

# Metric name -> its labels, as the services export them (Prometheus client names).
METRICS: dict[str, frozenset[str]] = {
    "reslot_events_consumed_total": frozenset({"topic"}),
    "reslot_deadletters_total": frozenset({"service", "error_class"}),
    "reslot_plans_total": frozenset({"status"}),
    "reslot_displaced_total": frozenset({"centre"}),
    "reslot_moved_total": frozenset({"centre"}),
    "reslot_unplaced_total": frozenset({"centre"}),
    "reslot_plan_gap_ratio": frozenset(),
    "reslot_notifications_total": frozenset({"channel", "language", "outcome"}),
    "reslot_outbox_backlog": frozenset(),
    "reslot_consumer_lag": frozenset({"topic", "partition", "group"}),
    "reslot_active_outages": frozenset(),
}
HISTOGRAMS: dict[str, frozenset[str]] = {"reslot_solve_seconds": frozenset()}
SERIES: dict[str, frozenset[str]] = {
    **METRICS,
    **{f"{name}_bucket": labels | {"le"} for name, labels in HISTOGRAMS.items()},
    **{f"{name}_sum": labels for name, labels in HISTOGRAMS.items()},
    **{f"{name}_count": labels for name, labels in HISTOGRAMS.items()},
}
TARGET_LABELS = frozenset({"job", "instance"})  # added by Prometheus to every series
ALERT_ONLY_SERIES = {"up": frozenset[str]()}  # scrape health, for the target-down alert

# PromQL's aggregations, keywords and functions: the words of an expression that are not
# metric names.
_PROMQL_WORDS = """
    sum min max avg count stddev stdvar topk bottomk quantile count_values group
    by without on ignoring group_left group_right bool and or unless offset
    rate irate increase delta idelta deriv predict_linear resets changes
    histogram_quantile abs ceil floor round clamp clamp_min clamp_max exp ln log2 log10
    sqrt sgn absent absent_over_time present_over_time vector scalar time timestamp
    sort sort_desc label_replace label_join
    avg_over_time min_over_time max_over_time sum_over_time count_over_time
    last_over_time quantile_over_time stddev_over_time stdvar_over_time
    day_of_week day_of_month hour minute month year inf nan
"""
PROMQL_WORDS = frozenset(_PROMQL_WORDS.split())


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', '""', expr)  # strings
    text = re.sub(r"\{[^{}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\[\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables
    text = re.sub(r"\b\d+(\.\d+)?([eE][+-]?\d+)?([smhdwy]|ms)?\b", " ", text)  # numbers
    return {t for t in re.findall(r"[A-Za-z_:][\w:]*", text) if t not in PROMQL_WORDS}


def label_names(expr: str) -> set[str]:
    """Labels an expression groups by or matches on."""
    labels: set[str] = set()
    for group in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^()]*)\)", expr):
        labels |= {name.strip() for name in group.split(",") if name.strip()}
    for matchers in re.findall(r"\{([^{}]*)\}", expr):
        labels |= set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers))
    return labels


def check_expr(expr: str, series: dict[str, frozenset[str]]) -> None:
    names = metric_names(expr)
    assert names, f"names no metric: {expr}"
    unknown = names - set(series)
    assert not unknown, f"unknown metrics {unknown} in: {expr}"
    known_labels = TARGET_LABELS.union(*(series[name] for name in names))
    stray = label_names(expr) - known_labels
    assert not stray, f"labels {stray} belong to none of {names}: {expr}"
