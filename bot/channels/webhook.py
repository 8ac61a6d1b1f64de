"""Signed webhook calls to outside systems (a 12345 hotline, a county platform).

The case service queues each case event for every endpoint of the case's
center (``handoff._webhooks``); this adapter signs the stored body and POSTs
it. The receiver checks ``X-Minshi-Signature: sha256=<hex>``, the HMAC-SHA256
with the endpoint's secret over ``f"{timestamp}.{body}"``, where ``timestamp``
is ``X-Minshi-Timestamp`` (unix seconds). ``X-Minshi-Delivery`` is the same on
every retry and resend of one event, so a receiver can drop duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from common.clock import Clock, utc_now
from common.outbox import Delivered, DeliveryResult, OutboxEntry, RetryLater, Unreachable
from handoff import CenterDirectory
from handoff._webhooks import WEBHOOK_CHANNEL, webhook_endpoint

from .base import ChannelAdapter

if TYPE_CHECKING:
    from bot.runtime import Runtime

__all__ = ["WebhookChannel", "sign"]

log = logging.getLogger(__name__)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Minshi-Signature`` value for a body sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class WebhookChannel(ChannelAdapter):
    """Sends nothing unless a center in the directory lists ``webhooks``."""

    name = WEBHOOK_CHANNEL

    def __init__(
        self,
        directory: CenterDirectory | None = None,
        *,
        clock: Clock = utc_now,
        timeout: float = 10,
    ) -> None:
        self.directory = directory
        self.clock = clock
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def start(self, runtime: Runtime) -> None:
        self.directory = self.directory or runtime.centers
        self.clock = runtime.clock

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(self, entry: OutboxEntry) -> DeliveryResult:
        if self.directory is None:
            return RetryLater("webhook channel not started")
        endpoint = webhook_endpoint(self.directory, entry.destination.address)
        if endpoint is None:
            return Unreachable(f"no webhook {entry.destination.address} in the centers file")
        payload: Any = entry.body.get("webhook")
        if not isinstance(payload, dict):
            return Unreachable("outbox entry has no webhook payload")
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(self.clock().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "minshi-webhook/1",
            "X-Minshi-Event": str(payload.get("event", "")),
            "X-Minshi-Delivery": str(entry.id),
            "X-Minshi-Timestamp": timestamp,
            "X-Minshi-Signature": sign(endpoint.secret, timestamp, body),
        }
        try:
            response = await self._http().post(endpoint.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return RetryLater(f"{type(exc).__name__}: {exc}")
        status = response.status_code
        if 200 <= status < 300:
            return Delivered()
        if status == 429 or status >= 500 or status == 408:
            return RetryLater(f"HTTP {status}", _retry_after(response))
        return Unreachable(f"HTTP {status}")

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        return self._client


def _retry_after(response: httpx.Response) -> timedelta | None:
    value = response.headers.get("Retry-After", "")
    if value.strip().isdigit():
        return timedelta(seconds=int(value))
    return None
