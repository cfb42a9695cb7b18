"""What `reslot plan` says about a scenario: the command, or its code in-process wave by
wave."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.topics import INPUT_TOPICS, Topic
from services.common.settings import Settings
from services.notifier.channels.smtp import message_id
from tests.integration.chaos.scenario import Scenario
from tests.integration.scheduler_harness import reslot

DECISIONS = ("visa.appointment.rescheduled.v1", "visa.appointment.unplaced.v1")
PLAN_DONE = "visa.plan.completed.v1"
SCHEDULER_INPUTS = (*[str(x) for x in INPUT_TOPICS], str(Topic.OUTAGES))

def decision_key(event: dict[str, Any]) -> str:
    """One decision per booking and displacement (a revision may displace a booking again
    for the same outage: that is another plan)."""
    return f"{event['data']['plan_id']}|{event['data']['booking_id']}"


def comparable(event: dict[str, Any]) -> dict[str, Any]:
    """An output event without what legitimately differs between runs (the solve time)."""
    if event["type"] != PLAN_DONE:
        return event
    return {**event, "data": {k: v for k, v in event["data"].items() if k != "solve_ms"}}


@dataclass
class Expected:
    outputs: list[dict[str, Any]]

    @classmethod
    def of(cls, path: Path) -> "Expected":
        result = reslot("plan", str(path))
        return cls([json.loads(x) for x in result.stdout.splitlines() if x.strip()])

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        return [e for e in self.outputs if e["type"] in types]

    @property
    def decisions(self) -> dict[str, dict[str, Any]]:
        return {decision_key(e): comparable(e) for e in self.of_type(*DECISIONS)}

    @property
    def plans(self) -> dict[str, dict[str, Any]]:
        return {e["id"]: comparable(e) for e in self.of_type(PLAN_DONE)}


    @property
    def notifications(self) -> dict[str, dict[str, Any]]:
        return {e["data"]["notification_id"]: e
                for e in self.of_type("visa.notification.requested.v1")}

    @property
    def superseded(self) -> set[str]:
        """Notification ids a later decision of the same booking replaced (CONTRACT v1.1):
        the notifier sends them only if it had done so before the replacement arrived."""
        return {s for e in self.notifications.values() for s in e["data"].get("supersedes", ())}

    @property
    def emails(self) -> set[str]:
        """Message-IDs the SMTP server must receive, one per notification with an e-mail
        that nothing superseded."""
        return {message_id(n) for n, e in self.notifications.items()
                if e["data"]["recipient"].get("email") and n not in self.superseded}

    @property
    def sms(self) -> set[str]:
        """Idempotency keys the gateway must receive (notifications nothing superseded)."""
        return {n for n, e in self.notifications.items()
                if e["data"]["recipient"].get("phone") and n not in self.superseded}

    @property
    def may_send(self) -> tuple[set[str], set[str]]:
        """(Message-IDs, SMS keys) of superseded notifications: sent or not, never twice."""
        notes = self.notifications
        return ({message_id(n) for n in self.superseded
                 if n in notes and notes[n]["data"]["recipient"].get("email")},
                {n for n in self.superseded
                 if n in notes and notes[n]["data"]["recipient"].get("phone")})


def default_settings() -> Settings:
    """The defaults the services run with here (their environment has no RESLOT_ policy)."""
    return Settings.model_construct()


@dataclass
class Waves:
    expected: Expected  # every output, in order, as `reslot plan` writes them
    added: list[dict[str, dict[str, Any]]]  # by wave: the output events (by id) it adds

    def plans(self, wave: int) -> set[str]:
        return {i for i, e in self.added[wave].items() if e["type"] == PLAN_DONE}

    def notifications(self, wave: int) -> set[str]:
        return {e["data"]["notification_id"] for e in self.added[wave].values()
                if e["type"] == "visa.notification.requested.v1"}


async def dry_run_waves(scenario: Scenario) -> Waves:
    """`reslot plan`'s own code (dry_run over the Pipeline) on the scenario up to each wave:
    what each wave adds (a revision re-plans an outage of an earlier wave)."""
    from services.scheduler.app import planning_config
    from services.scheduler.dryrun import dry_run
    from services.scheduler.pipeline import Pipeline

    config = planning_config(default_settings())
    added: list[dict[str, dict[str, Any]]] = []
    events: list[dict[str, Any]] = []
    for n in range(1, len(scenario.waves) + 1):
        lines = scenario.calendars + [x for wave in scenario.waves[:n] for x in wave]
        before = {e["id"] for e in events}
        events = [json.loads(r.value) for r in
                  await dry_run(lines, lambda store: Pipeline(store, config))]
        added.append({e["id"]: e for e in events if e["id"] not in before})
    return Waves(Expected(events), added)
