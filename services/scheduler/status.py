"""The scheduler's status API and page: what a duty officer needs during an outage.

JSON routes (described by /openapi.json, OpenAPI 3.1):

    /api/outages              active and recent outages, each with its plans and totals
    /api/centres/{centre_id}  one centre: calendar load, displaced / moved / unplaced, plans
    /api/plans                plan summaries
    /api/plans/{plan_id}      one plan with its decisions and their reason codes

and `/`, a server-rendered page (inline CSS and SVG, nothing fetched from elsewhere, no
script) that reloads itself every few seconds. Nothing here shows personal data: bookings
appear by id only.
"""

import datetime as dt
import html
import itertools
import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from schemas.export import ASYNCAPI
from services.common.http import Probe, Response, StatusApp, broker_probe, json_response
from services.common.settings import Settings
from services.scheduler.store.sql import SchedulerStore, StatusQueries

REFRESH_S = 5
PLANS_SHOWN = 12

# -- OpenAPI -----------------------------------------------------------------------------------

REASONS = ["same_day", "next_days", "deadline_kept", "deadline_missed", "moved_again",
           "no_capacity_in_horizon", "group_cannot_stay_together"]


def _obj(properties: dict[str, Any], required: Sequence[str] | None = None,
         description: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties,
                              "required": list(properties if required is None else required)}
    if description:
        schema["description"] = description
    return schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _count(description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "description": description}


TIME = {"type": "string", "format": "date-time"}
SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": {"type": "string"}}),
    "Health": _obj({"status": {"const": "ok"}}),
    "Ready": _obj({
        "status": {"enum": ["ready", "not ready"]},
        "checked": {"type": "array", "items": {"type": "string"},
                    "description": "Dependencies checked (when ready)."},
        "failed": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Dependency -> error (when not ready)."},
    }, required=["status"]),
    "PlanSummary": _obj({
        "plan_id": {"type": "string", "description": "Deterministic id of the plan."},
        "centre_id": {"type": "string"},
        "outage_id": {"type": "string"},
        "displaced": _count("Bookings the outage displaced."),
        "moved": _count("Bookings moved to a new slot."),
        "unplaced": _count("Bookings left without a slot: the centre must call."),
        "cost": {"type": "integer", "description": "Objective value of the plan."},
        "bound": {"type": "integer", "description": "Best bound proven by the solver."},
        "status": {"type": "string", "description": "Solver status, e.g. OPTIMAL, FEASIBLE."},
        "solve_ms": _count("Time to solve, in milliseconds."),
        "trigger": {"enum": ["outage", "revision", "capacity", "lift", "reply"],
                    "description": "v1.1: what caused the plan."},
        "restored": _count("v1.1: of moved, given back their original slot."),
        "from_waiting": _count("v1.1: of moved, placed from the waiting list."),
    }),
    "Decision": _obj({
        "booking_id": {"type": "string"},
        "kind": {"enum": ["moved", "unplaced", "restored"]},
        "from_start": {**TIME, "description": "Start of the displaced appointment (UTC)."},
        "to_start": {"type": ["string", "null"], "format": "date-time",
                     "description": "Start of the new appointment (UTC); null if unplaced."},
        "reason": {"enum": REASONS, "description": "Reason code told to the applicant."},
    }),
    "Outage": _obj({
        "outage_id": {"type": "string"},
        "start": TIME, "end": TIME,
        "services": {"type": ["array", "null"], "items": {"type": "string"},
                     "description": "Services affected; null = all."},
        "reason": {"type": "string"},
        "active": {"type": "boolean", "description": "Not lifted at one centre at least."},
        "centres": {"type": "array", "items": {"type": "string"}},
        "displaced": _count("Sum over the outage's plans."),
        "moved": _count("Sum over the outage's plans."),
        "unplaced": _count("Sum over the outage's plans."),
        "plans": {"type": "array", "items": _ref("PlanSummary")},
    }),
    "CentreInfo": _obj({
        "centre_id": {"type": "string"}, "name": {"type": "string"},
        "city": {"type": "string"}, "country": {"type": "string"},
        "timezone": {"type": "string"}, "address": {"type": "string"},
        "languages": {"type": "array", "items": {"enum": ["fr", "ar", "en"]}},
    }),
    "Centre": _obj({
        "centre": _ref("CentreInfo"),
        "active_bookings": _count("Bookings currently held."),
        "capacity": _count("Places in the published calendar."),
        "displaced": _count("Sum over the centre's plans."),
        "moved": _count("Bookings whose current decision is a move."),
        "unplaced": _count("Bookings whose current decision is unplaced."),
        "plans": {"type": "array", "items": _ref("PlanSummary")},
    }),
    "Plan": {"allOf": [_ref("PlanSummary"), _obj({
        "decisions": {"type": "array", "items": _ref("Decision")}})]},
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_UNAUTHORISED = {"401": _json(_ref("Error"), "Missing or wrong bearer token")}
_OPEN: list[dict[str, Any]] = [{}]  # the probes need no token


