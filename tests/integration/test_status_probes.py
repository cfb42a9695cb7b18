"""The probes-only app the notifier serves, and `reslot web` as a process of its own on the
scheduler's store and the broker: real HTTP on loopback ports."""

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from pydantic import SecretStr

from services.common.local_broker import free_port
from services.scheduler.store.sql import SchedulerStore, make_engine
from services.web.app import probe_app
from services.web.probes import broker_probe, database_probe
from tests.conftest import eventually
from tests.integration.status_harness import serving

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


async def test_probe_app_answers_probes_and_metrics_only(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    Counter("reslot_notifications", "sent", ["outcome"], registry=registry).labels("sent").inc(3)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'notifier.db'}")
    closed = free_port()  # nothing listens there: the broker is "down"
    app = probe_app(registry, {"database": database_probe(engine),
                               "broker": broker_probe(f"127.0.0.1:{closed}")},
                    SecretStr("probe-token"))
    try:
        async with serving(app) as base, httpx.AsyncClient(base_url=base) as c:
            assert (await c.get("/healthz")).json() == {"status": "ok"}
            ready = await c.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["status"] == "not ready"
            assert set(ready.json()["failed"]) == {"broker"}
            assert (await c.get("/metrics")).status_code == 401
            metrics = await c.get("/metrics", headers={"Authorization": "Bearer probe-token"})
            assert 'reslot_notifications_total{outcome="sent"} 3.0' in metrics.text
            for elsewhere in ("/", "/api/outages", "/openapi.json", "/static/reslot.css"):
                answer = await c.get(elsewhere, headers={"Authorization": "Bearer probe-token"})
                assert answer.status_code == 404, elsewhere
                assert answer.headers["cache-control"] == "no-store"
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def reslot_web(database_url: str, port: int, bootstrap: str,
                     ) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RESLOT_", "KAFKA_"))}
    env.update(RESLOT_DATABASE_URL=database_url, RESLOT_HTTP_PORT=str(port),
               KAFKA_BOOTSTRAP_SERVERS=bootstrap)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "web", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=20)


async def test_reslot_web_is_ready_once_the_scheduler_made_its_store(tmp_path: Path,
                                                                     kafka: str) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'scheduler.db'}"
    port = free_port()
    async with reslot_web(url, port, kafka) as process, \
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as c:
        async def up() -> bool:
            with contextlib.suppress(httpx.TransportError):
                return (await c.get("/healthz")).status_code == 200
            return False

        await eventually(up, timeout=30, interval=0.1)
        before = await c.get("/readyz")  # no scheduler has created the tables yet
        assert before.status_code == 503
        assert set(before.json()["failed"]) == {"database"}  # the broker answers
        store = await SchedulerStore.open(url)  # what the scheduler does when it starts
        await store.close()
        after = await c.get("/readyz")
        assert after.json() == {"status": "ready", "checked": ["broker", "database"]}
        assert (await c.get("/api/outages")).json() == []
        assert (await c.get("/api/plans")).json() == []
        assert "No outage recorded yet" in (await c.get("/")).text
        assert "process_cpu_seconds_total" in (await c.get("/metrics")).text
        # the whole front: no link secret set, so the reply pages are off; no console login
        assert (await c.get("/r/anything.AAAA")).status_code == 404
        assert (await c.get("/ops")).status_code == 404
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=20) == 0


def test_reslot_web_needs_the_schedulers_broker(tmp_path: Path) -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESLOT_", "KAFKA_"))}
    env["RESLOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'scheduler.db'}"
    done = subprocess.run([sys.executable, "-m", "services.cli", "web"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "KAFKA_BOOTSTRAP_SERVERS" in done.stderr
