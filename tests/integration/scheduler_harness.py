"""Runs the real scheduler in-process against a real broker and store, for tests."""

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from services.common.clock import Clock
from services.common.metrics import Metrics
from services.common.settings import KafkaSettings, Settings
from services.scheduler.app import create_app

ROOT = Path(__file__).resolve().parents[2]


def settings_for(bootstrap: str, database_url: str, **extra: Any) -> Settings:
    return Settings(kafka=KafkaSettings(bootstrap_servers=bootstrap), database_url=database_url,
                    **extra)


@contextlib.asynccontextmanager
async def running_scheduler(settings: Settings,
                            clock: Clock | None = None) -> AsyncIterator[Metrics]:
    stop = asyncio.Event()
    metrics = Metrics()
    task = asyncio.create_task(create_app(settings, clock=clock, metrics=metrics).run(stop))
    try:
        yield metrics
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)


def reslot(*args: str, bootstrap: str | None = None, check: bool = True,
           ) -> subprocess.CompletedProcess[str]:
    """Run the real `reslot` command line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "RESLOT_"))}
    if bootstrap:
        env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    return subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=check, timeout=300)
