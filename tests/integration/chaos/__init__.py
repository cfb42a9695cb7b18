"""Crash-test harness: Reslot's services as child processes, SIGKILLed and restarted.

The pieces the reliability tests share, one module each (processes, scenario, expected,
observed, faults), all importable from here:

- `Service`: `python -m services.cli scheduler|notifier` as a child process configured by its
  environment only, with a log file per start; killed by its own pid, never by name.
- `make_scenario`: a seeded scenario of centres, calendars, bookings (with moves and
  cancellations) and waves of outages. The outages of one wave name disjoint sets of centres,
  so their order does not matter; a wave is published once the one before is planned, as
  outages hours apart would be. The same file run through `reslot plan` gives the answer.
- `Expected`: what `reslot plan` says (the command, or its code in-process wave by wave with
  `dry_run_waves`); `check_outputs` compares it with what the topics and the SMTP and SMS
  sinks hold, and counts same-id copies, e-mail resends and SMS key repeats (`Outcome`).
- `SchedulerDb`: read-only looks at a scheduler's store (positions, outbox, state);
  `last_offsets` reads the real end of each partition (Tansu's ListOffsets lags).
- `assignments` / `until_split`: which partitions each consumer owns, from the assignment
  lines the consumers log (the scheduler's Positions, FastStream's for the notifier);
  `split_problems` says what keeps them from a co-partitioned split.
- `Killer`: SIGKILLs one service at seeded moments (once it has done some work since its
  last start, or after a while idle) and restarts it.
"""

from tests.integration.chaos.expected import (
    DECISIONS,
    PLAN_DONE,
    SCHEDULER_INPUTS,
    Expected,
    comparable,
    dry_run_waves,
)
from tests.integration.chaos.faults import (
    Kill,
    Killer,
    assignments,
    json_lines,
    sink_progress,
    until_assigned,
    until_split,
)
from tests.integration.chaos.observed import (
    SchedulerDb,
    check_outputs,
    notifications_done,
    personal_data_in,
    plans_on_topic,
    reference_state,
)
from tests.integration.chaos.processes import (
    Service,
    command,
    notifier_env,
    scheduler_env,
)
from tests.integration.chaos.scenario import (
    ANNOUNCED,
    Scenario,
    centres_on_partitions,
    make_scenario,
    messages_of,
    partition_of,
)

__all__ = [
    "ANNOUNCED",
    "DECISIONS",
    "PLAN_DONE",
    "SCHEDULER_INPUTS",
    "Expected",
    "Kill",
    "Killer",
    "Scenario",
    "SchedulerDb",
    "Service",
    "assignments",
    "centres_on_partitions",
    "check_outputs",
    "command",
    "comparable",
    "dry_run_waves",
    "json_lines",
    "make_scenario",
    "messages_of",
    "notifications_done",
    "notifier_env",
    "partition_of",
    "personal_data_in",
    "plans_on_topic",
    "reference_state",
    "scheduler_env",
    "sink_progress",
    "until_assigned",
    "until_split",
]
