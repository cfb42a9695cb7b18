"""The status page in headless Chromium, before and after a small real scenario: the numbers
it shows are those of /api/outages, in the centres' local time, it draws its charts as inline
SVG, loads nothing but Reslot's own stylesheet, runs no script and reloads itself. A
screenshot is taken too; `RESLOT_SCREENSHOT=docs/status-page.png` keeps it there.

Chromium is Debian's `chromium` package, which `make test` installs when it can; without it
this test fails (it never skips)."""

import asyncio
import datetime as dt
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.web.app import front_for
from tests.integration.status_harness import (
    ALGER,
    ORAN,
    OUTAGE,
    play_calendars,
    play_outages,
    scenario_lines,
    scheduler_on_local_broker,
    serving,
)

pytestmark = pytest.mark.integration

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("headless Chromium is needed for the status page test and is not "
                    "installed: `make test` installs Debian's `chromium` when run as root "
                    "with apt-get; otherwise run `apt-get install -y chromium`")
    return found


async def run_chromium(profile: Path, *args: str) -> tuple[str, str]:
    """Chromium's output and errors (the server runs on this event loop, so Chromium runs as
    an asyncio subprocess)."""
    process = await asyncio.create_subprocess_exec(
        chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "HOME": str(profile)})  # Chromium writes under $HOME too
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    errors = err.decode(errors="replace")
    assert process.returncode == 0, errors[-2000:]
    return out.decode(), errors


async def dump_dom(url: str, profile: Path) -> str:
    """The DOM Chromium builds for `url`, serialised."""
    dom, errors = await run_chromium(profile, "--dump-dom", url)
    assert "<html" in dom, errors[-2000:]
    return dom


async def screenshot(url: str, profile: Path, png: Path) -> bytes:
    """`url` as Chromium paints it, 1280 px wide, as PNG bytes."""
    await run_chromium(profile, "--hide-scrollbars", "--window-size=1280,1080",
                       f"--screenshot={png}", url)
    return await asyncio.to_thread(png.read_bytes)


