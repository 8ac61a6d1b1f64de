"""The Starlette application: channels, health, errors, and the lifespan that runs them.

The lifespan opens the runtime, starts every channel adapter, and, in
``minshi serve``, the background jobs (outbox delivery, the deadline
scheduler). Routes reach the runtime through the typed lifespan state
(``runtime_of(request)``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TypedDict

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from common.delivery import DeliveryWorker
from common.jobs import LocalJobs

from .channels import ChannelAdapter, build_adapters
from .config import Settings
from .console import Console
from .console.alerts import send_alerts
from .runtime import Runtime, open_runtime, runtime_of
from .storage import ConsoleReads

__all__ = ["create_app"]

_templates = Jinja2Templates(directory=str(Path(__file__).parent / "channels" / "templates"))
_BACKLOG_SECONDS = 5.0
_DEADLINE_SECONDS = 30.0
_ALERT_SECONDS = 60.0
_JSON_PREFIXES = ("/api/", "/console/api/", "/telegram/", "/wechat")
_PAGE_ERRORS = {
    404: "页面不存在",
    405: "不支持这种访问方式",
    500: "服务出了点问题，请稍后再试",
}


class State(TypedDict):
    runtime: Runtime
    delivery: DeliveryWorker


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(_JSON_PREFIXES)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if _wants_json(request):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    return _error_page(request, exc.status_code)


async def _server_error(request: Request, exc: Exception) -> Response:
    # Starlette re-raises the exception after this response, so the server logs it.
    if _wants_json(request):
        return JSONResponse({"error": "internal error"}, status_code=500)
    return _error_page(request, 500)


def _error_page(request: Request, status: int) -> Response:
    title = _PAGE_ERRORS.get(status, "请求有误")
    html = _templates.get_template("error.html").render(status=status, title=title)
    return HTMLResponse(html, status_code=status)


async def _catch_up(rt: Runtime, stop: asyncio.Event) -> None:
    """Answer, in order, what residents sent over the flood limit once they slow down."""
    while not stop.is_set():
        await rt.engine.catch_up()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _BACKLOG_SECONDS)


async def _deadlines(rt: Runtime, stop: asyncio.Event) -> None:
    """四级七天, follow-ups and archiving: a pass at start (whatever came due while the
    service was down), then one every ``_DEADLINE_SECONDS``."""
    while not stop.is_set():
        await rt.cases.run_deadlines()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _DEADLINE_SECONDS)


async def _alerts(rt: Runtime, stop: asyncio.Event) -> None:
    """Mediators away from the console hear of new, urgent and nearly due cases."""
    reads = ConsoleReads(rt.db)
    while not stop.is_set():
        await send_alerts(rt, reads)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _ALERT_SECONDS)


def create_app(
    settings: Settings,
    runtime: Runtime | None = None,
    *,
    background: bool = True,
    adapters: Sequence[ChannelAdapter] | None = None,
) -> Starlette:
    """The ASGI app. It opens its own runtime unless one is given (tests);
    ``background`` runs the delivery worker (``minshi serve``)."""
    channels = list(adapters) if adapters is not None else build_adapters(settings)
    console = Console()  # the mediator console: /console and /console/api

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        async with AsyncExitStack() as stack:
            rt = (
                runtime
                if runtime is not None
                else await stack.enter_async_context(open_runtime(settings))
            )
            for channel in channels:
                await channel.start(rt)
                stack.push_async_callback(channel.stop)
            # minshi serve (no runtime given) creates the demo accounts on a first start
            await console.start(rt, demo=runtime is None)
            senders = {channel.name: channel for channel in channels}
            worker = DeliveryWorker(rt.store, senders, rt.clock, notifier=rt.notifier)
            if background:
                jobs = LocalJobs()
                jobs.add("delivery", worker.run)
                jobs.add("dialog-backlog", partial(_catch_up, rt))
                jobs.add("deadlines", partial(_deadlines, rt))
                jobs.add("mediator-alerts", partial(_alerts, rt))
                await jobs.start()
                stack.push_async_callback(jobs.stop)
            yield {"runtime": rt, "delivery": worker}

    async def chat_page(request: Request) -> Response:
        return _templates.TemplateResponse(request, "chat.html", {})

    async def healthz(request: Request) -> Response:
        rt = runtime_of(request)
        try:
            await rt.db.fetchone("SELECT 1")
            database = "ok"
        except Exception as exc:
            database = f"error: {exc}"
        body = {
            "status": "ok" if database == "ok" else "degraded",
            "database": database,
            "faq_entries": len(rt.faq.entries),
            "faq_version": rt.faq.version,
        }
        return JSONResponse(body, status_code=200 if database == "ok" else 503)

    async def index(request: Request) -> Response:
        return RedirectResponse("/chat")

    routes = [
        Route("/", index),
        Route("/chat", chat_page),
        Route("/healthz", healthz),
        *(route for channel in channels for route in channel.routes()),
        *console.routes(),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
