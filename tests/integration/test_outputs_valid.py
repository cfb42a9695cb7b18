"""Every event the scheduler emits is valid under the contract's strict models: every event
of two whole scenarios (an outage, a suspension with its waiting list placed after the
advice), through the same code as the running service, parsed back with the strict models
consumers use, and written exactly as those models write it."""

import json
from collections import Counter

from schemas.envelope import parse_event
from schemas.events import ANY_ADAPTER
from services.common.settings import Settings
from services.scheduler.app import planning_config
from services.scheduler.dryrun import dry_run
from services.scheduler.pipeline import Pipeline
from tests.integration.scheduler_harness import ROOT
from tests.integration.test_morocco_scenario import advised_lines, latest_advice


async def _emitted(lines: list[str]) -> list[bytes]:
    config = planning_config(Settings(link_secrets="a-secret"))  # messages with links
    rows = await dry_run(lines, lambda store: Pipeline(store, config))
    return [r.value for r in rows]


async def test_every_event_of_the_capago_and_morocco_scenarios_is_valid() -> None:
    capago = (ROOT / "examples" / "capago-dz.jsonl").read_text().splitlines()
    morocco = (ROOT / "examples" / "morocco-suspension.jsonl").read_text().splitlines()
    first = await _emitted(morocco)
    advice = latest_advice([json.loads(v) for v in first])
    emitted = await _emitted(capago) + await _emitted(morocco + advised_lines(advice))
    kinds = Counter(parse_event(value, ANY_ADAPTER).type for value in emitted)
    assert kinds["visa.appointment.rescheduled.v1"] > 600
    assert kinds["visa.appointment.unplaced.v1"] > 300
    assert kinds["visa.notification.requested.v1"] > 900
    for value in emitted:  # and the bytes are what the validated model would write
        event = parse_event(value, ANY_ADAPTER)
        assert json.loads(event.to_json()) == json.loads(value)
