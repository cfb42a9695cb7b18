"""What the figures were measured on: CPU, cores, memory, Python, load, date, and the pace of
one fixed piece of pure-Python work.

The machines this bench runs on are virtual and not all alike: on two days the same code
solved the 20,000-booking plan in 1.4 and 2.3 s. A figure set beside the previous
bench/results.json says little unless the two machines' pace is known: `pace_s` times the
same work every run (dicts, strings, JSON, datetimes, SHA-1: what our services spend their
time on), and `pace_comparison` says how the two compare.
"""

import datetime as dt
import hashlib
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

_START = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)


def _cpuinfo_field(name: str) -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return "unknown"


def _ram_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024**2, 1)
    return 0.0


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def _reference_work(n: int = 20_000) -> int:
    rows = [{"id": f"b{i:05d}", "start": (_START + dt.timedelta(minutes=15 * i)).isoformat(),
             "service": ("short", "long")[i % 2], "n": i} for i in range(n)]
    back = json.loads(json.dumps(rows))
    back.sort(key=lambda r: (r["service"], r["start"]), reverse=True)
    ids = {hashlib.sha1(r["id"].encode()).hexdigest()[:16]: r for r in back}
    return len(ids)


def pace_s(repeats: int = 7) -> float:
    """Seconds of the fixed work, the best of `repeats` (the least disturbed) after one not
    counted (the first also grows the heap)."""
    _reference_work()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        _reference_work()
        best = min(best, time.perf_counter() - started)
    return round(best, 4)


def pace_comparison(now_s: float, before_s: float | None) -> str:
    """How this machine's pace compares with the one of the previous results."""
    if not before_s or before_s <= 0 or now_s <= 0:
        return "the previous results have no pace to compare with"
    ratio = before_s / now_s
    if 0.95 <= ratio <= 1.05:
        return "the same pace as the previous results' machine (within 5 %)"
    word = "faster" if ratio > 1 else "slower"
    return (f"{max(ratio, 1 / ratio):.2f} x {word} than the previous results' machine: "
            f"compare their figures with that in mind")


def machine_info() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpuinfo_field("model name"),
        "ram_gib": _ram_gib(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average_at_start": [round(x, 2) for x in load_average()],
        "pace_s": pace_s(),
    }
