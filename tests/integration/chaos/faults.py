"""Partition ownership read from the consumers' logs, and the killer that SIGKILLs one
service at seeded moments and restarts it."""

import asyncio
import json
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from tests.integration.chaos.processes import Service

_ASSIGNED = re.compile(r"Consumer (\S+) assigned to partitions: \((.*)\)")
_TP = re.compile(r"TopicPartition\(topic='([^']+)', partition=(\d+)\)")


def assignments(log_text: str) -> list[dict[str, set[int]]]:
    """Every assignment a consumer logged, in order: topic -> partitions."""
    out = []
    for match in _ASSIGNED.finditer(log_text):
        owned: dict[str, set[int]] = defaultdict(set)
        for topic, partition in _TP.findall(match.group(2)):
            owned[topic].add(int(partition))
        out.append(dict(owned))
    return out


def json_lines(log_text: str) -> list[dict[str, Any]]:
    out = []
    for line in log_text.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


# -- the killer --------------------------------------------------------------------------------


@dataclass
class Kill:
    service: str
    at_s: float  # since the run began
    busy: bool  # the service had done work since its start when it was killed


class Killer:
    """SIGKILLs `service` `quota` times, each at a seeded moment once it has done some work
    since its last start (or has been idle `idle_s`), and restarts it after a short pause.
    Kill number n waits for `gates[n]` first, if there is one (to spread kills over phases)."""

    def __init__(self, service: Service, progress: Callable[[], Awaitable[Hashable]],
                 rng: random.Random, quota: int, idle_s: float, jitter_s: tuple[float, float],
                 log: list[Kill], began: float,
                 gates: Sequence[asyncio.Event | None] = ()) -> None:
        self.service, self.progress, self.rng = service, progress, rng
        self.quota, self.idle_s, self.jitter_s = quota, idle_s, jitter_s
        self.log, self.began, self.gates = log, began, gates

    async def run(self) -> None:
        for n in range(self.quota):
            if n < len(self.gates) and (gate := self.gates[n]) is not None:
                await gate.wait()
            before = await self.progress()
            deadline = time.monotonic() + self.idle_s
            busy = False
            while time.monotonic() < deadline:
                if await self.progress() != before:
                    busy = True
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(self.rng.uniform(*self.jitter_s))
            assert self.service.alive, f"{self.service.name} died by itself:\n{self.service.tail()}"
            self.service.kill()
            self.log.append(Kill(self.service.name, time.monotonic() - self.began, busy))
            await asyncio.sleep(self.rng.uniform(0.05, 0.6))
            self.service.start()


def sink_progress(smtp: SmtpSink, sms: SmsSink) -> Callable[[], Awaitable[Hashable]]:
    async def progress() -> Hashable:
        return len(smtp.messages), len(sms.requests)

    return progress


async def until_assigned(*services: Service, timeout: float = 60.0) -> None:
    """Until each service's consumer has logged a non-empty partition assignment."""
    deadline = time.monotonic() + timeout
    while not all(any(assignments(s.current_log())) for s in services):
        for s in services:
            assert s.alive, f"{s.name} exited early:\n{s.tail()}"
        assert time.monotonic() < deadline, "no assignment in time:\n" + "\n".join(
            s.tail() for s in services)
        await asyncio.sleep(0.1)


def latest_assignment(service: Service) -> dict[str, set[int]]:
    found = assignments(service.current_log())
    return found[-1] if found else {}


def split_problems(owned: Sequence[dict[str, set[int]]], topics: Sequence[str],
                   partitions: int) -> list[str]:
    """What keeps these assignments from being one group's stable, co-partitioned split:
    each member the same partitions of every topic, no partition twice, none left out."""
    problems = []
    for n, member in enumerate(owned):
        if not member:
            problems.append(f"member {n} owns nothing")
        elif len({frozenset(member.get(topic, set())) for topic in topics}) != 1:
            problems.append(f"member {n} is not co-partitioned: {member}")
    for topic in topics:
        counts = Counter(p for member in owned for p in member.get(topic, set()))
        if sorted(counts) != list(range(partitions)) or any(c > 1 for c in counts.values()):
            problems.append(f"{topic}: partitions owned {dict(counts)}")
    return problems


async def until_split(services: Sequence[Service], topics: Sequence[str], partitions: int,
                      timeout: float = 60.0) -> list[dict[str, set[int]]]:
    """Until the services' latest assignments split every partition between them."""
    deadline = time.monotonic() + timeout
    while True:
        owned = [latest_assignment(s) for s in services]
        problems = split_problems(owned, topics, partitions)
        if not problems:
            return owned
        for s in services:
            assert s.alive, f"{s.name} exited early:\n{s.tail()}"
        assert time.monotonic() < deadline, f"no stable split in time: {problems}"
        await asyncio.sleep(0.1)
