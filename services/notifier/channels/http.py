"""A small HTTP/1.1 client for one endpoint: POST over a pool of keep-alive connections.

httpx costs about 2 ms of CPU per request; the gateway needs one request shape (a JSON POST)
and the status and Retry-After of its answer, which this does in a few tens of microseconds.
Connections are reused while the server keeps them open; a request that finds a reused
connection closed before any byte of the answer is sent again once on a new connection
(the gateway dedupes by Idempotency-Key, and no answer means nothing was decided).

Errors are named as httpx names them, since they end up in failure reasons:
ConnectError, WriteError, ReadError, RemoteProtocolError; any timeout is HttpTimeout.
"""

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

_MAX_LINE = 64 * 1024
_MAX_HEADERS = 100


class HttpError(Exception):
    """The request got no complete answer; `kind` says why, as httpx would."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class HttpTimeout(HttpError):
    def __init__(self) -> None:
        super().__init__("Timeout")


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.reusable = True

    @property
    def open(self) -> bool:
        return self.reusable and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.reusable = False
        self.writer.close()


class _NoAnswer(Exception):
    """The connection was closed before any byte of an answer arrived."""


class KeepAliveClient:
    def __init__(self, url: str, *, connections: int = 16, timeout_s: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self._tls = ssl.create_default_context() if parts.scheme == "https" else None
        self._host = parts.hostname
        self._port = parts.port or (443 if self._tls else 80)
        default_port = self._port == (443 if self._tls else 80)
        host_header = f"[{self._host}]" if ":" in self._host else self._host
        self._authority = host_header if default_port else f"{host_header}:{self._port}"
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout_s = timeout_s
        self._slots = asyncio.Semaphore(max(1, connections))
        self._idle: list[_Connection] = []
        self._closed = False

    async def post(self, body: bytes, headers: Mapping[str, str]) -> HttpResponse:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        if any("\r" in v or "\n" in v for v in (*headers, *headers.values())):
            raise HttpError("LocalProtocolError", "line break in a header")
        try:
            request = (
                f"POST {self._target} HTTP/1.1\r\nHost: {self._authority}\r\n{head}"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode("ascii") + body
        except UnicodeEncodeError:
            raise HttpError("LocalProtocolError", "header not ASCII") from None
        async with self._slots:
            try:
                async with asyncio.timeout(self._timeout_s):
                    return await self._exchange(request)
            except TimeoutError:
                raise HttpTimeout() from None

    async def _exchange(self, request: bytes) -> HttpResponse:
        while self._idle:
            connection = self._idle.pop()
            if not connection.open:
                connection.close()
                continue
            try:
                return await self._on(connection, request)
            except _NoAnswer:
                continue  # closed by the server while idle: the next, or a new one
        connection = await self._connect()
        try:
            return await self._on(connection, request)
        except _NoAnswer as exc:
            raise HttpError("RemoteProtocolError", "no answer") from exc

    async def _connect(self) -> _Connection:
        try:
            reader, writer = await asyncio.open_connection(
                self._host, self._port, ssl=self._tls, limit=_MAX_LINE
            )
        except OSError as exc:  # refused, unreachable, DNS, TLS handshake
            raise HttpError("ConnectError", type(exc).__name__) from exc
        return _Connection(reader, writer)

    async def _on(self, connection: _Connection, request: bytes) -> HttpResponse:
        try:
            try:
                connection.writer.write(request)
                await connection.writer.drain()
            except OSError as exc:
                raise _NoAnswer() from exc
            response = await _read_response(connection)
        except BaseException:
            connection.close()
            raise
        if connection.reusable and not self._closed:
            self._idle.append(connection)
        else:
            connection.close()
        return response

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


async def _read_response(connection: _Connection) -> HttpResponse:
    reader = connection.reader
    try:
        status_line = await reader.readline()
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        raise _NoAnswer() from exc
    except OSError as exc:
        raise HttpError("ReadError", type(exc).__name__) from exc
    if not status_line:
        raise _NoAnswer()
    try:
        while True:
            version, status = _status(status_line)
            headers = await _headers(reader)
            if not 100 <= status < 200 or status == 101:
                break
            status_line = await reader.readline()  # an interim answer (100 Continue): next
        body = await _body(reader, status, headers)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        raise HttpError("RemoteProtocolError", type(exc).__name__) from exc
    except OSError as exc:
        raise HttpError("ReadError", type(exc).__name__) from exc
    keep = headers.get("connection", "").lower()
    if keep == "close" or (version == "HTTP/1.0" and keep != "keep-alive"):
        connection.reusable = False
    if "content-length" not in headers and "chunked" not in headers.get("transfer-encoding", ""):
        connection.reusable = False  # read until closed
    return HttpResponse(status, headers, body)


def _status(line: bytes) -> tuple[str, int]:
    version, _, rest = line.decode("latin-1").strip().partition(" ")
    if not version.startswith("HTTP/1."):
        raise ValueError("not an HTTP/1.x answer")
    return version, int(rest[:3])


async def _headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS):
        line = await reader.readline()
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise asyncio.IncompleteReadError(b"", None)
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ValueError("malformed header line")
        headers[name.strip().lower()] = value.strip()
    raise ValueError("too many header lines")


async def _body(reader: asyncio.StreamReader, status: int, headers: Mapping[str, str]) -> bytes:
    if status in (204, 304):
        return b""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = []
        while size := int((await reader.readline()).split(b";")[0].strip(), 16):
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    return await reader.read()
