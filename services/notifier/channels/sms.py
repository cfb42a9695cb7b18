"""SMS through an HTTP gateway (httpx): POST {to, text, id} as JSON, Idempotency-Key = the
notification id, so an SMS sent again after a crash is recognised by the gateway.

One `httpx.AsyncClient` per sender: a pool of keep-alive connections (a connection the
gateway closed while idle is noticed and replaced by the pool), a timeout on connecting,
writing and reading. Requests wait for a connection here, not in the pool: httpcore looks
at every waiting request each time a connection frees up, which costs more than the send.
"""

import asyncio
from urllib.parse import urlsplit

import httpx

from services.common.settings import Settings
from services.notifier.channels import Outbound
from services.notifier.domain.model import Failure
from services.notifier.domain.retry import http_failure, network_failure


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
        self._url = url
        self._connections = asyncio.Semaphore(max(1, connections))
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, pool=None),
            limits=httpx.Limits(max_connections=connections,
                                max_keepalive_connections=connections),
            follow_redirects=False,
            trust_env=False,  # the gateway is the configured URL, never a proxy from the env
        )

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
                response = await self._client.post(
                    self._url, json=body, headers={"Idempotency-Key": notification_id}
                )
        except httpx.TimeoutException:
            return network_failure("sms timeout")
        except httpx.TransportError as exc:  # ConnectError, ReadError, RemoteProtocolError, ...
            return network_failure(f"sms {type(exc).__name__}")
        return http_failure(response.status_code, response.headers.get("retry-after"))

    async def close(self) -> None:
        await self._client.aclose()