def _path_param(name: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}]


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Reslot status API", "version": "1.0.0",
             "description": "Read-only view of outages, plans and decisions. When "
                            "RESLOT_API_TOKEN is set, every route but the probes needs "
                            "`Authorization: Bearer <token>`."},
    "security": [{"bearer": []}],
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                   "schemas": SCHEMAS},
    "paths": {
        "/healthz": {"get": {"summary": "Process up", "operationId": "healthz",
                             "security": _OPEN,
                             "responses": {"200": _json(_ref("Health"), "ok")}}},
        "/readyz": {"get": {"summary": "Broker and database reachable", "operationId": "readyz",
                            "security": _OPEN,
                            "responses": {"200": _json(_ref("Ready"), "ready"),
                                          "503": _json(_ref("Ready"), "not ready")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics",
                             "responses": {"200": {"description": "text exposition format",
                                                   "content": {"text/plain": {"schema": {
                                                       "type": "string"}}}},
                                           **_UNAUTHORISED}}},
        "/api/outages": {"get": {
            "summary": "Active and recent outages with their plans", "operationId": "outages",
            "responses": {"200": _json({"type": "array", "items": _ref("Outage")},
                                       "Active outages first, then by start"),
                          **_UNAUTHORISED}}},
        "/api/centres/{centre_id}": {"get": {
            "summary": "Calendar load, displaced / moved / unplaced and plans of one centre",
            "operationId": "centre", "parameters": _path_param("centre_id"),
            "responses": {"200": _json(_ref("Centre"), "centre"),
                          "404": _json(_ref("Error"), "unknown centre"), **_UNAUTHORISED}}},
        "/api/plans": {"get": {
            "summary": "Plan summaries", "operationId": "plans",
            "responses": {"200": _json({"type": "array", "items": _ref("PlanSummary")},
                                       "every plan"), **_UNAUTHORISED}}},
        "/api/plans/{plan_id}": {"get": {
            "summary": "One plan with its decisions and reason codes", "operationId": "plan",
            "parameters": _path_param("plan_id"),
            "responses": {"200": _json(_ref("Plan"), "plan"),
                          "404": _json(_ref("Error"), "unknown plan"), **_UNAUTHORISED}}},
        "/openapi.json": {"get": {
            "summary": "This document", "operationId": "openapi",
            "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1"), **_UNAUTHORISED}}},
        "/asyncapi.json": {"get": {
            "summary": "AsyncAPI document of both services' topics", "operationId": "asyncapi",
            "responses": {"200": _json({"type": "object"}, "AsyncAPI 3.0"), **_UNAUTHORISED}}},
        "/": {"get": {
            "summary": "Status page for the duty officer (HTML, reloads itself)",
            "operationId": "page",
            "responses": {"200": {"description": "HTML page",
                                  "content": {"text/html": {"schema": {"type": "string"}}}},
                          **_UNAUTHORISED}}},
    },
}

# -- routes ------------------------------------------------------------------------------------


def status_app(settings: Settings, store: SchedulerStore, registry: CollectorRegistry,
               ) -> StatusApp:
    """The scheduler's HTTP app: probes of its database and broker, the token, the routes."""
    probes: dict[str, Probe] = {"database": store.ping}
    if settings.kafka.bootstrap_servers:
        probes["broker"] = broker_probe(settings.kafka.bootstrap_servers)
    token = settings.api_token.get_secret_value() if settings.api_token else None
    app = StatusApp(registry, probes=probes, token=token)
    add_status_routes(app, StatusQueries(store.engine))
    return app


