"""A channel's routes answer as every route of the app does, though they skip its
routing layers: errors become the same responses, a bug is logged, a wrong method
is refused, and each answer carries its request id and is timed."""

from __future__ import annotations

import httpx
import pytest
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels import ChannelAdapter
from bot.channels.web import WebChannel
from bot.config import Settings
from common.outbox import DeliveryResult, OutboxEntry
from common.unavailable import StorageProblem, StorageUnavailable
from tests.support import Clock, run_service

from .test_metrics import scrape, value


class Shaky(ChannelAdapter):
    """A platform's webhook that fails in every way an endpoint can."""

    name = "shaky"

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/shaky/ok", self.ok, methods=["POST"]),
            Route("/api/shaky/refused", self.refused, methods=["POST"]),
            Route("/api/shaky/disk-full", self.disk_full, methods=["POST"]),
            Route("/api/shaky/bug", self.bug, methods=["POST"]),
        ]

    async def ok(self, request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def refused(self, request: Request) -> Response:
        raise HTTPException(418, "not a teapot's business")

    async def disk_full(self, request: Request) -> Response:
        raise StorageUnavailable(StorageProblem.FULL, "no space left on device")

    async def bug(self, request: Request) -> Response:
        raise RuntimeError("a bug in the adapter")

    async def send(self, entry: OutboxEntry) -> DeliveryResult:
        raise AssertionError("nothing is sent here")


async def test_a_channel_route_answers_errors_like_any_route(
    settings: Settings, clock: Clock, capfd: pytest.CaptureFixture[str]
) -> None:
    async with (
        run_service(settings, clock, adapters=[WebChannel(), Shaky()], background=False) as svc,
        httpx.AsyncClient(base_url=svc.base_url, trust_env=False) as client,
    ):
        ok = await client.post("/api/shaky/ok", headers={"X-Request-ID": "req-7"})
        assert ok.status_code == 200 and ok.json() == {"ok": True}
        assert ok.headers["X-Request-ID"] == "req-7"

        refused = await client.post("/api/shaky/refused")
        assert refused.status_code == 418
        assert refused.json() == {"error": "not a teapot's business"}
        assert len(refused.headers["X-Request-ID"]) == 32

        full = await client.post("/api/shaky/disk-full")
        assert full.status_code == 503 and full.headers["Retry-After"] == "30"
        assert "再发一次" in full.json()["error"]  # the resident is asked to send it again

        bug = await client.post("/api/shaky/bug")
        assert bug.status_code == 500 and bug.json() == {"error": "internal error"}
        assert "RuntimeError: a bug in the adapter" in capfd.readouterr().err  # logged

        wrong_method = await client.get("/api/shaky/ok")
        assert wrong_method.status_code == 405 and "error" in wrong_method.json()

        samples = await scrape(svc)
    assert value(samples, "minshi_http_request_seconds_count", channel="other", status="2xx") == 1
    assert value(samples, "minshi_http_request_seconds_count", channel="other", status="4xx") == 2
    assert value(samples, "minshi_http_request_seconds_count", channel="other", status="5xx") == 2
