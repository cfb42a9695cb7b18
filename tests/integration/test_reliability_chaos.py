"""Crash test: the scheduler and the notifier, each its own process on the local broker and
PostgreSQL, are SIGKILLed at seeded moments and restarted, again and again, while a
multi-centre scenario with several waves of outages flows through them.

Afterwards every displaced booking has exactly one decision (copies of the same event, same
id, are allowed on the topic; two different answers are not), the decisions, plans and
notification requests are those of `reslot plan` on the same file, the SMTP server got
exactly one distinct Message-ID per e-mail notification (a resend with the same Message-ID
after a kill between the SMTP accept and its record is counted and reported) and the SMS
gateway one message per SMS notification. No log line of either service holds an
applicant's name, e-mail address or phone number.

`make test` runs a small variant (two centres, ten kills); `make chaos` (RESLOT_CHAOS=full)
runs the big one, several seeds.
"""

import asyncio
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.common.kafka import ensure_topics, make_producer, publish_all
from services.common.settings import KafkaSettings, Settings
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from tests.conftest import eventually, new_database
from tests.integration.chaos import (
    Expected,
    Kill,
    Killer,
    SchedulerDb,
    Service,
    check_outputs,
    comparable,
    dry_run_waves,
    make_scenario,
    messages_of,
    notifications_done,
    notifier_env,
    personal_data_in,
    plans_on_topic,
    scheduler_env,
    sink_progress,
    until_assigned,
)

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class ChaosConfig:
    seed: int
    centres: int
    days: int
    booked_days: int
    waves: int
    scheduler_kills: int
    notifier_kills: int


CI = ChaosConfig(seed=11, centres=2, days=6, booked_days=3, waves=3, scheduler_kills=2,
                 notifier_kills=8)
FULL = [ChaosConfig(seed=s, centres=5, days=12, booked_days=6, waves=6, scheduler_kills=10,
                    notifier_kills=20) for s in (101, 202, 303)]


@dataclass
class Figures:
    runs: int = 0
    kills: int = 0
    scheduler_kills: int = 0
    notifier_kills: int = 0
    busy_kills: int = 0
    events_in: int = 0
    events_out: int = 0
    lost: int = 0
    duplicated: int = 0  # contradicting answers: must stay 0
    copies: int = 0  # same-id copies on the topics (re-published after a kill)
    email_resends: int = 0
    sms_repeats: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (f"chaos: runs {self.runs}, kills {self.kills} (scheduler {self.scheduler_kills},"
                f" notifier {self.notifier_kills}; {self.busy_kills} while working), events "
                f"{self.events_in} in / {self.events_out} out, lost {self.lost}, duplicated "
                f"{self.duplicated} (same-id copies on topics {self.copies}, e-mails resent "
                f"{self.email_resends}, SMS keys repeated {self.sms_repeats}), "
                f"{self.seconds:.0f}s")