class Page(HTMLParser):
    """What the test reads from the DOM: texts by id, table rows, SVG parts, resources."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.rows: dict[str, dict[str, list[str]]] = {}  # table id -> row key -> cells
        self.tags: list[tuple[str, dict[str, str]]] = []
        self._open_ids: list[tuple[str, str, int]] = []  # (id, tag, depth)
        self._texts: dict[str, list[str]] = {}
        self._table: str | None = None
        self._row: str | None = None
        self._cell: list[str] | None = None
        self._depth = 0
        self.feed(dom)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag in ("meta", "link", "br", "img", "input", "hr", "wbr", "source"):
            return  # void elements: no end tag
        self._depth += 1
        if "id" in a:
            self._open_ids.append((a["id"], tag, self._depth))
            self._texts[a["id"]] = []
        if tag == "table":
            self._table = a.get("id")
            self.rows.setdefault(self._table or "", {})
        if tag == "tr" and self._table is not None:
            self._row = a.get("data-centre") or a.get("data-outage")
            if self._row:
                self.rows[self._table][self._row] = []
        if tag == "td" and self._row:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._table and self._row:
            self.rows[self._table][self._row].append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "tr":
            self._row = None
        if tag == "table":
            self._table = None
        while self._open_ids and self._open_ids[-1][2] >= self._depth:
            ident, _, _ = self._open_ids.pop()
            self.by_id[ident] = " ".join("".join(self._texts[ident]).split())
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        for ident, _, _ in self._open_ids:
            self._texts[ident].append(data)
        if self._cell is not None:
            self._cell.append(data)

    def number(self, ident: str) -> int:
        return int(self.by_id[ident])


def expected_from_api(outages: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    per_centre: dict[str, dict[str, int]] = {}
    for o in outages:
        for p in o["plans"]:
            c = per_centre.setdefault(p["centre_id"], {"displaced": 0, "moved": 0,
                                                       "unplaced": 0})
            for k in c:
                c[k] += p[k]
    return per_centre


def assert_self_contained(page: Page) -> None:
    """Nothing loaded from elsewhere and no script: Reslot's own stylesheet and icon only, no
    inline style either (the CSP allows neither)."""
    for tag, attrs in page.tags:
        assert tag not in ("script", "img", "iframe", "object", "embed"), (tag, attrs)
        assert "style" not in attrs, (tag, attrs)
        assert not any(key.startswith("on") for key in attrs), (tag, attrs)
        if tag == "link":
            assert attrs["rel"] in ("stylesheet", "icon"), attrs
            assert attrs["href"].startswith("/static/"), attrs
        for key in ("src", "href"):
            value = attrs.get(key, "")
            assert not value.startswith(("http:", "https:", "//")), (tag, attrs)
    assert [a["href"] for t, a in page.tags if t == "link" and a["rel"] == "stylesheet"] == \
        ["/static/reslot.css"]
    refresh = [a for t, a in page.tags
               if t == "meta" and a.get("http-equiv", "").lower() == "refresh"]
    assert refresh
    assert int(refresh[0]["content"]) <= 10


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chromium()  # fail first, and clearly, if there is no browser
    return tmp_path_factory.mktemp("chromium-profile")


NOW = dt.datetime(2025, 12, 3, 13, 31, 5, tzinfo=dt.UTC)  # the page's clock, injected


async def test_the_page_shows_the_numbers_of_the_api(
        tmp_path_factory: pytest.TempPathFactory, profile: Path) -> None:
    calendars, outages = scenario_lines()
    async with scheduler_on_local_broker(tmp_path_factory.mktemp("page")) as run:
        app = front_for(run.settings, run.store.engine, run.metrics.registry, clock=lambda: NOW)
        async with serving(app) as base:
            await play_calendars(run, calendars)

            dom = await dump_dom(f"{base}/", profile)  # calendars read, no outage yet
            before = Page(dom)
            assert [before.number(i) for i in ("active-outages", "total-displaced",
                                               "total-moved", "total-unplaced")] == [0, 0, 0, 0]
            assert "No outage recorded yet" in dom
            assert not before.rows["outages"]
            assert not before.rows["centres"]
            assert_self_contained(before)

            await play_outages(run, outages, plans=2)
            async with httpx.AsyncClient(base_url=base) as client:
                api = (await client.get("/api/outages")).json()
                css = await client.get("/static/reslot.css")
            after = Page(await dump_dom(f"{base}/", profile))
            png = await screenshot(f"{base}/", profile,
                                   tmp_path_factory.mktemp("shot") / "status-page.png")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(png[16:20], "big") == 1280  # IHDR width
    keep = os.environ.get("RESLOT_SCREENSHOT")
    if keep:
        await asyncio.to_thread(Path(keep).write_bytes, png)

    expected = expected_from_api(api)
    assert set(expected) == {ALGER, ORAN}
    totals = {k: sum(c[k] for c in expected.values()) for k in ("displaced", "moved", "unplaced")}
    assert after.number("total-displaced") == totals["displaced"] == 14
    assert after.number("total-moved") == totals["moved"] == 11
    assert after.number("total-unplaced") == totals["unplaced"] == 3
    assert after.number("active-outages") == sum(o["active"] for o in api) == 1
    assert after.number("total-plans") == sum(len(o["plans"]) for o in api)

    centres = after.rows["centres"]
    assert set(centres) == set(expected)
    for centre_id, cells in centres.items():
        # centre, displaced, moved, unplaced, moved share, plans, bar
        shown = dict(zip(("displaced", "moved", "unplaced"), map(int, cells[1:4]), strict=True))
        assert shown == expected[centre_id], centre_id
    outage_row = after.rows["outages"][OUTAGE]
    assert outage_row[0] == OUTAGE
    # times in the centres' own zone: the outage ran 13:00-16:00 UTC, 14:00-17:00 in Algiers
    assert outage_row[2] == "Wed 03 Dec 2025 14:00 → 17:00 Africa/Algiers"
    assert (after.by_id["updated"], after.by_id["zone"]) == ("14:31:05", "Africa/Algiers")
    assert "active" in outage_row[3]
    assert [int(x) for x in outage_row[5:8]] == [totals["displaced"], totals["moved"],
                                                 totals["unplaced"]]

    # the two charts, inline SVG: a bar group per centre, and the delays of the 11 moved
    svgs = {a.get("id") for t, a in after.tags if t == "svg"}
    assert {"chart-moved", "chart-delays"} <= svgs
    bars = {a["data-centre"] for t, a in after.tags if t == "g" and "data-centre" in a}
    assert bars == set(expected)
    assert "11 moved" in after.by_id["chart-delays"]
    assert_self_contained(after)
