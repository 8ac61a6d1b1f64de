"""Logging in and out: throttling, session cookies, CSRF tokens.

A session is a random id, kept in ``console_sessions`` (so logging out, or
disabling an account, ends it at once) and sent as a cookie signed with an
HMAC key stored in the database (``service_secret``), HttpOnly and
SameSite=Lax. Each session has its own CSRF token: forms carry it in a
hidden field, API calls in the ``X-CSRF-Token`` header.

Logins are throttled by the clock: after 5 failures for one account, or 20
from one address, within 15 minutes, further attempts are refused with the
seconds to wait, before any password is checked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.storage import Account, AccountStore
from common.clock import Clock

from .passwords import hash_password, needs_rehash, verify_password

__all__ = [
    "ACCOUNT_LIMIT",
    "ADDRESS_LIMIT",
    "COOKIE",
    "SESSION_HOURS",
    "WINDOW",
    "BadLogin",
    "Login",
    "Sessions",
    "Throttled",
]

COOKIE = "minshi_console"
SESSION_HOURS = 12
WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20


class BadLogin(Exception):
    """Wrong username or password, or a disabled account (not told apart)."""


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed logins; retry after {retry_after} s")


@dataclass(frozen=True)
class Login:
    """A live session: who, and the CSRF token of this session."""

    account: Account
    csrf: str
    session_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _wait(failures: list[datetime], limit: int, now: datetime) -> int:
    """Seconds until fewer than ``limit`` failures remain inside the window."""
    if len(failures) < limit:
        return 0
    frees_at = failures[len(failures) - limit] + WINDOW
    return max(1, math.ceil((frees_at - now).total_seconds()))


class Sessions:
    def __init__(self, store: AccountStore, key: bytes, clock: Clock) -> None:
        self.store = store
        self._key = key
        self.clock = clock

    # -- cookies ----------------------------------------------------------------

    def cookie_value(self, session_id: str) -> str:
        return f"{session_id}.{self._mac(session_id)}"

    def _session_id(self, cookie: str) -> str | None:
        session_id, _, mac = cookie.partition(".")
        if not session_id or not mac or len(cookie) > 200:
            return None
        if not hmac.compare_digest(mac.encode(), self._mac(session_id).encode()):
            return None
        return session_id

    def _mac(self, session_id: str) -> str:
        return _b64(hmac.new(self._key, session_id.encode(), hashlib.sha256).digest())

    # -- logging in and out -------------------------------------------------------

    async def login(self, username: str, password: str, address: str) -> Login:
        """A new session, or ``Throttled`` / ``BadLogin``."""
        now = self.clock()
        failures = await self.store.login_failures(username, address, now - WINDOW)
        wait = max(
            _wait(failures.for_username, ACCOUNT_LIMIT, now),
            _wait(failures.from_address, ADDRESS_LIMIT, now),
        )
        if wait:
            raise Throttled(wait)
        account = await self.store.account(username)
        stored = account.password_hash if account is not None else None
        valid = await verify_password(stored, password)
        ok = valid and account is not None and account.active
        await self.store.record_login(username, address, ok, now)
        if not ok or account is None:
            raise BadLogin(username)
        if needs_rehash(account.password_hash):
            await self.store.update_account(
                username, now, password_hash=await hash_password(password)
            )
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + timedelta(hours=SESSION_HOURS)
        await self.store.start_session(session_id, account.id, csrf, now, expires)
        return Login(account, csrf, session_id)

    async def current(self, cookie: str | None) -> Login | None:
        """The live session this cookie names: signed, not ended, not expired,
        of an active account."""
        if not cookie:
            return None
        session_id = self._session_id(cookie)
        if session_id is None:
            return None
        return await self._live(session_id)

    async def _live(self, session_id: str) -> Login | None:
        session = await self.store.session(session_id)
        if session is None or session.ended_at is not None:
            return None
        if session.expires_at <= self.clock():
            return None
        account = await self.store.account_by_id(session.account_id)
        if account is None or not account.active:
            return None
        return Login(account, session.csrf, session_id)

    async def still_live(self, login: Login) -> bool:
        """Whether a session found earlier is still good (an open event stream asks)."""
        return await self._live(login.session_id) is not None

    async def logout(self, login: Login) -> None:
        await self.store.end_session(login.session_id, self.clock())

    @staticmethod
    def csrf_ok(login: Login, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(
            login.csrf.encode(), (submitted or "").encode()
        )
