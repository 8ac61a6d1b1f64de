"""The console's JSON API under /console/api: the same actions as the pages.

Log in with ``POST /console/api/login``: the answer sets the session cookie
and carries the CSRF token; every later state-changing request sends the
cookie and the token in ``X-CSRF-Token``. Errors are ``{"error": …}`` with
401 (not logged in), 403 (bad CSRF token or a role that may not), 404 (no
such case, or not yours), 409 (someone acted first: ``holder`` names who
holds the case), 429 (too many failed logins: see ``Retry-After``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.runtime import runtime_of

from .access import Staff, staff_for
from .actions import ActionError, run_action, visible_case, walk_in
from .bodies import read_fields
from .deliveries import deliveries
from .faq_tools import misses, reload_state, require_faq_tools, try_question
from .linking import CODE_MINUTES, new_link_code
from .sessions import BadLogin, Login, Throttled
from .site import Console, NotLoggedIn
from .staffing import account_json, add_account, change_account, counts, listed_accounts
from .stats import stats as period_stats
from .trends import trends as area_trends

__all__ = ["Api"]

_PLACE_LIMIT = 8


def _api(handler: Callable[[Any, Request], Awaitable[Response]]) -> Any:
    @wraps(handler)
    async def run(self: Api, request: Request) -> Response:
        try:
            return await handler(self, request)
        except NotLoggedIn:
            return JSONResponse({"error": "not logged in: POST /console/api/login"}, 401)
        except ActionError as exc:
            return JSONResponse({"error": exc.message, **exc.extra}, exc.status)

    return run


class Api:
    def __init__(self, console: Console) -> None:
        self.c = console

    def routes(self) -> list[BaseRoute]:
        prefix = "/console/api"
        return [
            Route(f"{prefix}/login", self.login, methods=["POST"]),
            Route(f"{prefix}/logout", self.logout, methods=["POST"]),
            Route(f"{prefix}/me", self.me, methods=["GET"]),
            Route(f"{prefix}/me/telegram-code", self.telegram_code, methods=["POST"]),
            Route(f"{prefix}/queue", self.queue, methods=["GET"]),
            Route(f"{prefix}/cases/{{number}}", self.case, methods=["GET"]),
            Route(f"{prefix}/cases/{{number}}/{{action}}", self.action, methods=["POST"]),
            Route(f"{prefix}/walk-in", self.walk_in, methods=["POST"]),
            Route(f"{prefix}/places", self.places, methods=["GET"]),
            Route(f"{prefix}/stats", self.stats, methods=["GET"]),
            Route(f"{prefix}/trends", self.trends, methods=["GET"]),
            Route(f"{prefix}/faq", self.faq_state, methods=["GET"]),
            Route(f"{prefix}/faq/test", self.faq_test, methods=["GET"]),
            Route(f"{prefix}/faq/misses", self.faq_misses, methods=["GET"]),
            Route(f"{prefix}/webhooks", self.webhook_deliveries, methods=["GET"]),
            Route(f"{prefix}/accounts", self.accounts, methods=["GET"]),
            Route(f"{prefix}/accounts", self.add_account, methods=["POST"]),
            Route(
                f"{prefix}/accounts/{{username}}/{{change}}", self.change_account, methods=["POST"]
            ),
        ]

    async def _changing(self, request: Request) -> tuple[Staff, Login, dict[str, Any]]:
        """A state-changing call: logged in, JSON body, the session's CSRF token."""
        staff, login = await self.c.staff_of(request)
        fields = await read_fields(request, json_only=True)
        self.c.require_csrf(request, login, {})
        return staff, login, fields

    def _me(self, request: Request, staff: Staff) -> dict[str, Any]:
        return account_json(runtime_of(request), staff.account)

    @_api
    async def login(self, request: Request) -> Response:
        fields = await read_fields(request, json_only=True)
        username = fields.get("username")
        password = fields.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise ActionError(400, 'send {"username": …, "password": …}')
        address = request.client.host if request.client else "unknown"
        try:
            login = await self.c.sessions.login(username.strip().lower(), password, address)
        except Throttled as exc:
            return JSONResponse(
                {"error": "too many failed logins", "retry_after": exc.retry_after},
                429,
                headers={"Retry-After": str(exc.retry_after)},
            )
        except BadLogin:
            raise ActionError(401, "用户名或密码不对") from None
        staff = staff_for(login.account, runtime_of(request).centers)
        response = JSONResponse({"csrf": login.csrf, "account": self._me(request, staff)})
        self.c.set_session_cookie(request, response, login)
        return response

    @_api
    async def logout(self, request: Request) -> Response:
        _, login, _ = await self._changing(request)
        await self.c.sessions.logout(login)
        response = JSONResponse({"ok": True})
        self.c.clear_session_cookie(response)
        return response

    @_api
    async def me(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        return JSONResponse({"account": self._me(request, staff), "csrf": login.csrf})

    @_api
    async def telegram_code(self, request: Request) -> Response:
        """A one-time code the mediator sends to the bot (``/link CODE``) from their
        own Telegram account, to link it to this account."""
        staff, _, _ = await self._changing(request)
        code = await new_link_code(runtime_of(request), staff.account)
        return JSONResponse(
            {
                "code": code.code,
                "command": f"/link {code.code}",
                "expires_at": code.expires_at.isoformat(),
                "minutes": CODE_MINUTES,
            }
        )

    @_api
    async def queue(self, request: Request) -> Response:
        staff, _ = await self.c.staff_of(request)
        center_id = self.c.queue_center(staff, request)
        return JSONResponse(await self.c.views.queue(staff, center_id))

    @_api
    async def case(self, request: Request) -> Response:
        staff, _ = await self.c.staff_of(request)
        if not staff.works_cases:
            raise ActionError(403, "领导账号只能看统计")
        case, access = await visible_case(runtime_of(request), staff, request.path_params["number"])
        return JSONResponse(await self.c.views.case(staff, case, access))

    @_api
    async def action(self, request: Request) -> Response:
        staff, _, fields = await self._changing(request)
        if not staff.works_cases:
            raise ActionError(403, "领导账号只能看统计")
        rt = runtime_of(request)
        case = await run_action(
            rt, staff, request.path_params["number"], request.path_params["action"], fields
        )
        try:
            _, access = await visible_case(rt, staff, case.number)
        except ActionError:  # transferred or escalated away: no longer this user's to see
            return JSONResponse({"number": case.number, "status": case.status.value, "gone": True})
        return JSONResponse(await self.c.views.case(staff, case, access))

    @_api
    async def walk_in(self, request: Request) -> Response:
        staff, _, fields = await self._changing(request)
        rt = runtime_of(request)
        case = await walk_in(rt, staff, fields)
        _, access = await visible_case(rt, staff, case.number)
        return JSONResponse(await self.c.views.case(staff, case, access), 201)

    @_api
    async def places(self, request: Request) -> Response:
        await self.c.staff_of(request)
        text = request.query_params.get("q", "").strip()[:50]
        directory = runtime_of(request).centers
        found = directory.search(text, limit=_PLACE_LIMIT) if text else []
        return JSONResponse(
            {
                "places": [
                    {"code": m.region.code, "name": directory.full_name(m.region.code)}
                    for m in found
                ]
            }
        )

    @_api
    async def stats(self, request: Request) -> Response:
        staff, _ = await self.c.staff_of(request)
        rt, reads, params = runtime_of(request), self.c.views.reads, dict(request.query_params)
        found = await counts(rt, reads, staff)  # cases by status now, all time
        return JSONResponse({**found, **await period_stats(rt, reads, staff, params)})

    @_api
    async def trends(self, request: Request) -> Response:
        staff, _ = await self.c.staff_of(request)
        params = dict(request.query_params)
        return JSONResponse(
            await area_trends(runtime_of(request), self.c.views.reads, staff, params)
        )

    @_api
    async def accounts(self, request: Request) -> Response:
        staff, _ = await self.c.staff_of(request)
        rt = runtime_of(request)
        found = await listed_accounts(rt, staff)
        return JSONResponse({"accounts": [account_json(rt, a) for a in found]})

    @_api
    async def add_account(self, request: Request) -> Response:
        staff, _, fields = await self._changing(request)
        rt = runtime_of(request)
        account = await add_account(rt, staff, fields)
        return JSONResponse(account_json(rt, account), 201)

    @_api
    async def change_account(self, request: Request) -> Response:
        staff, _, fields = await self._changing(request)
        rt = runtime_of(request)
        account = await change_account(
            rt, staff, request.path_params["username"], request.path_params["change"], fields
        )
        return JSONResponse(account_json(rt, account))

    @_api
    async def faq_state(self, request: Request) -> Response:
        staff, _ = await self.c.staff_of(request)
        require_faq_tools(staff)
        return JSONResponse(reload_state(runtime_of(request)))

    @_api
    async def faq_test(self, request: Request) -> Response:
        staff, _ = await self.c.staff_of(request)
        require_faq_tools(staff)
        return JSONResponse(try_question(runtime_of(request), request.query_params.get("q", "")))

    @_api
    async def faq_misses(self, request: Request) -> Response:
        staff, _ = await self.c.staff_of(request)
        require_faq_tools(staff)
        return JSONResponse(await misses(runtime_of(request), self.c.views.reads))

    @_api
    async def webhook_deliveries(self, request: Request) -> Response:
        staff, _ = await self.c.staff_of(request)
        params = dict(request.query_params)
        found = await deliveries(runtime_of(request), self.c.views.reads, staff, params)
        return JSONResponse(found)