async def run_chaos(config: ChaosConfig, kafka: str, postgres_url: str, tmp: Path,
                    figures: Figures) -> None:
    began = time.monotonic()
    centres = [f"chaos{config.seed}-c{i}" for i in range(config.centres)]
    scenario = make_scenario(config.seed, centres, days=config.days,
                             booked_days=config.booked_days, waves=config.waves)
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=kafka))
    await ensure_topics(settings)
    smtp = await SmtpSink(delay_s=0.2).start()  # slow: kills land mid-send, and the notifier
    sms = await SmsSink(delay_s=0.2).start()  # still has work while the scheduler rejoins
    producer = make_producer(settings)
    await producer.start()
    async with new_database(postgres_url) as scheduler_db, \
            new_database(postgres_url) as notifier_db:
        scheduler = Service("scheduler", "scheduler", scheduler_env(
            kafka, scheduler_db, RESLOT_BATCH_MAX_RECORDS=40, RESLOT_GRACEFUL_TIMEOUT_S=5,
            RESLOT_LOG_LEVEL="DEBUG"), tmp)
        # An attempt cut short by a kill counts (a crash loop must not resend a message for
        # ever), and the killer strikes while a send is on the wire, often the same one: the
        # budget exceeds the kills, or this would test the budget, not what a kill loses.
        notifier = Service("notifier", "notifier", notifier_env(
            kafka, notifier_db, smtp, sms, "chaos-notifier", RESLOT_NOTIFIER_MAX_IN_FLIGHT=2,
            RESLOT_SEND_MAX_ATTEMPTS=config.notifier_kills + 2, RESLOT_LOG_LEVEL="DEBUG"), tmp)
        db = SchedulerDb(scheduler_db)
        kills: list[Kill] = []
        killing: asyncio.Future[list[None]] | None = None
        try:
            scheduler.start()
            notifier.start()
            expected = await asyncio.to_thread(Expected.of, scenario.write(tmp / "input.jsonl"))
            assert expected.decisions
            assert expected.notifications
            waves = await dry_run_waves(scenario)  # while both join their groups
            wave_plans = [waves.plans(n) for n in range(len(scenario.waves))]
            assert [comparable(e) for e in waves.expected.outputs] == [  # same as reslot plan
                comparable(e) for e in expected.outputs]
            await until_assigned(scheduler, notifier)
            # Scheduler kills spread over the phases (calendars, then each wave); the notifier
            # is killed whenever it sends, which it does while the scheduler recovers.
            phases = [asyncio.Event() for _ in scenario.waves]
            gates = [None, *[phases[n * len(phases) // config.scheduler_kills]
                             for n in range(1, config.scheduler_kills)]]
            killers = [
                Killer(scheduler, db.progress, random.Random(config.seed * 2), quota=
                       config.scheduler_kills, idle_s=20.0, jitter_s=(0.0, 0.4), log=kills,
                       began=began, gates=gates),
                Killer(notifier, sink_progress(smtp, sms), random.Random(config.seed * 2 + 1),
                       quota=config.notifier_kills, idle_s=30.0, jitter_s=(0.0, 0.3), log=kills,
                       began=began),
            ]
            killing = asyncio.gather(*(k.run() for k in killers))
            for i, message in enumerate(messages_of(scenario.calendars)):
                await publish_all(producer, [message])
                if i % 100 == 99:
                    await asyncio.sleep(0.05)  # a stream, not one burst
            await eventually(lambda: db.caught_up(kafka), timeout=240, interval=0.5)
            for wave, wanted, phase in zip(scenario.waves, wave_plans, phases, strict=True):
                phase.set()
                await publish_all(producer, messages_of(wave))
                await eventually(lambda w=wanted: _planned(kafka, w), timeout=240, interval=0.5)
            await killing  # the quotas are used up, idle or not
            smtp.delay_s = sms.delay_s = 0.0  # no more kills to land: full speed
            await until_assigned(scheduler, notifier)  # the last restarts are up and running
            await eventually(lambda: db.caught_up(kafka), timeout=120, interval=0.5)
            await eventually(lambda: _relayed(db), timeout=60, interval=0.5)
            await eventually(lambda: notifications_done(kafka, expected, smtp, sms),
                             timeout=120, interval=0.5)
            for service in (scheduler, notifier):
                code, _ = service.terminate(timeout=30)
                assert code == 0, f"{service.name} did not stop cleanly:\n{service.tail()}"
            outcome = await check_outputs(kafka, expected, smtp, sms)
        except BaseException:
            print(scheduler.tail(), notifier.tail(), kills, sep="\n")
            raise
        finally:
            if killing is not None and not killing.done():
                killing.cancel()
                await asyncio.gather(killing, return_exceptions=True)
            scheduler.stop_if_running()
            notifier.stop_if_running()
            await db.close()
            await producer.stop()
            await smtp.stop()
            await sms.stop()

    assert not outcome.lost, outcome.lost[:10]
    assert not outcome.contradictions, outcome.contradictions[:10]
    assert not outcome.unexpected, outcome.unexpected[:10]
    assert outcome.deadletters == 0
    assert len(kills) == config.scheduler_kills + config.notifier_kills >= 10
    logs = scheduler.log_text() + notifier.log_text()
    assert "plan committed" in logs
    assert "notification delivered" in logs
    assert personal_data_in(logs, scenario.personal_data()) == []
    figures.runs += 1
    figures.kills += len(kills)
    figures.scheduler_kills += scheduler.kills
    figures.notifier_kills += notifier.kills
    figures.busy_kills += sum(k.busy for k in kills)
    figures.events_in += len(scenario.lines)
    figures.events_out += outcome.outputs
    figures.lost += len(outcome.lost)
    figures.duplicated += len(outcome.contradictions)
    figures.copies += outcome.copies
    figures.email_resends += outcome.email_resends
    figures.sms_repeats += outcome.sms_repeats
    figures.seconds += time.monotonic() - began
    print("\nkills (s since start, * = while working): " + " ".join(
        f"{k.service[0].upper()}@{k.at_s:.1f}{'*' if k.busy else ''}" for k in kills))


async def _planned(bootstrap: str, plan_ids: set[str]) -> bool:
    return plan_ids <= await plans_on_topic(bootstrap)


async def _relayed(db: SchedulerDb) -> bool:
    return await db.outbox_backlog() == 0


async def test_killing_scheduler_and_notifier_loses_and_doubles_nothing(
    kafka: str, postgres_url: str, tmp_path: Path
) -> None:
    figures = Figures()
    await run_chaos(CI, kafka, postgres_url, tmp_path, figures)
    print("\n" + figures.line())
    assert figures.lost == 0
    assert figures.duplicated == 0


@pytest.mark.chaos
@pytest.mark.timeout(3600)
async def test_chaos_full(postgres_url: str, tmp_path: Path) -> None:
    """The long variant: bigger scenarios, thirty kills a run, several seeds (make chaos)."""
    from services.common.local_broker import running_broker

    configs = FULL if os.environ.get("RESLOT_CHAOS") == "full" else FULL[:1]
    figures = Figures()
    for config in configs:
        run_dir = tmp_path / f"seed-{config.seed}"
        run_dir.mkdir()
        with running_broker() as broker:  # a fresh broker per run: its topics start empty
            await run_chaos(config, broker.bootstrap, postgres_url, run_dir, figures)
        print("\n" + figures.line())
    assert figures.lost == 0
    assert figures.duplicated == 0
