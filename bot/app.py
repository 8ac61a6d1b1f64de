"""The Starlette application: channels, health, errors, and the lifespan that runs them.

The lifespan opens the runtime, starts every channel adapter, and, in
``minshi serve``, the background jobs (outbox delivery, the deadline
scheduler). Routes reach the runtime through the typed lifespan state
(``runtime_of(request)``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypedDict

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates
from starlette.types import Receive, Scope, Send

from common.delivery import DeliveryWorker
from common.jobs import JobRunner, LocalJobs, heartbeat

from .channels import ChannelAdapter, build_adapters
from .collector import keep_what_startup_built
from .config import Settings
from .console import Console
from .console.alerts import send_alerts
from .ops.health import Readiness, healthz, metrics, readyz
from .ops.loop_lag import watch_loop_lag
from .ops.requests import RequestContext
from .ops.retention import retention_job
from .runtime import Runtime, open_runtime, runtime_of
from .storage import ConsoleReads, StorageUnavailable

__all__ = ["create_app"]

_templates = Jinja2Templates(directory=str(Path(__file__).parent / "channels" / "templates"))
_BACKLOG_SECONDS = 5.0
_DEADLINE_SECONDS = 30.0
_ALERT_SECONDS = 60.0
_PASS_LIMIT = 600.0  # a job's pass that takes longer is stuck (/healthz says so)
# Telegram hands each update to one getUpdates caller: with several instances on one
# database only the instance holding this lock may poll (webhooks work on any).
POLLING_LOCK = "telegram-polling"
POLLING_REFUSED = (
    "another instance on this database already polls Telegram; with several instances "
    "use the webhook (MINSHI_TELEGRAM_WEBHOOK_SECRET and MINSHI_PUBLIC_URL)"
)
_JSON_PREFIXES = ("/api/", "/console/api/", "/telegram/", "/wechat")
_PAGE_ERRORS = {
    404: "页面不存在",
    405: "不支持这种访问方式",
    500: "服务出了点问题，请稍后再试",
}
_STORAGE_PROBLEMS = {
    "full": "磁盘已满",
    "read-only": "数据库文件只读",
    "io": "磁盘读写出错",
    "down": "数据库服务暂时连不上",
}
_RETRY_SECONDS = "30"


class State(TypedDict):
    runtime: Runtime
    jobs: list[JobRunner]  # for /healthz
    readiness: Readiness  # for /readyz
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


async def _storage_unavailable(request: Request, exc: Exception) -> Response:
    """Nothing of this request was stored: residents are asked to try again later, staff
    learn why; it works again by itself once the database takes writes."""
    assert isinstance(exc, StorageUnavailable)
    headers = {"Retry-After": _RETRY_SECONDS}
    if request.url.path.startswith(("/api/", "/telegram/", "/wechat")):
        text = runtime_of(request).engine.services.texts("unavailable")
        return JSONResponse({"error": text}, status_code=503, headers=headers)
    why = _STORAGE_PROBLEMS.get(exc.problem.value, exc.problem.value)
    title = f"数据库暂时无法保存（{why}），刚才的操作没有生效，请稍后再试"
    if _wants_json(request):
        return JSONResponse({"error": title}, status_code=503, headers=headers)
    return _error_page(request, 503, title)


def _error_page(request: Request, status: int, title: str | None = None) -> Response:
    title = title or _PAGE_ERRORS.get(status, "请求有误")
    html = _templates.get_template("error.html").render(status=status, title=title)
    return HTMLResponse(html, status_code=status)


async def _catch_up(rt: Runtime, stop: asyncio.Event) -> None:
    """Answer, in order, what residents sent over the flood limit once they slow down."""
    while not stop.is_set():
        heartbeat(within=_BACKLOG_SECONDS + _PASS_LIMIT)
        await rt.engine.catch_up()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _BACKLOG_SECONDS)


async def _deadlines(rt: Runtime, stop: asyncio.Event) -> None:
    """四级七天, follow-ups and archiving: a pass at start (whatever came due while the
    service was down), then one every ``_DEADLINE_SECONDS``."""
    while not stop.is_set():
        heartbeat(within=_DEADLINE_SECONDS + _PASS_LIMIT)
        await rt.cases.run_deadlines()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _DEADLINE_SECONDS)


async def _alerts(rt: Runtime, stop: asyncio.Event) -> None:
    """Mediators away from the console hear of new, urgent and nearly due cases."""
    reads = ConsoleReads(rt.db)
    while not stop.is_set():
        heartbeat(within=_ALERT_SECONDS + _PASS_LIMIT)
        await send_alerts(rt, reads)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _ALERT_SECONDS)


Endpoint = Callable[[Request], Awaitable[Response]]


class _App(Starlette):
    """Starlette, with the residents' own routes taken straight to their endpoints.

    Every resident message is a request to a channel's fixed path (``POST
    /api/chat/messages`` …). Starlette sends each request through its error
    middleware, its exception middleware, a search of the route list and two
    more wrappers, each a Python call or two and a send wrapper: about 3% of a
    message's instructions (benchmarks/README.md).
    Requests for a channel route without path parameters go to the endpoint
    directly, inside the same request context (id, timing); what they raise is
    answered by the app's own exception handlers, as Starlette would. Everything
    else (the console, pages, health, wrong methods) goes through Starlette.
    """

    def __init__(self, *, direct: dict[tuple[str, str], Endpoint], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._direct = direct
        self._direct_app = RequestContext(self._call_direct)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            endpoint = self._direct.get((scope["method"], scope["path"]))
            if endpoint is not None:
                scope["app"] = self
                scope["endpoint"] = endpoint
                await self._direct_app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def _call_direct(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response = await scope["endpoint"](request)
        except Exception as exc:
            handlers = self.exception_handlers
            handled = next(cls for cls in type(exc).__mro__ if cls in handlers)
            await (await handlers[handled](request, exc))(scope, receive, send)
            if handled is Exception:  # a bug: the server logs it, as after Starlette's 500
                raise
            return
        await response(scope, receive, send)


def _direct_routes(routes: Sequence[BaseRoute]) -> dict[tuple[str, str], Endpoint]:
    """(method, path) -> endpoint of the routes that have no path parameters."""
    return {
        (method, route.path): route.endpoint
        for route in routes
        if isinstance(route, Route) and not route.param_convertors and route.methods
        for method in route.methods
    }


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
            if any(getattr(channel, "polling", False) for channel in channels):
                await stack.enter_async_context(rt.exclusive(POLLING_LOCK, POLLING_REFUSED))
            for channel in channels:
                await channel.start(rt)
                stack.push_async_callback(channel.stop)
            # minshi serve (no runtime given) creates the demo accounts on a first start
            await console.start(rt, demo=runtime is None)
            senders = {channel.name: channel for channel in channels}
            worker = DeliveryWorker(
                rt.store,
                senders,
                rt.clock,
                notifier=rt.notifier,
                metrics=rt.metrics,
                lease=timedelta(seconds=settings.outbox_lease_seconds),
            )
            runners: list[JobRunner] = []
            if background:
                # Every instance delivers (entries are leased) and finishes its residents'
                # held-back messages; the others run on one instance at a time.
                jobs = LocalJobs()
                jobs.add("delivery", worker.run)
                jobs.add("dialog-backlog", partial(_catch_up, rt))
                jobs.add("event-loop-lag", partial(watch_loop_lag, rt.metrics))
                await jobs.start()
                stack.push_async_callback(jobs.stop)
                once = rt.single_instance_jobs()
                once.add("deadlines", partial(_deadlines, rt))
                once.add("mediator-alerts", partial(_alerts, rt))
                if settings.retention_days is not None:
                    once.add("retention", partial(retention_job, rt))
                await once.start()
                stack.push_async_callback(once.stop)
                runners += [jobs, once]
            if runtime is None:  # minshi serve: a process of its own
                keep_what_startup_built()
                if rt.warm_up is not None:  # the place index, when its thread is done
                    rt.warm_up.add_done_callback(lambda _: keep_what_startup_built())
            readiness = Readiness(ready=True)
            try:
                yield {"runtime": rt, "delivery": worker, "jobs": runners, "readiness": readiness}
            finally:
                readiness.ready = False  # shutting down: load balancers look elsewhere

    async def chat_page(request: Request) -> Response:
        return _templates.TemplateResponse(request, "chat.html", {})

    async def index(request: Request) -> Response:
        return RedirectResponse("/chat")

    channel_routes = [route for channel in channels for route in channel.routes()]
    routes = [
        # Residents' messages first: a request tries the routes in order.
        *channel_routes,
        Route("/", index),
        Route("/chat", chat_page),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        *console.routes(),
    ]
    return _App(
        direct=_direct_routes(channel_routes),
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(RequestContext)],  # request ids, request timing
        exception_handlers={
            HTTPException: _http_error,
            StorageUnavailable: _storage_unavailable,
            Exception: _server_error,
        },
    )
