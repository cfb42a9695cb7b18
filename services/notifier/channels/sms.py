"""SMS through an HTTP gateway (httpx): POST {to, text, id} as JSON, Idempotency-Key = the
notification id, so an SMS sent again after a crash is recognised by the gateway.

`connections` keep-alive connections, each the pool of an `httpx.AsyncClient` of its own (a
connection the gateway closed while idle is noticed and replaced by its pool), a timeout on
connecting, writing and reading. Requests wait for a free client here, not in a pool: on
every request and every response httpcore's pool looks at each of its connections (is it
idle, expired, readable: a system call each) and at every waiting request, so one pool of 8
connections cost more CPU than the send itself (1.5 ms an SMS, 0.85 ms as 8 pools of one).

The whole exchange has one deadline (httpx's timeouts are per read: a gateway that drips a
byte every half second held a send for ever), and at most MAX_BODY bytes of the answer are
read: the status and Retry-After say all, and a 300 MB body was read into memory whole.
"""

import asyncio
from urllib.parse import urlsplit

import httpx

from services.common.settings import Settings
from services.notifier.channels import Outbound
from services.notifier.domain.model import Failure
from services.notifier.domain.retry import http_failure, network_failure

MAX_BODY = 64 * 1024  # read past this, the connection is closed rather than kept


class SmsSender:
    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout_s: float = 10.0,
        connections: int = 8,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        headers = {"Accept": "application/json", "User-Agent": "reslot-notifier"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._url = httpx.URL(url)  # parsed once
        self._timeout_s = timeout_s
        self._connections = asyncio.Semaphore(max(1, connections))
        tls = httpx.create_ssl_context()  # loaded once (CA certificates), not once a client
        self._clients = [
            httpx.AsyncClient(
                headers=headers,
                timeout=httpx.Timeout(timeout_s, pool=None),
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                verify=tls,
                follow_redirects=False,
                trust_env=False,  # the gateway is the configured URL, never a proxy from the env
            )
            for _ in range(max(1, connections))
        ]
        self._idle = list(self._clients)  # one for each place of the semaphore

    @classmethod
    def from_settings(
        cls, settings: Settings, timeout_s: float = 10.0, connections: int = 8
    ) -> "SmsSender":
        token = settings.sms_token.get_secret_value() if settings.sms_token else None
        return cls(settings.sms_url, token, timeout_s, connections)

    async def send(self, outbound: Outbound) -> Failure | None:
        notification_id = outbound.notification_id
        body = {"to": outbound.address, "text": outbound.message.sms, "id": notification_id}
        try:
            async with self._connections:
                client = self._idle.pop()  # the last used: its connection is the likeliest open
                try:
                    async with asyncio.timeout(self._timeout_s):
                        status, retry_after = await self._post(client, body, notification_id)
                finally:
                    self._idle.append(client)
        except (httpx.TimeoutException, TimeoutError):
            return network_failure("sms timeout")
        except httpx.TransportError as exc:  # ConnectError, ReadError, RemoteProtocolError, ...
            return network_failure(f"sms {type(exc).__name__}")
        return http_failure(status, retry_after)

    async def _post(self, client: httpx.AsyncClient, body: dict[str, str],
                    notification_id: str) -> tuple[int, str | None]:
        """The status and Retry-After of the gateway's answer; its body read to the end
        when small (the connection is kept), else left (the connection is closed)."""
        async with client.stream("POST", self._url, json=body,
                                 headers={"Idempotency-Key": notification_id}) as response:
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read > MAX_BODY:
                    break
            return response.status_code, response.headers.get("retry-after")

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()
