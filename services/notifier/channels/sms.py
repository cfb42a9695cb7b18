"""SMS through an HTTP gateway: POST {to, text, id}, Idempotency-Key = the notification id."""

import httpx

from services.common.settings import Settings
from services.notifier.channels import Outbound
from services.notifier.domain.model import Failure
from services.notifier.domain.retry import http_failure, network_failure


class SmsSender:
    def __init__(self, url: str, token: str | None = None, timeout_s: float = 10.0) -> None:
        self._url = url
        self._token = token
        self._client = httpx.AsyncClient(timeout=timeout_s)

    @classmethod
    def from_settings(cls, settings: Settings, timeout_s: float = 10.0) -> "SmsSender":
        token = settings.sms_token.get_secret_value() if settings.sms_token else None
        return cls(settings.sms_url, token, timeout_s)

    async def send(self, outbound: Outbound) -> Failure | None:
        headers = {"Idempotency-Key": outbound.notification_id}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = {
            "to": outbound.address,
            "text": outbound.message.sms,
            "id": outbound.notification_id,
        }
        try:
            response = await self._client.post(self._url, json=body, headers=headers)
        except httpx.TimeoutException:
            return network_failure("sms timeout")
        except httpx.TransportError as exc:
            return network_failure(f"sms {type(exc).__name__}")
        return http_failure(response.status_code, response.headers.get("Retry-After"))

    async def close(self) -> None:
        await self._client.aclose()
