"""The console as one part of the app: its routes, its start, who is asking.

``Console`` is built with the app, started in the lifespan (the session
key comes from the database, so sessions survive a restart; ``minshi
serve`` creates the demo accounts on a first start) and serves the pages
(``pages.py``) and the JSON API (``api.py``).
"""

from __future__ import annotations

import mimetypes
import re
import secrets
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute
from starlette.templating import Jinja2Templates

from bot.runtime import Runtime, runtime_of
from bot.storage import ConsoleReads
from common.outbox import Destination
from handoff import Case, case_topic, center_topic

from .access import ROLE_LABELS, CaseAccess, Staff, case_access, staff_for
from .actions import ActionError, visible_case
from .demo import create_demo_accounts, demo_notice
from .live import event_stream
from .sessions import COOKIE, SESSION_HOURS, Login, Sessions
from .views import Views

__all__ = ["Console", "NotLoggedIn"]

_KEY = "console-session-key"
_LOCAL_REF = re.compile(r"[0-9a-f]{64}\.[a-z0-9]{2,5}")
_MEDIA_TYPES = {
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".webm": "audio/webm",
    ".ogg": "audio/ogg",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".amr": "audio/amr",
}


class NotLoggedIn(Exception):
    pass


class Console:
    def __init__(self) -> None:
        self.templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
        self.templates.env.globals["role_labels"] = ROLE_LABELS
        self._sessions: Sessions | None = None
        self._views: Views | None = None

    async def start(self, rt: Runtime, *, demo: bool = False) -> None:
        key = await rt.store.service_secret(_KEY, secrets.token_urlsafe(32), rt.clock())
        self._sessions = Sessions(rt.accounts, key.encode(), rt.clock)
        self._views = Views(rt, ConsoleReads(rt.db))
        if demo:
            base = f"http://{rt.settings.host}:{rt.settings.port}"
            created = await create_demo_accounts(rt)
            print(demo_notice(created, base) if created else f"调解台：{base}/console", flush=True)

    def routes(self) -> list[BaseRoute]:
        from .api import Api
        from .pages import Pages

        return [*Pages(self).routes(), *Api(self).routes()]

    @property
    def sessions(self) -> Sessions:
        if self._sessions is None:
            raise RuntimeError("the console serves requests only after start()")
        return self._sessions

    @property
    def views(self) -> Views:
        if self._views is None:
            raise RuntimeError("the console serves requests only after start()")
        return self._views

    # -- who is asking ----------------------------------------------------------------

    async def login_of(self, request: Request) -> Login | None:
        return await self.sessions.current(request.cookies.get(COOKIE))

    async def staff_of(self, request: Request) -> tuple[Staff, Login]:
        login = await self.login_of(request)
        if login is None:
            raise NotLoggedIn
        return staff_for(login.account, runtime_of(request).centers), login

    def require_csrf(self, request: Request, login: Login, fields: dict[str, Any]) -> None:
        submitted = request.headers.get("x-csrf-token") or fields.get("csrf")
        if not Sessions.csrf_ok(login, submitted if isinstance(submitted, str) else None):
            raise ActionError(403, "页面已过期或请求不完整（CSRF），请刷新页面再试")

    def set_session_cookie(self, request: Request, response: Response, login: Login) -> None:
        response.set_cookie(
            COOKIE,
            self.sessions.cookie_value(login.session_id),
            max_age=SESSION_HOURS * 3600,
            path="/console",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )

    @staticmethod
    def clear_session_cookie(response: Response) -> None:
        response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="lax")

    # -- shared by pages and API ---------------------------------------------------------

    def queue_center(self, staff: Staff, request: Request) -> str:
        """The center whose queue is asked for: one's own; an admin may pick any."""
        if not staff.works_cases:
            raise ActionError(403, "领导账号只能看统计")
        wanted = request.query_params.get("center", "").strip()
        if not wanted or wanted == staff.center_id:
            return staff.center_id
        if not staff.is_admin:
            raise ActionError(403, "只能看本中心的事项")
        if runtime_of(request).centers.center(wanted) is None:
            raise ActionError(404, "没有这个综治中心")
        return wanted

    async def case_for(self, request: Request, staff: Staff, number: str) -> Case:
        if not staff.works_cases:
            raise ActionError(403, "领导账号只能看统计")
        case, _ = await visible_case(runtime_of(request), staff, number)
        return case

    def queue_events(self, request: Request, login: Login, center_id: str) -> Response:
        rt = runtime_of(request)

        async def look() -> tuple[Hashable, bool] | None:
            return ("live", False) if await self.sessions.still_live(login) else None

        return event_stream(rt.notifier, [center_topic(center_id)], look)

    def case_events(self, request: Request, login: Login, staff: Staff, case: Case) -> Response:
        rt = runtime_of(request)
        topics = [case_topic(case.id), Destination(case.channel, case.user_id).topic]

        async def look() -> tuple[Hashable, bool] | None:
            if not await self.sessions.still_live(login):
                return None
            latest = await rt.store.case_by_id(case.id)
            if latest is None or case_access(staff, latest, rt.clock()) is CaseAccess.NONE:
                return None
            messages = await rt.store.case_messages(case.id)
            ids = [m.outbox_id for m in messages if m.outbox_id is not None]
            entries = await self.views.reads.outbox_entries(ids)
            states = tuple(sorted((i, e.state.value) for i, e in entries.items()))
            busy = any(state in ("pending", "retrying") for _, state in states)
            return (latest.status, latest.assignee, latest.center_id, states), busy

        return event_stream(rt.notifier, topics, look)

    async def case_file(self, request: Request, staff: Staff, case: Case, ref: str) -> Response:
        """A photo or recording of this case, only to those who may see the case."""
        rt = runtime_of(request)
        if ref not in await self._case_refs(rt, case):
            raise ActionError(404, "这件事没有这个文件")
        local = ref if _LOCAL_REF.fullmatch(ref) else await rt.store.local_file(case.channel, ref)
        if not local or not _LOCAL_REF.fullmatch(local):
            raise ActionError(404, "文件还没有从平台取回，请稍后再看")
        path = rt.settings.attachments_dir / local
        if not path.is_file():
            raise ActionError(404, "文件不见了")
        suffix = path.suffix.lower()
        media = _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0]
        return FileResponse(
            path,
            media_type=media or "application/octet-stream",
            headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    @staticmethod
    async def _case_refs(rt: Runtime, case: Case) -> set[str]:
        refs = {
            str(a.get("ref"))
            for m in await rt.store.case_messages(case.id)
            for a in m.attachments
            if a.get("ref")
        }
        if case.transcript_from is not None:
            for stored in await rt.store.transcript(
                case.channel, case.user_id, case.transcript_from
            ):
                if stored.direction == "in":
                    refs.update(
                        str(a.get("ref"))
                        for a in stored.body.get("attachments") or ()
                        if a.get("ref")
                    )
        return refs
