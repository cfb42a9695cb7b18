"""The scheduler's status API and page: what a duty officer needs during an outage."""

import html
import itertools
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from schemas.export import ASYNCAPI
from services.common.http import Response, StatusApp, json_response
from services.scheduler.store.sql import StatusQueries

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Reslot status API", "version": "1.0.0",
             "description": "Read-only. Optional bearer token (RESLOT_API_TOKEN)."},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/healthz": {"get": {"summary": "Process up", "responses": {"200": {"description": "ok"}}}},
        "/readyz": {"get": {"summary": "Broker and database reachable",
                            "responses": {"200": {"description": "ready"},
                                          "503": {"description": "not ready"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics",
                             "responses": {"200": {"description": "text exposition"}}}},
        "/api/outages": {"get": {"summary": "Active and recent outages with their plans",
                                 "responses": {"200": {"description": "list of outages"}}}},
        "/api/centres/{centre_id}": {"get": {
            "summary": "Calendar load, displaced / moved / unplaced, plans of one centre",
            "parameters": [{"name": "centre_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "centre"}, "404": {"description": "unknown"}}}},
        "/api/plans": {"get": {"summary": "Plan summaries",
                               "responses": {"200": {"description": "list of plans"}}}},
        "/api/plans/{plan_id}": {"get": {
            "summary": "One plan with its decisions and reason codes",
            "parameters": [{"name": "plan_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "plan"}, "404": {"description": "unknown"}}}},
        "/asyncapi.json": {"get": {"summary": "AsyncAPI document of both services",
                                   "responses": {"200": {"description": "AsyncAPI 3.0"}}}},
    },
}


def add_status_routes(app: StatusApp, queries: StatusQueries) -> None:
    async def outages(_: dict[str, str]) -> Response:
        return json_response(await queries.outages())

    async def centre(p: dict[str, str]) -> Response:
        found = await queries.centre(p["centre_id"])
        return json_response(found) if found else json_response({"error": "unknown centre"}, 404)

    async def plans(_: dict[str, str]) -> Response:
        return json_response(await queries.plans())

    async def plan(p: dict[str, str]) -> Response:
        found = await queries.plan(p["plan_id"])
        return json_response(found) if found else json_response({"error": "unknown plan"}, 404)

    document = Path(ASYNCAPI).read_bytes()  # read once, at start-up

    async def asyncapi(_: dict[str, str]) -> Response:
        return 200, "application/json", document

    async def openapi(_: dict[str, str]) -> Response:
        return json_response(OPENAPI)

    app.route("/api/outages", outages)
    app.route("/api/centres/(?P<centre_id>[^/]+)", centre)
    app.route("/api/plans", plans)
    app.route("/api/plans/(?P<plan_id>[^/]+)", plan)
    app.route("/asyncapi.json", asyncapi)
    app.route("/openapi.json", openapi)
    app.route("/", _page(queries))


def _page(queries: StatusQueries) -> Callable[[dict[str, str]], Awaitable[Response]]:
    async def page(_: dict[str, str]) -> Response:
        outages = await queries.outages()
        per_centre: dict[str, dict[str, int]] = {}
        for o in outages:
            for p in o["plans"]:
                c = per_centre.setdefault(p["centre_id"], {"displaced": 0, "moved": 0,
                                                           "unplaced": 0, "plans": 0})
                for k in ("displaced", "moved", "unplaced"):
                    c[k] += p[k]
                c["plans"] += 1
        delays = await queries.delays_hours()
        return 200, "text/html; charset=utf-8", render_page(outages, per_centre, delays).encode()
    return page


def render_page(outages: list[dict[str, Any]], per_centre: dict[str, dict[str, int]],
                delays: list[float]) -> str:
    e = html.escape
    active = [o for o in outages if o["active"]]
    outage_rows = "".join(
        f"<tr><td>{e(o['outage_id'])}</td><td>{e(o['start'])}</td><td>{e(o['end'])}</td>"
        f"<td>{'active' if o['active'] else 'lifted'}</td><td>{len(o['centres'])}</td>"
        f"<td>{len(o['plans'])}</td></tr>" for o in outages)
    centre_rows = "".join(
        f"<tr data-centre='{e(c)}'><td>{e(c)}</td><td class='displaced'>{v['displaced']}</td>"
        f"<td class='moved'>{v['moved']}</td><td class='unplaced'>{v['unplaced']}</td>"
        f"<td>{v['plans']}</td></tr>" for c, v in sorted(per_centre.items()))
    totals = {k: sum(v[k] for v in per_centre.values()) for k in ("displaced", "moved", "unplaced")}
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="5"><title>Reslot status</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 10px}}
th{{background:#f3f3f3}} .big{{font-size:1.4em}} svg text{{font-size:11px}}</style></head>
<body><h1>Reslot: appointments rescheduled after outages</h1>
<p class="big">Active outages: <b id="active-outages">{len(active)}</b> &middot;
displaced <b id="total-displaced">{totals['displaced']}</b> &middot;
moved <b id="total-moved">{totals['moved']}</b> &middot;
unplaced <b id="total-unplaced">{totals['unplaced']}</b></p>
<h2>Outages</h2><table id="outages"><tr><th>outage</th><th>start</th><th>end</th><th>state</th>
<th>centres</th><th>plans</th></tr>{outage_rows}</table>
<h2>Per centre</h2><table id="centres"><tr><th>centre</th><th>displaced</th><th>moved</th>
<th>unplaced</th><th>plans</th></tr>{centre_rows}</table>
<h2>Moved vs unplaced</h2>{_bars(per_centre)}
<h2>Delay of moved appointments (hours)</h2>{_histogram(delays)}
<p><a href="/api/outages">/api/outages</a> &middot; <a href="/metrics">/metrics</a> &middot;
<a href="/openapi.json">/openapi.json</a> &middot; <a href="/asyncapi.json">/asyncapi.json</a></p>
<script type="application/json" id="data">{e(json.dumps(totals))}</script>
</body></html>"""


def _bars(per_centre: dict[str, dict[str, int]]) -> str:
    width, row = 520, 22
    top = max([v["moved"] + v["unplaced"] for v in per_centre.values()] + [1])
    parts = []
    for i, (centre, v) in enumerate(sorted(per_centre.items())):
        y = i * row
        moved_w = 300 * v["moved"] / top
        unplaced_w = 300 * v["unplaced"] / top
        parts.append(
            f"<text x='0' y='{y + 15}'>{html.escape(centre)}</text>"
            f"<rect x='170' y='{y + 4}' width='{moved_w:.1f}' height='14' fill='#3a7'/>"
            f"<rect x='{170 + moved_w:.1f}' y='{y + 4}' width='{unplaced_w:.1f}' height='14' "
            f"fill='#d54'/><text x='{175 + moved_w + unplaced_w:.1f}' y='{y + 15}'>"
            f"{v['moved']} / {v['unplaced']}</text>")
    height = max(row * len(per_centre), row)
    return (f"<svg width='{width}' height='{height}' role='img' aria-label='moved (green) vs "
            f"unplaced (red)'>{''.join(parts)}</svg>")


def _histogram(delays: list[float]) -> str:
    edges = [-24 * 30, -24, 0, 4, 24, 72, 24 * 7, 24 * 31]
    labels = ["earlier >1d", "earlier", "<4h", "4-24h", "1-3d", "3-7d", ">7d"]
    counts = [sum(1 for d in delays if lo <= d < hi) for lo, hi in itertools.pairwise(edges)]
    top = max([*counts, 1])
    bars = "".join(
        f"<rect x='{i * 70 + 5}' y='{120 - 100 * c / top:.1f}' width='50' "
        f"height='{100 * c / top:.1f}' fill='#47a'/><text x='{i * 70 + 5}' y='135'>{lab}</text>"
        f"<text x='{i * 70 + 15}' y='{115 - 100 * c / top:.1f}'>{c}</text>"
        for i, (c, lab) in enumerate(zip(counts, labels, strict=True)))
    return f"<svg width='500' height='140' role='img' aria-label='delay histogram'>{bars}</svg>"
