"""SMS through an HTTP gateway: POST {to, text, id}, Idempotency-Key = the notification id."""

import json

from services.common.settings import Settings
from services.notifier.channels import Outbound
from services.notifier.channels.http import HttpError, HttpTimeout, KeepAliveClient
from services.notifier.domain.model import Failure
from services.notifier.domain.retry import http_failure, network_failure


class SmsSender:
    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout_s: float = 10.0,
        connections: int = 16,
    ) -> None:
        self._client = KeepAliveClient(url, connections=connections, timeout_s=timeout_s)
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "reslot-notifier",
        }
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def from_settings(
        cls, settings: Settings, timeout_s: float = 10.0, connections: int = 16
    ) -> "SmsSender":
        token = settings.sms_token.get_secret_value() if settings.sms_token else None
        return cls(settings.sms_url, token, timeout_s, connections)

    async def send(self, outbound: Outbound) -> Failure | None:
        notification_id = outbound.notification_id
        body = {"to": outbound.address, "text": outbound.message.sms, "id": notification_id}
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {**self._headers, "Idempotency-Key": notification_id}
        try:
            response = await self._client.post(payload, headers)
        except HttpTimeout:
            return network_failure("sms timeout")
        except HttpError as exc:
            return network_failure(f"sms {exc.kind}")
        return http_failure(response.status, response.headers.get("retry-after"))

    async def close(self) -> None:
        await self._client.close()
