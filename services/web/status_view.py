"""The status page's figures, rows and chart geometry: pure functions of what the read
model returned, so the template only places them (templates/status.html)."""

import datetime as dt
import itertools
from dataclasses import dataclass, field

from services.web.models import Outage, PlanSummary, Waiting
from services.web.readmodel import shared_zone, zone

REFRESH_S = 5
PLANS_SHOWN = 12
DELAY_EDGES = [float("-inf"), -24, 0, 4, 24, 72, 24 * 7, float("inf")]
DELAY_LABELS = ["≥ 1 d", "< 1 d", "0–4 h", "4–24 h", "1–3 d", "3–7 d", "> 7 d"]
EARLIER_BINS = 2  # the first two bins: moved earlier than the lost slot


@dataclass
class Figures:
    displaced: int = 0
    moved: int = 0
    unplaced: int = 0
    plans: int = 0

    @property
    def moved_share(self) -> str:
        return ratio(self.moved, self.moved + self.unplaced)


@dataclass(frozen=True)
class OutageRow:
    outage: Outage
    window: str


@dataclass(frozen=True)
class CentreBar:
    centre_id: str
    y: int
    moved: int
    unplaced: int
    moved_w: float
    unplaced_w: float


@dataclass(frozen=True)
class DelayColumn:
    x: int
    height: float
    count: int
    label: str
    earlier: bool


@dataclass
class StatusView:
    now: dt.datetime
    zone: str
    outages: list[OutageRow]
    centres: dict[str, Figures]
    totals: Figures
    plans: list[PlanSummary]
    bars: list[CentreBar] = field(default_factory=list)
    bars_height: int = 0
    delays: list[DelayColumn] = field(default_factory=list)
    delays_moved: int = 0
    delays_median: str = ""
    waiting: list[Waiting] = field(default_factory=list)
    refresh_s: int = REFRESH_S

    @property
    def active(self) -> int:
        return sum(row.outage.active for row in self.outages)

    @property
    def top_displaced(self) -> int:
        return max([f.displaced for f in self.centres.values()] + [1])


def ratio(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def gap(plan: PlanSummary) -> str:
    return f"{(plan.cost - plan.bound) / plan.cost:.1%}" if plan.cost else "0.0%"


def window(outage: Outage) -> str:
    """'Wed 03 Dec 2025 15:30 → 19:30' in the outage's zone; the end's day if it differs."""
    a, b = outage.start, outage.end
    until = f"{b:%H:%M}" if a.date() == b.date() else f"{b:%a %d %b %H:%M}"
    return f"{a:%a %d %b %Y %H:%M} → {until}"


def per_centre(outages: list[Outage]) -> dict[str, Figures]:
    """Displaced, moved, unplaced and plans per centre: sums over the outages' plans."""
    found: dict[str, Figures] = {}
    for p in (p for o in outages for p in o.plans):
        figures = found.setdefault(p.centre_id, Figures())
        figures.displaced += p.displaced
        figures.moved += p.moved
        figures.unplaced += p.unplaced
        figures.plans += 1
    return dict(sorted(found.items()))


def delay_counts(delays: list[float]) -> list[int]:
    return [sum(1 for d in delays if lo <= d < hi) for lo, hi in itertools.pairwise(DELAY_EDGES)]


def centre_bars(centres: dict[str, Figures]) -> tuple[list[CentreBar], int]:
    """Stacked bars, one row per centre (moved then unplaced), and the chart's height."""
    row, top_pad, bar_w = 34, 28, 330
    top = max([f.moved + f.unplaced for f in centres.values()] + [1])
    bars = [CentreBar(c, top_pad + i * row, f.moved, f.unplaced,
                      round(bar_w * f.moved / top, 1), round(bar_w * f.unplaced / top, 1))
            for i, (c, f) in enumerate(centres.items())]
    return bars, top_pad + row * len(centres) + 28


def delay_columns(delays: list[float]) -> list[DelayColumn]:
    top = max([*delay_counts(delays), 1])
    return [DelayColumn(16 + i * 80, round(130 * c / top, 1), c, label, i < EARLIER_BINS)
            for i, (c, label) in enumerate(zip(delay_counts(delays), DELAY_LABELS, strict=True))]


def median_text(delays: list[float]) -> str:
    if not delays:
        return ""
    median = sorted(delays)[len(delays) // 2]
    return f"{median:.0f} h later" if median >= 0 else f"{-median:.0f} h earlier"


def advised(waiting: Waiting) -> str:
    """The centre's latest advice in a few words: places, dates, the first date."""
    if not waiting.advice:
        return "–"
    latest = waiting.advice[0]
    if not latest.extra:
        return "none needed"
    dates = sorted({x.date for x in latest.extra})
    return (f"{latest.places} place{'s' if latest.places != 1 else ''} on {len(dates)} "
            f"date{'s' if len(dates) != 1 else ''} from {dates[0].isoformat()}")


def status_view(outages: list[Outage], delays: list[float], zones: dict[str, str],
                now: dt.datetime, waiting: list[Waiting] | None = None) -> StatusView:
    """Everything the page shows; `now` in the centres' zone when they share one."""
    page_zone = shared_zone(set(zones.values()))
    centres = per_centre(outages)
    totals = Figures(*(sum(getattr(f, k) for f in centres.values())
                       for k in ("displaced", "moved", "unplaced", "plans")))
    plans = [p for o in outages for p in o.plans][:PLANS_SHOWN]
    bars, height = centre_bars(centres)
    return StatusView(
        now=now.astimezone(zone(page_zone)), zone=page_zone,
        outages=[OutageRow(o, window(o)) for o in outages], centres=centres, totals=totals,
        plans=plans, bars=bars, bars_height=height,
        delays=delay_columns(delays) if delays else [], delays_moved=len(delays),
        delays_median=median_text(delays), waiting=waiting or [])
