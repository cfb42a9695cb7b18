"""A TCP proxy on loopback that breaks the path to the broker on demand, for tests.

    proxy = await FaultProxy(target_port).start()
    proxy.latency_s = 0.03          # added to every chunk, each way, order kept
    proxy.reset_all()               # every open connection dies with a TCP RST
    await proxy.blackout(8.0)       # resets, then refuses every connection for 8 s

Kafka clients connect to the address the broker *advertises* in its metadata, not to the
bootstrap address, so a plain proxy in front of a broker is bypassed after the first
request. `broker_behind_proxy` therefore starts a Tansu of its own that listens on one port
and advertises the proxy's: every client, whatever its bootstrap, goes through the proxy.
"""

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from services.common.local_broker import LocalBroker, start_broker

CHUNK = 64 * 1024


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), the way a crashed peer or a middlebox does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass(eq=False)
class _Link:
    """One client connection and its connection to the target."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        _abort(self.client)
        if self.upstream is not None:
            _abort(self.upstream)
        for task in self.tasks:
            task.cancel()


@dataclass
class FaultProxy:
    target_port: int
    port: int = 0
    latency_s: float = 0.0
    accepted: int = 0  # connections forwarded
    resets: int = 0  # connections aborted with RST by reset_all / blackout
    refused: int = 0  # connections reset at once during a blackout
    bytes_forwarded: int = 0
    _refusing: bool = False
    _links: set[_Link] = field(default_factory=set)
    _server: asyncio.Server | None = None

    async def start(self) -> "FaultProxy":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        self.reset_all(count=False)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def reset_all(self, count: bool = True) -> int:
        """Abort every open connection with a RST; the number aborted."""
        links = list(self._links)
        for link in links:
            link.abort()
        self._links.clear()
        if count:
            self.resets += len(links)
        return len(links)

    async def blackout(self, seconds: float) -> None:
        """The broker is unreachable for `seconds`: open connections die, new ones are reset."""
        self._refusing = True
        try:
            self.reset_all()
            await asyncio.sleep(seconds)
        finally:
            self._refusing = False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            self.refused += 1
            _abort(writer)
            return
        link = _Link(writer)
        self._links.add(link)
        try:
            up_reader, link.upstream = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            self._links.discard(link)
            _abort(writer)
            return
        self.accepted += 1
        link.tasks = [
            asyncio.create_task(self._pump(reader, link.upstream)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        try:
            await asyncio.wait(link.tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            link.abort()
            self._links.discard(link)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy one direction; with latency, each chunk leaves `latency_s` after it came."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    return
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(chunk)
                await writer.drain()
                self.bytes_forwarded += len(chunk)

        sender = asyncio.create_task(deliver())
        try:
            while chunk := await reader.read(CHUNK):
                queue.put_nowait((time.monotonic() + self.latency_s, chunk))
                if sender.done():
                    break
            queue.put_nowait((0.0, b""))
            await sender
        except (ConnectionError, OSError):
            pass
        finally:
            sender.cancel()


@contextlib.asynccontextmanager
async def broker_behind_proxy() -> AsyncIterator[tuple[FaultProxy, LocalBroker]]:
    """A proxy and a broker that advertises it; clients bootstrap at `proxy.address`."""
    proxy = FaultProxy(0)
    await proxy.start()  # bound first: its port is what the broker advertises
    broker = start_broker(advertised_port=proxy.port, quiet=True)
    proxy.target_port = broker.port
    try:
        yield proxy, broker
    finally:
        await proxy.stop()
        broker.stop()
