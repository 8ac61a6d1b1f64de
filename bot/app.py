"""The Starlette application: resident web chat, its API, and health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from .channels.web import WebChannel, web_routes
from .config import Settings
from .runtime import Runtime, open_runtime

__all__ = ["create_app"]

_templates = Jinja2Templates(directory=str(Path(__file__).parent / "channels" / "templates"))


def create_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    """The ASGI app; it opens its own runtime unless one is given (tests, CLI)."""
    state: dict[str, Runtime] = {}
    web = WebChannel()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if runtime is not None:
            state["rt"] = runtime
            runtime.dispatcher.register(web)
            yield
            return
        async with open_runtime(settings) as rt:
            state["rt"] = rt
            rt.dispatcher.register(web)
            yield

    async def chat_page(request: Request) -> Response:
        return _templates.TemplateResponse(request, "chat.html", {})

    async def healthz(request: Request) -> Response:
        rt = state["rt"]
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
        *web_routes(lambda: state["rt"], web),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
