"""Reslot's services as child processes, configured by their environment only, killed by
their own pid."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from services.common.local_broker import free_port
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parents[3]  # the repository

def service_env(**values: str | int | float) -> dict[str, str]:
    """The test's environment without any KAFKA_ / RESLOT_ / OTEL_ setting, plus `values`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KAFKA_", "RESLOT_", "OTEL_"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update({k: str(v) for k, v in values.items()})
    return env


def scheduler_env(bootstrap: str, database_url: str, **extra: str | int | float) -> dict[str, str]:
    values: dict[str, str | int | float] = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "RESLOT_DATABASE_URL": database_url,
        "RESLOT_HTTP_PORT": free_port()}
    return service_env(**{**values, **extra})


def notifier_env(bootstrap: str, database_url: str, smtp: SmtpSink, sms: SmsSink,
                 instance_id: str, **extra: str | int | float) -> dict[str, str]:
    values: dict[str, str | int | float] = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "RESLOT_NOTIFIER_DATABASE_URL": database_url,
        "RESLOT_HTTP_PORT": free_port(),
        "RESLOT_SMTP_PORT": smtp.port,
        "RESLOT_SMS_URL": sms.url,
        "RESLOT_QUIET_HOURS_START": 0,  # equal start and end: no quiet hours
        "RESLOT_QUIET_HOURS_END": 0,
        "RESLOT_EMAIL_RATE_PER_S": 500,
        "RESLOT_SMS_RATE_PER_S": 500,
        "RESLOT_SEND_BACKOFF_BASE_S": 0.05,
        "RESLOT_GRACEFUL_TIMEOUT_S": 5,
        "RESLOT_NOTIFIER_INSTANCE_ID": instance_id,
        "RESLOT_NOTIFIER_SWEEP_INTERVAL_S": 0.2,
        "RESLOT_NOTIFIER_SESSION_TIMEOUT_MS": 3000,
        "RESLOT_NOTIFIER_HEARTBEAT_INTERVAL_MS": 500,
    }
    return service_env(**{**values, **extra})


def command(*args: str, **env: str | int | float) -> subprocess.CompletedProcess[str]:
    """Run `reslot ARGS` (python -m services.cli) with `env` on a clean environment."""
    return subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=ROOT,
                          env=service_env(**env), capture_output=True, text=True, check=True,
                          timeout=300)


class Service:
    """One Reslot service as a child process; each start logs to a file of its own."""

    def __init__(self, name: str, command: str, env: dict[str, str], log_dir: Path) -> None:
        self.name, self.command, self.env, self.log_dir = name, command, env, log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []
        self.kills = 0
        self.started_at = 0.0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        assert not self.alive, f"{self.name} is already running"
        log = self.log_dir / f"{self.name}-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", self.command], cwd=ROOT, env=self.env,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.started_at = time.monotonic()

    def kill(self) -> None:
        """SIGKILL, by this process's own pid."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.kills += 1

    def terminate(self, timeout: float) -> tuple[int | None, float]:
        """SIGTERM; (exit code, seconds it took) or (None, timeout) if it did not exit."""
        assert self.process is not None
        began = time.monotonic()
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None, timeout
        return code, time.monotonic() - began

    def stop_if_running(self) -> None:
        if self.alive:
            self.kill()

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def current_log(self) -> str:
        """The log of the current (last) start."""
        return self.logs[-1].read_text(errors="replace") if self.logs else ""

    def tail(self, chars: int = 4000) -> str:
        return f"--- {self.name} ---\n" + self.log_text()[-chars:]
