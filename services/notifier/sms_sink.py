"""A tiny SMS gateway (asyncio HTTP/1.1, stdlib only) on 127.0.0.1 and a free port.

POST /sms with JSON {to, text, id} and an `Idempotency-Key` header. Like a real gateway it
accepts a key once: a repeated key is answered 200 again without a second message. A script
per number (`script[to] = [503, 503]`) answers those statuses first, to exercise retries.

    python -m services.notifier.sms_sink [--port 8025]
"""

import argparse
import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field
from http import HTTPStatus


@dataclass(frozen=True)
class ReceivedSms:
    to: str
    text: str
    id: str
    idempotency_key: str
    authorization: str | None


@dataclass
class SmsSink:
    delay_s: float = 0.0
    token: str | None = None  # when set, requests must carry `Authorization: Bearer <token>`
    path: str = "/sms"
    script: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    requests: list[ReceivedSms] = field(default_factory=list)  # every POST, answered or not
    messages: list[ReceivedSms] = field(default_factory=list)  # accepted, once per key
    duplicates: int = 0  # repeated keys answered without a new message
    port: int = 0
    connections: int = 0  # connections opened by clients so far
    _accepted: set[str] = field(default_factory=set)  # idempotency keys of `messages`
    _server: asyncio.Server | None = None
    _clients: set[asyncio.StreamWriter] = field(default_factory=set)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    async def start(self, port: int = 0) -> "SmsSink":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    def drop_connections(self) -> None:
        """Close every open connection from the server's side (an idle keep-alive timeout)."""
        for writer in list(self._clients):
            writer.close()

    async def wait_for(self, count: int) -> None:
        """Until `count` messages were accepted (wrap it in asyncio.timeout)."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.messages) >= count)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._clients.add(writer)
        try:
            while await self._one_request(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away: nothing to answer
        finally:
            self._clients.discard(writer)
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        request_line = await reader.readline()
        if not request_line:
            return False
        method, target, _ = request_line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        status, answer = await self._answer(method, target, headers, body)
        payload = json.dumps(answer).encode()
        writer.write(
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        await writer.drain()
        return headers.get("connection", "").lower() != "close"

    async def _answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, object]]:
        if method != "POST" or target != self.path:
            return 404, {"error": "not found"}
        if self.token and headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": "unauthorized"}
        try:
            data = json.loads(body)
            sms = ReceivedSms(
                to=str(data["to"]),
                text=str(data["text"]),
                id=str(data["id"]),
                idempotency_key=headers["idempotency-key"],
                authorization=headers.get("authorization"),
            )
        except (ValueError, KeyError, TypeError):
            return 400, {"error": "bad request"}
        self.requests.append(sms)
        if sms.idempotency_key in self._accepted:
            self.duplicates += 1
            return 200, {"id": sms.id, "duplicate": True}
        if self.script.get(sms.to):
            return self.script[sms.to].pop(0), {"error": "scripted"}
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        async with self._changed:
            self.messages.append(sms)
            self._accepted.add(sms.idempotency_key)
            self._changed.notify_all()
        return 200, {"id": sms.id}


async def _main(port: int) -> None:
    sink = await SmsSink().start(port)
    print(f"SMS sink on {sink.url}", flush=True)
    seen = 0
    while True:
        await asyncio.sleep(0.5)
        for sms in sink.messages[seen:]:
            print(f"{sms.id}: {sms.text}", flush=True)
        seen = len(sink.messages)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8025)
    asyncio.run(_main(parser.parse_args().port))
