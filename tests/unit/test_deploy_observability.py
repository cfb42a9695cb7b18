"""The Grafana dashboard and the Prometheus config and alert rules under deploy/.

Every PromQL expression may name only the metrics the services export (below, with their
labels). The rules are checked in Python always, and by `promtool` too when it is on PATH
(Debian: `apt-get install prometheus`).
"""

import json
import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.unit.promql import (
    ALERT_ONLY_SERIES,
    ALERT_TESTS,
    ALERTS,
    DASHBOARD,
    HISTOGRAMS,
    METRICS,
    PROMETHEUS,
    SERIES,
    check_expr,
    label_names,
    metric_names,
)


def test_metric_name_extraction() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le) (rate(reslot_solve_seconds_bucket{job=~"a.*"}'
        "[$__rate_interval]))) / on (job) group_left sum(up offset 5m) > 1e3"
    )
    assert metric_names(expr) == {"reslot_solve_seconds_bucket", "up"}
    assert label_names(expr) == {"le", "job"}
    with pytest.raises(AssertionError, match="unknown metrics"):
        check_expr("rate(reslot_typo_total[5m])", SERIES)
    with pytest.raises(AssertionError, match="labels"):
        check_expr("sum by (center) (reslot_displaced_total)", SERIES)


# ---- Grafana -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded = json.loads(DASHBOARD.read_text())
    assert isinstance(loaded, dict)
    return loaded


def all_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    found = []
    for panel in panels:
        found.append(panel)
        found.extend(all_panels(panel.get("panels", [])))
    return found


def data_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in all_panels(dashboard["panels"]) if p["type"] != "row"]


def test_dashboard_has_the_stable_uid(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "reslot-overview"
    assert dashboard["title"]


def test_dashboard_has_a_prometheus_datasource_variable(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    datasource = variables["datasource"]
    assert datasource["type"] == "datasource"
    assert datasource["query"] == "prometheus"


def test_every_panel_and_query_uses_the_datasource_variable(dashboard: dict[str, Any]) -> None:
    for panel in data_panels(dashboard):
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target.get("datasource", panel["datasource"])["uid"] == "${datasource}"
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == "${datasource}", variable["name"]


def test_every_panel_expr_names_only_exported_metrics(dashboard: dict[str, Any]) -> None:
    for panel in data_panels(dashboard):
        for target in panel["targets"]:
            check_expr(target["expr"], SERIES)


def test_query_variables_name_only_exported_metrics(dashboard: dict[str, Any]) -> None:
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = variable["query"]
        query = query["query"] if isinstance(query, dict) else query
        match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query)
        assert match, query
        assert match[2] in SERIES[match[1]], query


def test_dashboard_shows_every_metric(dashboard: dict[str, Any]) -> None:
    used = set().union(
        *(metric_names(t["expr"]) for p in data_panels(dashboard) for t in p["targets"])
    )
    shown = {name for name in METRICS if name in used}
    shown |= {name for name in HISTOGRAMS if any(u.startswith(name) for u in used)}
    assert shown == set(METRICS) | set(HISTOGRAMS), (set(METRICS) | set(HISTOGRAMS)) - shown


def test_panels_have_unique_ids_and_do_not_overlap(dashboard: dict[str, Any]) -> None:
    panels = all_panels(dashboard["panels"])
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


# ---- Prometheus ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(ALERTS.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def test_alert_file_structure() -> None:
    loaded = yaml.safe_load(ALERTS.read_text())
    assert set(loaded) == {"groups"}
    names = [group["name"] for group in loaded["groups"]]
    assert len(names) == len(set(names)), "group names must be unique"
    for group in loaded["groups"]:
        assert group["rules"], group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert re.fullmatch(r"Reslot[A-Z]\w+", rule["alert"]), rule["alert"]
            assert isinstance(rule["expr"], str), rule["alert"]
            assert re.fullmatch(r"\d+[smh]", rule.get("for", "0m")), rule["alert"]


def test_alert_rules(rules: list[dict[str, Any]]) -> None:
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), "alert names must be unique"
    for rule in rules:
        expr = rule["expr"]
        assert expr.count("(") == expr.count(")"), rule["alert"]
        check_expr(expr, {**SERIES, **ALERT_ONLY_SERIES})
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]


def test_annotations_use_only_labels_the_alert_keeps(rules: list[dict[str, Any]]) -> None:
    for rule in rules:
        expr = rule["expr"]
        kept = set().union(*(g.split(",") for g in re.findall(r"\bby\s*\(([^()]*)\)", expr)))
        kept = {label.strip() for label in kept}
        if not kept:  # no aggregation: the series' own labels stay
            continue
        text = " ".join(rule["annotations"].values())
        used = set(re.findall(r"\$labels\.(\w+)", text))
        assert used <= kept, f"{rule['alert']}: {used - kept} dropped by the aggregation"


@pytest.mark.parametrize(
    ("metric", "minimum"),
    [
        ("reslot_consumer_lag", 2),  # high, and growing
        ("reslot_deadletters_total", 1),
        ("reslot_unplaced_total", 1),
        ("reslot_notifications_total", 1),
        ("reslot_outbox_backlog", 1),
    ],
)
def test_required_alerts_exist(rules: list[dict[str, Any]], metric: str, minimum: int) -> None:
    using = [rule["alert"] for rule in rules if metric in metric_names(rule["expr"])]
    assert len(using) >= minimum, f"{metric}: {using}"


def test_notification_failure_alerts_select_failures(rules: list[dict[str, Any]]) -> None:
    failures = [r for r in rules if 'outcome="failed"' in r["expr"]]
    assert failures


def test_alert_unit_tests_cover_every_alert(rules: list[dict[str, Any]]) -> None:
    tests = yaml.safe_load(ALERT_TESTS.read_text())
    assert tests["rule_files"] == [ALERTS.name]
    tested = {
        case["alertname"]
        for test in tests["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert tested == {rule["alert"] for rule in rules}


def test_prometheus_config(rules: list[dict[str, Any]]) -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS.parent / rule_file).is_file(), rule_file
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"reslot-scheduler", "reslot-notifier", "reslot-web"} <= set(jobs)
    for name in ("reslot-scheduler", "reslot-notifier", "reslot-web"):
        assert jobs[name].get("metrics_path", "/metrics") == "/metrics"
    (down,) = [r for r in rules if "up" in metric_names(r["expr"])]
    pattern = re.search(r'job=~"([^"]+)"', down["expr"])
    assert pattern, down["expr"]
    assert all(re.fullmatch(pattern[1], job) for job in jobs if job.startswith("reslot-"))


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip(
            "promtool not on PATH (apt-get install prometheus): the rules were checked "
            "in Python only"
        )
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["check", "rules", str(ALERTS)],
        ["test", "rules", str(ALERT_TESTS)],
        ["check", "config", str(PROMETHEUS)],
    ],
    ids=["check-rules", "test-rules", "check-config"],
)
def test_promtool(args: list[str]) -> None:
    result = subprocess.run(
        [promtool(), *args], capture_output=True, text=True, check=False, cwd=ALERTS.parent
    )
    assert result.returncode == 0, result.stdout + result.stderr
