"""The real `reslot` command when it cannot start: one line on stderr and exit code 2, no
traceback, no password; and `reslot broker`, stopped by SIGTERM, stops its broker too."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "RESLOT_"))}
    return subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=ROOT,
                          env={**clean, **env}, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("command", "env", "said"), [
    ("scheduler", {"RESLOT_PARTITIONS": "abc"}, "invalid settings: RESLOT_PARTITIONS"),
    ("notifier", {"RESLOT_LOG_LEVEL": "verbose"}, "invalid settings: RESLOT_LOG_LEVEL"),
    ("scheduler", {"RESLOT_DATABASE_URL": "postgres://reslot:S3cretPw@127.0.0.1/reslot"},
     "RESLOT_DATABASE_URL postgres://127.0.0.1/reslot is not one we can use"),
    ("scheduler", {"RESLOT_COMMITMENT_WINDOWS": "01-01..13-01"},
     "invalid settings: RESLOT_COMMITMENT_WINDOWS: commitment window"),
    ("scheduler", {"RESLOT_RETAIN_PAST_DAYS": "3", "RESLOT_LINK_DAYS_AFTER_SLOT": "3"},
     "invalid settings: RESLOT_RETAIN_PAST_DAYS: must be more than"),
    ("scheduler", {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
     "cannot reach the Kafka broker at 127.0.0.1:1"),
])
def test_a_command_that_cannot_start_says_why_in_one_line(
        tmp_path: Path, command: str, env: dict[str, str], said: str) -> None:
    env = {"RESLOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", **env}
    done = run(command, **env)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "S3cretPw" not in done.stderr
    [line] = [x for x in done.stderr.splitlines() if x.startswith(f"reslot {command}: ")]
    assert said in line


def test_reslot_broker_stopped_by_sigterm_stops_its_broker() -> None:
    broker = subprocess.Popen([sys.executable, "-m", "services.cli", "broker", "--port", "0"],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert broker.stdout is not None
        found = re.search(r"\(pid (\d+)\)", broker.stdout.readline())
        assert found, "the broker's pid is printed"
        child = int(found.group(1))
        os.kill(child, 0)  # running
        broker.send_signal(signal.SIGTERM)
        assert broker.wait(30) == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(child, signal.SIGKILL)
        pytest.fail("the broker outlived `reslot broker`")
    finally:
        if broker.poll() is None:
            broker.kill()
