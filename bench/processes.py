"""Every broker and child process the bench starts, so each is stopped by its pid at the end."""

import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from services.common.local_broker import LocalBroker, start_broker

_brokers: list[LocalBroker] = []
_children: list[subprocess.Popen[bytes]] = []


def new_broker() -> LocalBroker:
    """A fresh local broker (Tansu, in memory), remembered for `stop_all`."""
    broker = start_broker()
    _brokers.append(broker)
    return broker


def spawn(args: Sequence[str], env: dict[str, str], log: Path,
          cwd: Path) -> subprocess.Popen[bytes]:
    out: IO[bytes] = log.open("wb")
    child = subprocess.Popen(list(args), env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
    out.close()  # the child holds its own descriptor
    _children.append(child)
    return child


def terminate(child: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    """SIGTERM by pid, SIGKILL if it lingers; the exit code."""
    if child.poll() is None:
        os.kill(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
    return child.returncode


def stop_broker(broker: LocalBroker) -> None:
    broker.stop()


def stop_all() -> None:
    """Whatever is still running, children first, then brokers; each by its own pid."""
    for child in _children:
        terminate(child, timeout=10.0)
    for broker in _brokers:
        broker.stop()
