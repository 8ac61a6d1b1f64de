"""The console's server-rendered pages (Jinja2, under /console).

Every page asks who is logging in first: no session sends the browser to
the login page, a role that may not see a page gets 403, a case the user
may not see is a 404. Every form post carries the session's CSRF token
(the login form a token of its own, in a cookie). Forms answer with a
redirect (post/redirect/get); a refused action shows the page again with
the reason.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any
from urllib.parse import quote

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.runtime import runtime_of

from .access import ROLE_LABELS, Staff, may_manage
from .actions import ActionError, run_action, visible_case, walk_in
from .bodies import read_fields
from .deliveries import deliveries
from .faq_tools import misses, misses_csv, reload_state, require_faq_tools, try_question
from .linking import CODE_MINUTES, new_link_code
from .posters import poster_download, posters_page, township_download
from .sessions import BadLogin, Login, Throttled
from .site import Console, NotLoggedIn
from .staffing import account_json, add_account, change_account, counts, listed_accounts
from .stats import stats as period_stats
from .trends import CHARTS, chart_csv, svg
from .trends import trends as area_trends
from .words import outcome_labels

__all__ = ["Pages"]

_LOGIN_COOKIE = "minshi_console_login"
Handler = Callable[[Request], Awaitable[Response]]


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return "/console"


def _page(handler: Callable[[Any, Request], Awaitable[Response]]) -> Any:
    """Not logged in: to the login page. A refusal: an error page with its status."""

    @wraps(handler)
    async def run(self: Pages, request: Request) -> Response:
        try:
            return await handler(self, request)
        except NotLoggedIn:
            where = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/console/login?next={quote(where)}", status_code=303)
        except ActionError as exc:
            return await self.error(request, exc)

    return run


class Pages:
    def __init__(self, console: Console) -> None:
        self.c = console

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/console", self.home),
            Route("/console/login", self.login_form, methods=["GET"]),
            Route("/console/login", self.login, methods=["POST"]),
            Route("/console/logout", self.logout, methods=["POST"]),
            Route("/console/queue", self.queue),
            Route("/console/queue/live", self.queue_live),
            Route("/console/queue/events", self.queue_events),
            Route("/console/walk-in", self.walk_in_form, methods=["GET"]),
            Route("/console/walk-in", self.walk_in, methods=["POST"]),
            Route("/console/me", self.me, methods=["GET"]),
            Route("/console/me/telegram-code", self.telegram_code, methods=["POST"]),
            Route("/console/accounts", self.accounts, methods=["GET"]),
            Route("/console/accounts", self.add_account, methods=["POST"]),
            Route("/console/accounts/{username}/{change}", self.change_account, methods=["POST"]),
            Route("/console/stats", self.stats),
            Route("/console/trends", self.trends),
            Route("/console/trends/{chart}.csv", self.trends_csv),
            Route("/console/faq", self.faq),
            Route("/console/faq/misses", self.faq_misses),
            Route("/console/faq/misses.csv", self.faq_misses_csv),
            Route("/console/posters", self.posters),
            Route("/console/posters/townships/{code}.pdf", self.township_posters),
            Route("/console/posters/{code}.{kind}", self.poster),
            Route("/console/webhooks", self.webhook_deliveries),
            Route("/console/cases/{number}", self.case_page),
            Route("/console/cases/{number}/live", self.case_live),
            Route("/console/cases/{number}/events", self.case_events),
            Route("/console/cases/{number}/files/{ref}", self.case_file),
            Route("/console/cases/{number}/{action}", self.case_action, methods=["POST"]),
        ]

    # -- rendering ------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        *,
        staff: Staff | None = None,
        login: Login | None = None,
        status: int = 200,
    ) -> Response:
        base: dict[str, Any] = {"staff": staff, "csrf": login.csrf if login else ""}
        if staff is not None:
            base["role_label"] = ROLE_LABELS.get(staff.role, staff.role)
            base["center_name"] = staff.center.name if staff.center else staff.center_id
        response = self.c.templates.TemplateResponse(
            request, template, {**base, **context}, status_code=status
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    async def error(self, request: Request, exc: ActionError) -> Response:
        login = await self.c.login_of(request)
        staff = None
        if login is not None:
            staff, _ = await self.c.staff_of(request)
        return self.render(
            request,
            "message.html",
            {"title": exc.message, "status": exc.status},
            staff=staff,
            login=login,
            status=exc.status,
        )

    # -- logging in -----------------------------------------------------------------

    @_page
    async def home(self, request: Request) -> Response:
        staff, _ = await self.c.staff_of(request)
        return RedirectResponse(
            "/console/queue" if staff.works_cases else "/console/stats", status_code=303
        )

    async def login_form(self, request: Request) -> Response:
        if await self.c.login_of(request) is not None:
            return RedirectResponse(_safe_next(request.query_params.get("next")), 303)
        return self._login_page(request, "", 200)

    def _login_page(
        self, request: Request, error: str, status: int, headers: dict[str, str] | None = None
    ) -> Response:
        token = secrets.token_urlsafe(24)
        response = self.render(
            request,
            "login.html",
            {
                "error": error,
                "login_token": token,
                "next": _safe_next(request.query_params.get("next")),
            },
            status=status,
        )
        response.set_cookie(
            _LOGIN_COOKIE, token, max_age=3600, path="/console", httponly=True, samesite="lax"
        )
        response.headers.update(headers or {})
        return response

    async def login(self, request: Request) -> Response:
        try:
            fields = await read_fields(request)
        except Exception:
            return self._login_page(request, "请求有误，请再试一次", 400)
        expected = request.cookies.get(_LOGIN_COOKIE, "")
        submitted = str(fields.get("login_token") or "")
        if not expected or not hmac.compare_digest(expected.encode(), submitted.encode()):
            return self._login_page(request, "页面已过期，请再登录一次", 403)
        address = request.client.host if request.client else "unknown"
        username = str(fields.get("username") or "").strip().lower()
        try:
            login = await self.c.sessions.login(
                username, str(fields.get("password") or ""), address
            )
        except Throttled as exc:
            minutes = max(1, (exc.retry_after + 59) // 60)
            return self._login_page(
                request,
                f"登录失败次数太多，请 {minutes} 分钟后再试",
                429,
                {"Retry-After": str(exc.retry_after)},
            )
        except BadLogin:
            return self._login_page(request, "用户名或密码不对", 401)
        response = RedirectResponse(_safe_next(str(fields.get("next") or "")), status_code=303)
        self.c.set_session_cookie(request, response, login)
        response.delete_cookie(_LOGIN_COOKIE, path="/console")
        return response

    @_page
    async def logout(self, request: Request) -> Response:
        _, login = await self.c.staff_of(request)
        self.c.require_csrf(request, login, await read_fields(request))
        await self.c.sessions.logout(login)
        response = RedirectResponse("/console/login", status_code=303)
        self.c.clear_session_cookie(response)
        return response

    # -- the queue ------------------------------------------------------------------

    async def _queue_context(self, request: Request, staff: Staff) -> dict[str, Any]:
        center_id = self.c.queue_center(staff, request)
        queue = await self.c.views.queue(staff, center_id)
        suffix = f"?center={center_id}" if center_id != staff.center_id else ""
        return {"q": queue, "center_query": suffix}

    @_page
    async def queue(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        context = await self._queue_context(request, staff)
        if staff.is_admin:
            context["centers"] = _center_choices(request)
        return self.render(request, "queue.html", context, staff=staff, login=login)

    @_page
    async def queue_live(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        context = await self._queue_context(request, staff)
        html = self.c.templates.get_template("_queue.html").render(
            {**context, "staff": staff, "csrf": login.csrf}
        )
        return JSONResponse({"html": html}, headers={"Cache-Control": "no-store"})

    @_page
    async def queue_events(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        return self.c.queue_events(request, login, self.c.queue_center(staff, request))

    # -- one case -------------------------------------------------------------------

    async def _case_context(self, request: Request, staff: Staff, number: str) -> dict[str, Any]:
        rt = runtime_of(request)
        if not staff.works_cases:
            raise ActionError(403, "领导账号只能看统计")
        case, access = await visible_case(rt, staff, number)
        view = await self.c.views.case(staff, case, access)
        targets = [
            {"id": c.id, "name": c.name}
            for c in sorted(rt.centers.centers(), key=lambda c: (c.region_code, c.id))
            if c.id != case.center_id and c.level != "province"
        ]
        return {"c": view, "targets": targets, "outcomes": outcome_labels()}

    @_page
    async def case_page(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        context = await self._case_context(request, staff, request.path_params["number"])
        return self.render(request, "case.html", context, staff=staff, login=login)

    @_page
    async def case_live(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        context = await self._case_context(request, staff, request.path_params["number"])
        context.update(staff=staff, csrf=login.csrf)
        body = {
            "live": self.c.templates.get_template("_case_live.html").render(context),
            "actions": self.c.templates.get_template("_case_actions.html").render(context),
            "state": context["c"]["state"],
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @_page
    async def case_events(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        case = await self.c.case_for(request, staff, request.path_params["number"])
        return self.c.case_events(request, login, staff, case)

    @_page
    async def case_file(self, request: Request) -> Response:
        staff, _ = await self.c.staff_of(request)
        case = await self.c.case_for(request, staff, request.path_params["number"])
        return await self.c.case_file(request, staff, case, request.path_params["ref"])

    @_page
    async def case_action(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        number = request.path_params["number"]
        fields = await read_fields(request)
        self.c.require_csrf(request, login, fields)
        if not staff.works_cases:
            raise ActionError(403, "领导账号只能看统计")
        try:
            case = await run_action(
                runtime_of(request), staff, number, request.path_params["action"], fields
            )
        except ActionError as exc:
            if exc.status == 404:
                raise
            context = await self._case_context(request, staff, number)
            context["error"] = exc.message
            return self.render(
                request, "case.html", context, staff=staff, login=login, status=exc.status
            )
        return RedirectResponse(f"/console/cases/{case.number}", status_code=303)

    # -- 兜底受理 -------------------------------------------------------------------

    def _walk_in_page(
        self,
        request: Request,
        staff: Staff,
        login: Login,
        fields: dict[str, Any],
        error: str = "",
        status: int = 200,
    ) -> Response:
        context = {
            "categories": runtime_of(request).faq.categories(),
            "form": fields,
            "error": error,
        }
        return self.render(
            request, "walk_in.html", context, staff=staff, login=login, status=status
        )

    @_page
    async def walk_in_form(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        if not staff.works_cases:
            raise ActionError(403, "领导账号只能看统计")
        return self._walk_in_page(request, staff, login, {})

    @_page
    async def walk_in(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        fields = await read_fields(request)
        self.c.require_csrf(request, login, fields)
        try:
            case = await walk_in(runtime_of(request), staff, fields)
        except ActionError as exc:
            if exc.status == 403:
                raise
            return self._walk_in_page(request, staff, login, fields, exc.message, exc.status)
        return RedirectResponse(f"/console/cases/{case.number}", status_code=303)

    # -- the user's own account --------------------------------------------------------

    @_page
    async def me(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        return self._me_page(request, staff, login, None)

    @_page
    async def telegram_code(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        self.c.require_csrf(request, login, await read_fields(request))
        code = await new_link_code(runtime_of(request), staff.account)
        return self._me_page(request, staff, login, code.code)

    def _me_page(self, request: Request, staff: Staff, login: Login, code: str | None) -> Response:
        context = {
            "linked": staff.account.telegram_id is not None,
            "code": code,
            "minutes": CODE_MINUTES,
        }
        return self.render(request, "me.html", context, staff=staff, login=login)

    # -- accounts and counts ----------------------------------------------------------

    async def _accounts_page(
        self, request: Request, staff: Staff, login: Login, error: str = "", status: int = 200
    ) -> Response:
        rt = runtime_of(request)
        accounts = [
            {**account_json(rt, a), "manageable": may_manage(staff, a) and a.id != staff.account.id}
            for a in await listed_accounts(rt, staff)
        ]
        context = {
            "accounts": accounts,
            "error": error,
            "centers": _center_choices(request) if staff.is_admin else [],
        }
        return self.render(
            request, "accounts.html", context, staff=staff, login=login, status=status
        )

    @_page
    async def accounts(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        return await self._accounts_page(request, staff, login)

    @_page
    async def add_account(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        fields = await read_fields(request)
        self.c.require_csrf(request, login, fields)
        try:
            await add_account(runtime_of(request), staff, fields)
        except ActionError as exc:
            if exc.status == 403:
                raise
            return await self._accounts_page(request, staff, login, exc.message, exc.status)
        return RedirectResponse("/console/accounts", status_code=303)

    @_page
    async def change_account(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        fields = await read_fields(request)
        self.c.require_csrf(request, login, fields)
        try:
            await change_account(
                runtime_of(request),
                staff,
                request.path_params["username"],
                request.path_params["change"],
                fields,
            )
        except ActionError as exc:
            if exc.status in (403, 404):
                raise
            return await self._accounts_page(request, staff, login, exc.message, exc.status)
        return RedirectResponse("/console/accounts", status_code=303)

    @_page
    async def stats(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        rt, params = runtime_of(request), dict(request.query_params)
        found = await counts(rt, self.c.views.reads, staff)
        figures = await period_stats(rt, self.c.views.reads, staff, params)
        context = {"s": found, "f": figures, "centers": _area_choices(request, staff)}
        return self.render(request, "stats.html", context, staff=staff, login=login)

    @_page
    async def trends(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        params = dict(request.query_params)
        found = await area_trends(runtime_of(request), self.c.views.reads, staff, params)
        charts = [{**chart, "svg": Markup(svg(chart))} for chart in found["charts"]]
        context = {
            "t": found,
            "charts": charts,
            "query": request.url.query,
            "centers": _area_choices(request, staff),
        }
        return self.render(request, "trends.html", context, staff=staff, login=login)

    @_page
    async def trends_csv(self, request: Request) -> Response:
        staff, _ = await self.c.staff_of(request)
        key = request.path_params["chart"]
        if key not in CHARTS:
            raise ActionError(404, "没有这个图表")
        params = dict(request.query_params)
        found = await area_trends(runtime_of(request), self.c.views.reads, staff, params)
        chart = next(c for c in found["charts"] if c["key"] == key)
        return Response(
            "\ufeff" + chart_csv(chart),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{key}.csv"',
                "Cache-Control": "no-store",
            },
        )

    @_page
    async def faq(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        require_faq_tools(staff)
        rt = runtime_of(request)
        question = request.query_params.get("q", "").strip()
        context = {
            "question": question,
            "tried": try_question(rt, question) if question else None,
            "state": reload_state(rt),
        }
        return self.render(request, "faq.html", context, staff=staff, login=login)

    @_page
    async def faq_misses(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        require_faq_tools(staff)
        found = await misses(runtime_of(request), self.c.views.reads)
        return self.render(request, "faq_misses.html", {"m": found}, staff=staff, login=login)

    @_page
    async def faq_misses_csv(self, request: Request) -> Response:
        staff, _ = await self.c.staff_of(request)
        require_faq_tools(staff)
        found = await misses(runtime_of(request), self.c.views.reads)
        return Response(
            "\ufeff" + misses_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="faq-misses.csv"',
                "Cache-Control": "no-store",
            },
        )

    @_page
    async def posters(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        found = posters_page(runtime_of(request), staff)
        return self.render(request, "posters.html", {"p": found}, staff=staff, login=login)

    @_page
    async def poster(self, request: Request) -> Response:
        staff, _ = await self.c.staff_of(request)
        code, kind = request.path_params["code"], request.path_params["kind"]
        return await poster_download(runtime_of(request), staff, code, kind)

    @_page
    async def township_posters(self, request: Request) -> Response:
        staff, _ = await self.c.staff_of(request)
        return await township_download(runtime_of(request), staff, request.path_params["code"])

    @_page
    async def webhook_deliveries(self, request: Request) -> Response:
        staff, login = await self.c.staff_of(request)
        params = dict(request.query_params)
        found = await deliveries(runtime_of(request), self.c.views.reads, staff, params)
        context = {"d": found}
        return self.render(request, "webhook_deliveries.html", context, staff=staff, login=login)


def _area_choices(request: Request, staff: Staff) -> list[dict[str, str]]:
    """The centers whose figures this user may pick: their own and those below."""
    if not staff.sees_counts:
        return []
    return [
        c
        for c in _center_choices(request)
        if staff.is_admin or c["id"] == staff.center_id or c["id"] in staff.below
    ]


def _center_choices(request: Request) -> list[dict[str, str]]:
    directory = runtime_of(request).centers
    return [
        {"id": c.id, "name": c.name}
        for c in sorted(directory.centers(), key=lambda c: (c.region_code, c.id))
    ]
