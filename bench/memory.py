"""Part (d): peak memory (VmHWM) of `reslot scheduler` and `reslot notifier` under load.

Both run as child processes (`python -m services.cli ...`, as deployed) against a fresh
broker while the outage of part (c) is played at one size; their VmHWM is read from
/proc/<pid>/status before they are stopped with SIGTERM.
"""

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import processes
from bench.events import outage_scenario
from bench.outage import Rig, play, rig
from services.common.local_broker import free_port
from services.scheduler.store.sql import SchedulerStore

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("scheduler", "notifier")


def service_env(r: Rig) -> dict[str, str]:
    s = r.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "RESLOT_"))}
    env.update({
        "KAFKA_BOOTSTRAP_SERVERS": s.kafka.bootstrap_servers or "",
        "RESLOT_DATABASE_URL": s.database_url,
        "RESLOT_SMTP_HOST": s.smtp_host, "RESLOT_SMTP_PORT": str(s.smtp_port),
        "RESLOT_SMS_URL": s.sms_url,
        "RESLOT_SMS_RATE_PER_S": str(s.sms_rate_per_s),
        "RESLOT_EMAIL_RATE_PER_S": str(s.email_rate_per_s),
        "RESLOT_QUIET_HOURS_START": str(s.quiet_hours_start),
        "RESLOT_QUIET_HOURS_END": str(s.quiet_hours_end),
        "RESLOT_LOG_LEVEL": "WARNING",
    })
    return env


def proc_status(pid: int) -> dict[str, float]:
    """VmHWM and VmRSS of `pid` in KiB, and the CPU seconds it used (user + system)."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0])
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    out["cpu_s"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


async def service_memory(n_displaced: int = 1500, seed: int = 1) -> dict[str, Any]:
    scenario = outage_scenario(n_displaced, seed)
    async with rig() as r:
        await (await SchedulerStore.open(r.settings.database_url)).close()  # tables first
        env = service_env(r)
        children: dict[str, subprocess.Popen[bytes]] = {}
        logs = {name: r.workdir / f"{name}.log" for name in SERVICES}
        try:
            for name in SERVICES:
                children[name] = processes.spawn(
                    [sys.executable, "-m", "services.cli", name],
                    {**env, "RESLOT_HTTP_PORT": str(free_port())}, logs[name], ROOT)

            def alive() -> None:
                for name, child in children.items():
                    if child.poll() is not None:
                        raise RuntimeError(f"reslot {name} exited with {child.returncode}:\n"
                                           + _tail(logs[name]))

            figures = await play(r, scenario, alive)
            await asyncio.sleep(0.5)  # let the last status batch be marked reported
            memory = {name: proc_status(child.pid) for name, child in children.items()}
        finally:
            codes = {name: await asyncio.to_thread(processes.terminate, child)
                     for name, child in children.items()}
    return {
        "displaced": n_displaced,
        **{name: {"vm_hwm_mib": memory[name]["VmHWM"] / 1024,
                  "vm_rss_mib": memory[name]["VmRSS"] / 1024,
                  "cpu_s": memory[name]["cpu_s"],
                  "exit_code": codes[name]} for name in SERVICES},
        "to_last_status_s": figures["to_last_status_s"],
        "to_plan_completed_s": figures["to_plan_completed_s"],
        "status_events": figures["status_events"],
    }
