"""`reslot dev --demo`: a scenario where people wait is played to the end: the advice is
applied as operations would, and the demo says how many the waiting list placed."""

import asyncio
import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from services.common.clock import Clock, ShiftedClock
from services.common.local_broker import free_port
from services.common.settings import KafkaSettings, Settings
from services.dev import run_dev
from tests.builders import at, booking, centre, line, outage, slots

WAITING = 4
NOW = dt.datetime(2026, 12, 6, 13, 0, tzinfo=dt.UTC)  # a year after the scenario


def _short_of_room(path: Path) -> Path:
    """Five displaced from 3 Dec 09:00, room for one (4 Dec 09:00): four wait."""
    people = [booking(f"demo-b{n}", at(3, 9)) for n in range(WAITING + 1)]
    lines = [line("visa.centre.registered.v1", centre()),
             line("visa.slots.published.v1", slots([at(3, 9)], capacity=WAITING + 1)),
             line("visa.slots.published.v1", slots([at(4, 9)], capacity=1), eid="room-for-one"),
             *(line("visa.booking.created.v1", p) for p in people),
             line("visa.outage.declared.v1", outage("demo-o1", at(3, 8), at(3, 12)),
                  subject="")]
    path.write_text("\n".join(lines) + "\n")
    return path


async def _play(settings: Settings, scenario: Path, capsys: pytest.CaptureFixture[str],
                clock: Clock | None = None, linger_s: float = 0.0) -> str:
    """`reslot dev` playing `scenario` to its end (then `linger_s` more); what it printed."""
    stop = asyncio.Event()
    dev = asyncio.create_task(run_dev(settings, stop, scenario, clock))
    printed = ""
    try:
        for _ in range(240):
            printed += capsys.readouterr().out
            if "demo done" in printed or dev.done():
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(linger_s)
    finally:
        stop.set()
        await asyncio.wait_for(dev, timeout=60)
    return printed


async def test_the_demo_applies_the_advice_and_reports_the_waiting_placed(
    kafka: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=kafka), http_port=free_port(),
                        database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    printed = await _play(settings, _short_of_room(tmp_path / "d.jsonl"), capsys)
    assert f"step 1, the outage: {WAITING} applicant(s) waiting for a place" in printed
    assert f"the capacity advice asks for {WAITING} place(s)" in printed
    assert f"step 2, the advice applied: {WAITING} placed from the waiting list, 0 still " \
        "waiting" in printed
    assert f"{WAITING} placed later from the waiting list, 0 still waiting" in printed


def _offers(database: Path) -> list[tuple[str, str | None, str]]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return db.execute("SELECT state, timeout_at, reply_by FROM offers").fetchall()


async def test_the_demo_plays_a_past_scenario_as_news_its_offers_open(
    kafka: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scenario is of December 2025: played as it is a year later, every reply window
    had closed before the offer was made, and the scheduler answered all of them by timeout
    at its first look. Re-dated, the offers wait for the applicants."""
    database = tmp_path / "demo.db"
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=kafka), http_port=free_port(),
                        database_url=f"sqlite+aiosqlite:///{database}", reply_tick_s=0.5)
    clock = ShiftedClock(NOW)  # every part of `reslot dev` on it: the demo, the timeouts
    printed = await _play(settings, _short_of_room(tmp_path / "d.jsonl"), capsys, clock,
                          linger_s=2.0)  # several ticks of the timeout answers
    assert "demo: the scenario's dates moved 54 week(s) on" in printed
    offers = _offers(database)
    assert len(offers) == WAITING + 1  # one moved at once, four placed from the waiting list
    assert [(state, timeout) for state, timeout, _ in offers] == [("open", None)] * len(offers)
    assert all(dt.datetime.fromisoformat(by) > NOW for _, _, by in offers)
