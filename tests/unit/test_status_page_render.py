"""The status page as rendered on the server: numbers, empty state, escaping, charts."""

import datetime as dt

from services.scheduler.status import delay_counts, per_centre, render_page

NOW = dt.datetime(2025, 12, 3, 15, 0, tzinfo=dt.UTC)


def plan(centre: str, displaced: int, moved: int, outage: str = "o1") -> dict[str, object]:
    return {"plan_id": f"{outage}-{centre}", "centre_id": centre, "outage_id": outage,
            "displaced": displaced, "moved": moved, "unplaced": displaced - moved,
            "cost": 100, "bound": 90, "status": "feasible", "solve_ms": 12}


def outage(outage_id: str, plans: list[dict[str, object]], active: bool = True,
           ) -> dict[str, object]:
    return {"outage_id": outage_id, "start": "2025-12-03T13:30:00+00:00",
            "end": "2025-12-03T17:30:00+00:00", "services": None, "reason": "portal down",
            "active": active, "centres": sorted({str(p["centre_id"]) for p in plans}),
            "plans": plans, "displaced": sum(int(str(p["displaced"])) for p in plans),
            "moved": sum(int(str(p["moved"])) for p in plans),
            "unplaced": sum(int(str(p["unplaced"])) for p in plans)}


def test_numbers_and_rows() -> None:
    outages = [outage("o1", [plan("alger", 10, 8), plan("oran", 5, 5)]),
               outage("o0", [plan("alger", 2, 2, "o0")], active=False)]
    page = render_page(outages, per_centre(outages), [1.0, 30.0, -3.0], NOW)
    assert "id=\"active-outages\">1<" in page
    assert "id=\"total-displaced\">17<" in page
    assert "id=\"total-moved\">15<" in page
    assert "id=\"total-unplaced\">2<" in page
    assert "<tr data-centre='alger'>" in page
    assert "<tr data-centre='oran'>" in page
    assert "Wed 03 Dec 2025 13:30 → 17:30" in page
    assert "updated 15:00:00 UTC" in page
    assert '<meta http-equiv="refresh" content="5">' in page
    assert "<svg id='chart-moved'" in page
    assert "<svg id='chart-delays'" in page
    assert "3 moved · median 1 h later" in page
    for external in ("http://", "https://", "<script src", "<link"):
        assert external not in page


def test_empty_state() -> None:
    page = render_page([], {}, [], NOW)
    assert "No outage recorded yet" in page
    assert "no active outage" in page
    assert "id=\"total-displaced\">0<" in page


def test_everything_shown_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    outages = [outage(evil, [plan(evil, 1, 0, evil)])]
    outages[0]["reason"] = evil
    page = render_page(outages, per_centre(outages), [], NOW)
    assert evil not in page
    assert "&lt;script&gt;" in page


def test_delay_bins() -> None:
    assert delay_counts([-48, -1, 0, 3.9, 4, 23, 24, 71, 72, 24 * 7, 24 * 40]) == \
        [1, 1, 2, 2, 2, 1, 2]