def _with_totals(outages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for o in outages:
        for k in ("displaced", "moved", "unplaced"):
            o[k] = sum(p[k] for p in o["plans"])
    return outages


def add_status_routes(app: StatusApp, queries: StatusQueries) -> None:
    async def outages(_: dict[str, str]) -> Response:
        return json_response(_with_totals(await queries.outages()))

    async def centre(p: dict[str, str]) -> Response:
        found = await queries.centre(p["centre_id"])
        return json_response(found) if found else json_response({"error": "unknown centre"}, 404)

    async def plans(_: dict[str, str]) -> Response:
        return json_response(await queries.plans())

    async def plan(p: dict[str, str]) -> Response:
        found = await queries.plan(p["plan_id"])
        return json_response(found) if found else json_response({"error": "unknown plan"}, 404)

    document = Path(ASYNCAPI).read_bytes()  # read once, at start-up
    openapi_document = json.dumps(OPENAPI).encode()

    async def asyncapi(_: dict[str, str]) -> Response:
        return 200, "application/json", document

    async def openapi(_: dict[str, str]) -> Response:
        return 200, "application/json", openapi_document

    app.route("/api/outages", outages)
    app.route("/api/centres/(?P<centre_id>[^/]+)", centre)
    app.route("/api/plans", plans)
    app.route("/api/plans/(?P<plan_id>[^/]+)", plan)
    app.route("/asyncapi.json", asyncapi)
    app.route("/openapi.json", openapi)
    app.route("/", _page(queries))


def per_centre(outages: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Displaced, moved, unplaced and plans per centre: sums over /api/outages' plans."""
    found: dict[str, dict[str, int]] = {}
    for o in outages:
        for p in o["plans"]:
            c = found.setdefault(p["centre_id"], {"displaced": 0, "moved": 0, "unplaced": 0,
                                                  "plans": 0})
            for k in ("displaced", "moved", "unplaced"):
                c[k] += p[k]
            c["plans"] += 1
    return found


def _page(queries: StatusQueries) -> Callable[[dict[str, str]], Awaitable[Response]]:
    async def page(_: dict[str, str]) -> Response:
        outages = _with_totals(await queries.outages())
        delays = await queries.delays_hours()
        now = dt.datetime.now(dt.UTC)
        body = render_page(outages, per_centre(outages), delays, now)
        return 200, "text/html; charset=utf-8", body.encode()
    return page


# -- the page ----------------------------------------------------------------------------------

MOVED, UNPLACED, DISPLACED, DELAY = "#2f855a", "#c53030", "#2b6cb0", "#4a5568"

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;
 color:#1a202c;background:#f4f6f8}
header{background:#1f2a44;color:#fff;padding:14px 32px;display:flex;align-items:center;
 justify-content:space-between}
header h1{margin:0;font-size:19px;font-weight:600;letter-spacing:.2px}
header h1 small{font-weight:400;color:#b8c2d6;margin-left:10px;font-size:14px}
header .meta{color:#b8c2d6;font-size:13px;text-align:right}
.pill{display:inline-block;padding:2px 10px;border-radius:999px;font-size:12px;font-weight:600}
.pill.alert{background:#fed7d7;color:#9b2c2c}.pill.ok{background:#c6f6d5;color:#22543d}
.pill.muted{background:#e2e8f0;color:#4a5568}
main{padding:20px 32px 8px;max-width:1280px}
.cards{display:grid;grid-template-columns:repeat(5,1fr);gap:14px;margin-bottom:16px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:14px 16px;
 border-top:4px solid #a0aec0}
.card .label{color:#4a5568;font-size:12px;text-transform:uppercase;letter-spacing:.6px}
.card .value{font-size:30px;font-weight:650;margin-top:2px;font-variant-numeric:tabular-nums}
.card .hint{color:#718096;font-size:12px}
.card.displaced{border-top-color:#2b6cb0}.card.moved{border-top-color:#2f855a}
.card.unplaced{border-top-color:#c53030}.card.unplaced.nonzero .value{color:#c53030}
.card.active{border-top-color:#d69e2e}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:14px;margin-bottom:16px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 18px;
 margin-bottom:16px}
.grid2 section{margin-bottom:0}
h2{font-size:15px;margin:0 0 10px;font-weight:600}
h2 .sub{font-weight:400;color:#718096;font-size:13px;margin-left:6px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th{text-align:left;font-size:12px;color:#4a5568;font-weight:600;text-transform:uppercase;
 letter-spacing:.4px;border-bottom:2px solid #e2e8f0;padding:6px 10px}
td{border-bottom:1px solid #edf2f7;padding:6px 10px;vertical-align:middle}
td.num,th.num{text-align:right}
td.moved{color:#2f855a;font-weight:600}td.unplaced{color:#c53030;font-weight:600}
td.unplaced.zero{color:#a0aec0;font-weight:400}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#2d3748}
.bar{display:inline-block;height:8px;border-radius:2px;vertical-align:middle}
.empty{color:#718096;padding:14px 0}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:#2d3748}
svg .axis{stroke:#cbd5e0}
footer{color:#718096;font-size:12px;padding:0 32px 24px}
footer a{color:#2b6cb0;text-decoration:none;margin-right:14px}
"""


def _window(start: str, end: str) -> str:
    """'Wed 03 Dec 2025 14:30 → 18:30' (UTC), the end's day shown only if it differs."""
    try:
        a = dt.datetime.fromisoformat(start).astimezone(dt.UTC)
        b = dt.datetime.fromisoformat(end).astimezone(dt.UTC)
    except ValueError:
        return f"{html.escape(start)} → {html.escape(end)}"
    until = b.strftime("%H:%M") if a.date() == b.date() else b.strftime("%a %d %b %H:%M")
    return f"{a:%a %d %b %Y %H:%M} → {until}"


def _ratio(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def render_page(outages: list[dict[str, Any]], centres: dict[str, dict[str, int]],
                delays: list[float], now: dt.datetime | None = None) -> str:
    e = html.escape
    now = now or dt.datetime.now(dt.UTC)
    active = [o for o in outages if o["active"]]
    totals = {k: sum(v[k] for v in centres.values()) for k in ("displaced", "moved", "unplaced")}
    if active:
        state = f"<span class='pill alert'>{len(active)} active outage" \
                f"{'s' if len(active) != 1 else ''}</span>"
    else:
        state = "<span class='pill ok'>no active outage</span>"

    outage_rows = "".join(
        f"<tr data-outage='{e(o['outage_id'])}'><td><code>{e(o['outage_id'])}</code></td>"
        f"<td>{e(o['reason'] or '')}</td>"
        f"<td>{_window(o['start'], o['end'])}</td>"
        f"<td>{_badge(o['active'])}</td>"
        f"<td class='num'>{len(o['centres'])}</td><td class='num'>{o['displaced']}</td>"
        f"<td class='num moved'>{o['moved']}</td>"
        f"<td class='num unplaced{' zero' if not o['unplaced'] else ''}'>{o['unplaced']}</td>"
        f"</tr>" for o in outages)
    outage_table = (
        "<table id='outages'><thead><tr><th>outage</th><th>reason</th><th>window (UTC)</th>"
        "<th>state</th><th class='num'>centres</th><th class='num'>displaced</th>"
        "<th class='num'>moved</th><th class='num'>unplaced</th></tr></thead>"
        f"<tbody>{outage_rows}</tbody></table>" if outages else
        "<table id='outages'><tbody></tbody></table><p class='empty'>No outage recorded yet: "
        "Reslot is waiting for outage events.</p>")

    top = max([v["displaced"] for v in centres.values()] + [1])
    centre_rows = "".join(
        f"<tr data-centre='{e(c)}'><td><code>{e(c)}</code></td>"
        f"<td class='num displaced'>{v['displaced']}</td>"
        f"<td class='num moved'>{v['moved']}</td>"
        f"<td class='num unplaced{' zero' if not v['unplaced'] else ''}'>{v['unplaced']}</td>"
        f"<td class='num'>{_ratio(v['moved'], v['moved'] + v['unplaced'])}</td>"
        f"<td class='num'>{v['plans']}</td>"
        f"<td><span class='bar' style='width:{120 * v['moved'] / top:.0f}px;"
        f"background:{MOVED}'></span><span class='bar' style='width:"
        f"{120 * v['unplaced'] / top:.0f}px;background:{UNPLACED}'></span></td></tr>"
        for c, v in sorted(centres.items()))
    centre_table = (
        "<table id='centres'><thead><tr><th>centre</th><th class='num'>displaced</th>"
        "<th class='num'>moved</th><th class='num'>unplaced</th><th class='num'>moved share</th>"
        "<th class='num'>plans</th><th></th></tr></thead>"
        f"<tbody>{centre_rows}</tbody></table>" if centres else
        "<table id='centres'><tbody></tbody></table><p class='empty'>No plan yet.</p>")

    plans = [p for o in outages
             for p in sorted(o["plans"], key=lambda p: str(p["centre_id"]))][:PLANS_SHOWN]
    plan_rows = "".join(
        f"<tr><td><a href='/api/plans/{e(p['plan_id'])}'><code>{e(p['plan_id'][:8])}</code>"
        f"</a></td><td><code>{e(p['outage_id'])}</code></td><td><code>{e(p['centre_id'])}"
        f"</code></td><td>{e(p['status'])}</td><td class='num'>{p['displaced']}</td>"
        f"<td class='num moved'>{p['moved']}</td>"
        f"<td class='num unplaced{' zero' if not p['unplaced'] else ''}'>{p['unplaced']}</td>"
        f"<td class='num'>{_gap(p)}</td><td class='num'>{p['solve_ms']} ms</td></tr>"
        for p in plans)
    plan_table = (
        "<table id='plans'><thead><tr><th>plan</th><th>outage</th><th>centre</th><th>solver</th>"
        "<th class='num'>displaced</th><th class='num'>moved</th><th class='num'>unplaced</th>"
        "<th class='num'>gap to bound</th><th class='num'>solve time</th></tr></thead>"
        f"<tbody>{plan_rows}</tbody></table>" if plans else "<p class='empty'>No plan yet.</p>")

    unplaced_class = " nonzero" if totals["unplaced"] else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_S}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reslot status · {totals['displaced']} displaced, {totals['unplaced']} unplaced</title>
<style>{STYLE}</style></head>
<body>
<header><h1>Reslot<small>appointments rescheduled after outages</small></h1>
<div class="meta">{state}<br>updated {now:%H:%M:%S} UTC · refreshes every {REFRESH_S} s</div>
</header>
<main>
<div class="cards">
<div class="card active"><div class="label">Active outages</div>
<div class="value" id="active-outages">{len(active)}</div>
<div class="hint">{len(outages)} recorded</div></div>
<div class="card displaced"><div class="label">Displaced</div>
<div class="value" id="total-displaced">{totals['displaced']}</div>
<div class="hint">appointments hit by an outage</div></div>
<div class="card moved"><div class="label">Moved</div>
<div class="value" id="total-moved">{totals['moved']}</div>
<div class="hint">{_ratio(totals['moved'], totals['displaced'])} of displaced,
to a new slot</div></div>
<div class="card unplaced{unplaced_class}"><div class="label">Unplaced</div>
<div class="value" id="total-unplaced">{totals['unplaced']}</div>
<div class="hint">no slot in the horizon: the centre must call</div></div>
<div class="card"><div class="label">Plans</div>
<div class="value" id="total-plans">{sum(v['plans'] for v in centres.values())}</div>
<div class="hint">one per outage and centre</div></div>
</div>
<div class="grid2">
<section><h2>Moved vs unplaced<span class="sub">by centre</span></h2>{_bars(centres)}</section>
<section><h2>Delay of moved appointments<span class="sub">new start − old start</span></h2>
{_histogram(delays)}</section>
</div>
<section><h2>Outages<span class="sub">active first</span></h2>{outage_table}</section>
<section><h2>Per centre</h2>{centre_table}</section>
<section><h2>Latest plans<span class="sub">decisions and reason codes: click a plan</span></h2>
{plan_table}</section>
</main>
<footer><a href="/api/outages">/api/outages</a><a href="/api/plans">/api/plans</a>
<a href="/metrics">/metrics</a><a href="/openapi.json">/openapi.json</a>
<a href="/asyncapi.json">/asyncapi.json</a></footer>
<script type="application/json" id="data">{e(json.dumps(totals))}</script>
</body></html>"""


def _badge(active: bool) -> str:
    return "<span class='pill alert'>active</span>" if active else \
        "<span class='pill muted'>lifted</span>"


def _gap(p: dict[str, Any]) -> str:
    return f"{(p['cost'] - p['bound']) / p['cost']:.1%}" if p["cost"] else "0.0%"


def _bars(centres: dict[str, dict[str, int]]) -> str:
    """Horizontal stacked bars, one per centre: moved (green) then unplaced (red)."""
    if not centres:
        return "<p class='empty'>Nothing displaced yet.</p>"
    width, label_w, bar_w, row, top_pad = 580, 150, 330, 34, 28
    top = max([v["moved"] + v["unplaced"] for v in centres.values()] + [1])
    parts = [
        f"<rect x='{label_w}' y='2' width='12' height='12' fill='{MOVED}'/>"
        f"<text x='{label_w + 17}' y='12'>moved</text>"
        f"<rect x='{label_w + 80}' y='2' width='12' height='12' fill='{UNPLACED}'/>"
        f"<text x='{label_w + 97}' y='12'>unplaced</text>"]
    for i, (centre, v) in enumerate(sorted(centres.items())):
        y = top_pad + i * row
        moved_w = bar_w * v["moved"] / top
        unplaced_w = bar_w * v["unplaced"] / top
        parts.append(
            f"<g data-centre='{html.escape(centre)}'>"
            f"<text x='0' y='{y + 15}'>{html.escape(centre)}</text>"
            f"<rect x='{label_w}' y='{y + 3}' width='{moved_w:.1f}' height='17' rx='2' "
            f"fill='{MOVED}'><title>{v['moved']} moved</title></rect>"
            f"<rect x='{label_w + moved_w:.1f}' y='{y + 3}' width='{unplaced_w:.1f}' "
            f"height='17' rx='2' fill='{UNPLACED}'><title>{v['unplaced']} unplaced</title></rect>"
            f"<text x='{label_w + moved_w + unplaced_w + 6:.1f}' y='{y + 16}'>"
            f"{v['moved']} / {v['unplaced']}</text></g>")
    moved, unplaced = (sum(v[k] for v in centres.values()) for k in ("moved", "unplaced"))
    y = top_pad + row * len(centres) + 22
    parts.append(f"<text x='0' y='{y}' fill='#4a5568'>{moved} moved · {unplaced} unplaced · "
                 f"{len(centres)} centre{'s' if len(centres) != 1 else ''}</text>")
    height = y + 6
    return (f"<svg id='chart-moved' width='100%' viewBox='0 0 {width} {height}' role='img' "
            f"aria-label='moved (green) vs unplaced (red) by centre'>"
            f"{''.join(parts)}</svg>")


DELAY_EDGES = [float("-inf"), -24, 0, 4, 24, 72, 24 * 7, float("inf")]
DELAY_LABELS = ["≥ 1 d", "< 1 d", "0–4 h", "4–24 h", "1–3 d", "3–7 d", "> 7 d"]
EARLIER_BINS = 2  # the first two bins: moved earlier than the lost slot


def delay_counts(delays: list[float]) -> list[int]:
    return [sum(1 for d in delays if lo <= d < hi) for lo, hi in itertools.pairwise(DELAY_EDGES)]


def _histogram(delays: list[float]) -> str:
    """Column chart of how far moved appointments went: earlier (left) or later (right)."""
    if not delays:
        return "<p class='empty'>No appointment moved yet.</p>"
    counts = delay_counts(delays)
    width, height, base, col, bar = 580, 212, 170, 80, 54
    top = max([*counts, 1])
    split = 12 + EARLIER_BINS * col
    parts = [f"<line class='axis' x1='10' y1='{base}' x2='{width - 10}' y2='{base}'/>",
             f"<line class='axis' x1='{split}' y1='4' x2='{split}' y2='{base + 22}' "
             f"stroke-dasharray='3 3'/>",
             f"<text x='{split - 8}' y='14' text-anchor='end' fill='#718096'>← earlier</text>",
             f"<text x='{split + 8}' y='14' fill='#718096'>later →</text>"]
    for i, (c, label) in enumerate(zip(counts, DELAY_LABELS, strict=True)):
        x = 16 + i * col
        h = 130 * c / top
        colour = "#718096" if i < EARLIER_BINS else DELAY
        parts.append(
            f"<rect x='{x}' y='{base - h:.1f}' width='{bar}' height='{h:.1f}' rx='2' "
            f"fill='{colour}'><title>{c} moved: {label}</title></rect>"
            f"<text x='{x + bar / 2}' y='{base - h - 5:.1f}' text-anchor='middle'>{c}</text>"
            f"<text x='{x + bar / 2}' y='{base + 16}' text-anchor='middle'>{label}</text>")
    median = sorted(delays)[len(delays) // 2]
    side = f"{median:.0f} h later" if median >= 0 else f"{-median:.0f} h earlier"
    parts.append(f"<text x='10' y='{height - 4}' fill='#4a5568'>{len(delays)} moved · "
                 f"median {side}</text>")
    return (f"<svg id='chart-delays' width='100%' viewBox='0 0 {width} {height}' role='img' "
            f"aria-label='delay distribution of moved appointments'>{''.join(parts)}</svg>")
