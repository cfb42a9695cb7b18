"""The status page as rendered on the server (status_view.py + templates/status.html):
numbers, empty state, escaping, local times, charts, and nothing the CSP would refuse."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

from services.web.models import Outage, PlanSummary
from services.web.pages import render_status, templates
from services.web.readmodel import shared_zone
from services.web.status_view import delay_counts, per_centre, status_view, window

NOW = dt.datetime(2025, 12, 3, 15, 0, tzinfo=dt.UTC)
ALGIERS = "Africa/Algiers"
ZONES = {"alger": ALGIERS, "oran": ALGIERS}


def plan(centre: str, displaced: int, moved: int, outage: str = "o1") -> PlanSummary:
    return PlanSummary(plan_id=f"{outage}-{centre}", centre_id=centre, outage_id=outage,
                       displaced=displaced, moved=moved, unplaced=displaced - moved, cost=100,
                       bound=90, status="feasible", solve_ms=12, timezone=ALGIERS)


def outage(outage_id: str, plans: list[PlanSummary], active: bool = True,
           zone: str = ALGIERS) -> Outage:
    tz = ZoneInfo(zone)
    return Outage(outage_id=outage_id, timezone=zone, services=None, reason="portal down",
                  start=dt.datetime(2025, 12, 3, 13, 30, tzinfo=dt.UTC).astimezone(tz),
                  end=dt.datetime(2025, 12, 3, 17, 30, tzinfo=dt.UTC).astimezone(tz),
                  active=active, centres=sorted({p.centre_id for p in plans}), plans=plans,
                  displaced=sum(p.displaced for p in plans), moved=sum(p.moved for p in plans),
                  unplaced=sum(p.unplaced for p in plans))


def page(outages: list[Outage], delays: list[float], zones: dict[str, str] = ZONES) -> str:
    return render_status(templates(), status_view(outages, delays, zones, NOW))


def test_numbers_and_rows() -> None:
    outages = [outage("o1", [plan("alger", 10, 8), plan("oran", 5, 5)]),
               outage("o0", [plan("alger", 2, 2, "o0")], active=False)]
    html = page(outages, [1.0, 30.0, -3.0])
    assert 'id="active-outages">1<' in html
    assert 'id="total-displaced">17<' in html
    assert 'id="total-moved">15<' in html
    assert 'id="total-unplaced">2<' in html
    assert 'id="total-plans">3<' in html
    assert '<tr data-centre="alger">' in html
    assert '<tr data-centre="oran">' in html
    assert '<meta http-equiv="refresh" content="5">' in html
    assert '<svg id="chart-moved"' in html
    assert '<svg id="chart-delays"' in html
    assert "3 moved · median 1 h later" in html
    assert per_centre(outages)["alger"].displaced == 12


def test_times_are_the_centres_local_time() -> None:
    html = page([outage("o1", [plan("alger", 1, 1)])], [])
    # 13:30-17:30 UTC is 14:30-18:30 in Algiers (UTC+1), and so is the page's clock
    assert "Wed 03 Dec 2025 14:30 → 18:30 <span class=\"zone\">Africa/Algiers</span>" in html
    assert '<span id="updated">16:00:00</span> <span id="zone">Africa/Algiers</span>' in html
    assert "UTC" not in html


def test_centres_in_several_zones_are_shown_in_utc_and_say_so() -> None:
    zones = {"alger": ALGIERS, "paris": "Europe/Paris", "dakar": "Africa/Dakar"}
    assert shared_zone(set(zones.values())) == "UTC"
    html = page([outage("o1", [plan("alger", 1, 1)], zone="UTC")], [], zones)
    assert "Wed 03 Dec 2025 13:30 → 17:30 <span class=\"zone\">UTC</span>" in html
    assert '<span id="updated">15:00:00</span> <span id="zone">UTC</span>' in html


def test_an_outage_over_midnight_shows_the_end_day() -> None:
    o = outage("o1", [plan("alger", 1, 1)])
    late = o.model_copy(update={"end": o.start + dt.timedelta(hours=12)})
    assert window(late) == "Wed 03 Dec 2025 14:30 → Thu 04 Dec 02:30"


def test_empty_state() -> None:
    html = page([], [], {})
    assert "No outage recorded yet" in html
    assert "no active outage" in html
    assert 'id="total-displaced">0<' in html
    assert "Nothing displaced yet" in html


def test_everything_shown_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    o = outage(evil, [plan(evil, 1, 0, evil)]).model_copy(update={"reason": evil})
    html = page([o], [], {evil: ALGIERS})
    assert evil not in html
    assert "&lt;script&gt;" in html


def test_nothing_the_content_security_policy_refuses() -> None:
    html = page([outage("o1", [plan("alger", 10, 8)])], [2.0])
    assert "<script" not in html
    assert not re.search(r"\sstyle=", html), "inline style attributes need 'unsafe-inline'"
    assert "<style" not in html
    assert not re.search(r"\son\w+=", html), "event handlers are scripts"
    for link in re.findall(r"(?:href|src)=\"([^\"]+)\"", html):
        assert link.startswith("/"), link


def test_delay_bins() -> None:
    assert delay_counts([-48, -1, 0, 3.9, 4, 23, 24, 71, 72, 24 * 7, 24 * 40]) == \
        [1, 1, 2, 2, 2, 1, 2]


def test_the_waiting_list_and_the_latest_advice_per_centre() -> None:
    from services.web.models import Advice, ExtraPlaces, Waiting

    tz = ZoneInfo(ALGIERS)
    advice = Advice(outage_id="o1", advice_id="a2", time=NOW.astimezone(tz), waiting=3,
                    places=3, extra=[ExtraPlaces(date=dt.date(2025, 12, 8), service="s",
                                                 places=2),
                                     ExtraPlaces(date=dt.date(2025, 12, 9), service="s",
                                                 places=1)])
    waiting = [Waiting(centre_id="oran", waiting=3, placed_from_waiting=5, restored=2,
                       advice=[advice]),
               Waiting(centre_id="alger", waiting=0, placed_from_waiting=0, restored=0,
                       advice=[])]
    html = render_status(templates(), status_view([], [], ZONES, NOW, waiting))
    row = html.split('<table id="waiting">')[1].split("</table>")[0]
    assert '<tr data-centre="oran"><td><code>oran</code></td>\n<td class="num unplaced">3</td>' \
        in row
    assert '<td class="num moved">5</td><td class="num">2</td>' in row
    assert "<td>3 places on 2 dates from 2025-12-08</td>" in row
    assert '<td class="num unplaced zero">0</td>' in row  # alger: nobody waits
    assert "<td>–</td>" in row
    empty = render_status(templates(), status_view([], [], ZONES, NOW, []))
    assert "Nobody has waited yet." in empty
