"""Mediator accounts, console sessions and login attempts: SQL and in-memory.

The console (``bot.console``) decides who may log in and what they may
see; these stores only keep the records. Session ids reach the database
only as their SHA-256, so a copy of the database opens no session. The
in-memory store behaves the same, for fast tests of the console's rules.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from ._database import SqlDatabase, SqlTransaction
from ._rows import Row, iso, parse_iso

__all__ = [
    "Account",
    "AccountExists",
    "AccountStore",
    "ConsoleSession",
    "LoginFailures",
    "MemoryAccounts",
    "SqlAccounts",
]


class AccountExists(Exception):
    """The username is taken."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    name: str
    center_id: str
    role: str  # mediator | center-admin | leader | admin
    password_hash: str
    active: bool
    created_at: datetime
    updated_at: datetime
    telegram_id: str | None = None  # the mediator's own Telegram user id, for alerts


@dataclass(frozen=True)
class ConsoleSession:
    account_id: int
    csrf: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class LoginFailures:
    """Failed logins inside the throttling window, oldest first."""

    for_username: list[datetime]  # since that account's last successful login
    from_address: list[datetime]


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class AccountStore(Protocol):
    async def count_accounts(self) -> int: ...

    async def add_account(
        self, username: str, name: str, center_id: str, role: str, password_hash: str, now: datetime
    ) -> Account:
        """Raises ``AccountExists`` when the username is taken."""
        ...

    async def account(self, username: str) -> Account | None: ...
    async def account_by_id(self, account_id: int) -> Account | None: ...

    async def accounts(self, center_id: str | None = None) -> list[Account]:
        """Every account (of one center), by username."""
        ...

    async def update_account(
        self,
        username: str,
        now: datetime,
        *,
        password_hash: str | None = None,
        active: bool | None = None,
        telegram_id: str | None = None,
    ) -> Account | None: ...

    async def start_session(
        self, session_id: str, account_id: int, csrf: str, now: datetime, expires_at: datetime
    ) -> None: ...

    async def session(self, session_id: str) -> ConsoleSession | None: ...
    async def end_session(self, session_id: str, now: datetime) -> None: ...

    async def end_sessions_of(self, account_id: int, now: datetime) -> None:
        """Log an account out everywhere (disabled, or a new password)."""
        ...

    async def record_login(
        self, username: str, address: str, succeeded: bool, now: datetime
    ) -> None: ...

    async def login_failures(
        self, username: str, address: str, since: datetime
    ) -> LoginFailures: ...

    async def account_by_telegram(self, telegram_id: str) -> Account | None:
        """The account a Telegram user is linked to."""
        ...

    async def link_telegram(
        self, account_id: int, telegram_id: str, now: datetime
    ) -> Account | None:
        """Link a Telegram user to an active account (and to no other); None when the
        account is gone or disabled."""
        ...

    async def add_link_code(
        self, account_id: int, code_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        """A one-time code for linking, replacing the account's unused ones."""
        ...

    async def redeem_link_code(
        self, code_hash: str, telegram_id: str, now: datetime
    ) -> Account | None:
        """Use a code once, before it expires, to link ``telegram_id``; the account."""
        ...


# -- SQL ------------------------------------------------------------------------


def _account(row: Row) -> Account:
    return Account(
        id=int(row["id"]),
        username=row["username"],
        name=row["name"],
        center_id=row["center_id"],
        role=row["role"],
        password_hash=row["password_hash"],
        active=bool(row["active"]),
        created_at=parse_iso(row["created_at"]),
        updated_at=parse_iso(row["updated_at"]),
        telegram_id=row["telegram_id"],
    )


class SqlAccounts:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    async def count_accounts(self) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) AS n FROM accounts")
        return int(row["n"]) if row else 0

    async def add_account(
        self, username: str, name: str, center_id: str, role: str, password_hash: str, now: datetime
    ) -> Account:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO accounts (username, name, center_id, role, password_hash,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (username) DO NOTHING RETURNING *",
                (username, name, center_id, role, password_hash, iso(now), iso(now)),
            )
        if row is None:
            raise AccountExists(username)
        return _account(row)

    async def account(self, username: str) -> Account | None:
        row = await self.db.fetchone("SELECT * FROM accounts WHERE username = ?", (username,))
        return _account(row) if row else None

    async def account_by_id(self, account_id: int) -> Account | None:
        row = await self.db.fetchone("SELECT * FROM accounts WHERE id = ?", (account_id,))
        return _account(row) if row else None

    async def accounts(self, center_id: str | None = None) -> list[Account]:
        if center_id is None:
            rows = await self.db.fetchall("SELECT * FROM accounts ORDER BY username")
        else:
            rows = await self.db.fetchall(
                "SELECT * FROM accounts WHERE center_id = ? ORDER BY username", (center_id,)
            )
        return [_account(r) for r in rows]

    async def update_account(
        self,
        username: str,
        now: datetime,
        *,
        password_hash: str | None = None,
        active: bool | None = None,
        telegram_id: str | None = None,
    ) -> Account | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE accounts SET password_hash = COALESCE(?, password_hash),"
                " active = COALESCE(?, active), telegram_id = COALESCE(?, telegram_id),"
                " updated_at = ? WHERE username = ? RETURNING *",
                (
                    password_hash,
                    None if active is None else int(active),
                    telegram_id,
                    iso(now),
                    username,
                ),
            )
        return _account(row) if row else None

    async def start_session(
        self, session_id: str, account_id: int, csrf: str, now: datetime, expires_at: datetime
    ) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO console_sessions (id, account_id, csrf, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (_digest(session_id), account_id, csrf, iso(now), iso(expires_at)),
            )

    async def session(self, session_id: str) -> ConsoleSession | None:
        row = await self.db.fetchone(
            "SELECT * FROM console_sessions WHERE id = ?", (_digest(session_id),)
        )
        if row is None:
            return None
        return ConsoleSession(
            account_id=int(row["account_id"]),
            csrf=row["csrf"],
            created_at=parse_iso(row["created_at"]),
            expires_at=parse_iso(row["expires_at"]),
            ended_at=parse_iso(row["ended_at"]) if row["ended_at"] else None,
        )

    async def end_session(self, session_id: str, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE console_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
                (iso(now), _digest(session_id)),
            )

    async def end_sessions_of(self, account_id: int, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE console_sessions SET ended_at = ?"
                " WHERE account_id = ? AND ended_at IS NULL",
                (iso(now), account_id),
            )

    async def record_login(
        self, username: str, address: str, succeeded: bool, now: datetime
    ) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO login_attempts (username, address, succeeded, at) VALUES (?, ?, ?, ?)",
                (username, address, int(succeeded), iso(now)),
            )

    async def login_failures(self, username: str, address: str, since: datetime) -> LoginFailures:
        by_user = await self.db.fetchall(
            "SELECT at FROM login_attempts WHERE username = ? AND succeeded = 0 AND at > ?"
            " AND at > COALESCE((SELECT MAX(at) FROM login_attempts"
            "  WHERE username = ? AND succeeded = 1), '') ORDER BY at",
            (username, iso(since), username),
        )
        by_address = await self.db.fetchall(
            "SELECT at FROM login_attempts WHERE address = ? AND succeeded = 0 AND at > ?"
            " ORDER BY at",
            (address, iso(since)),
        )
        return LoginFailures(
            [parse_iso(r["at"]) for r in by_user], [parse_iso(r["at"]) for r in by_address]
        )

    async def account_by_telegram(self, telegram_id: str) -> Account | None:
        row = await self.db.fetchone(
            "SELECT * FROM accounts WHERE telegram_id = ? ORDER BY id LIMIT 1", (telegram_id,)
        )
        return _account(row) if row else None

    async def link_telegram(
        self, account_id: int, telegram_id: str, now: datetime
    ) -> Account | None:
        async with self.db.transaction() as tx:
            return await _link(tx, account_id, telegram_id, now)

    async def add_link_code(
        self, account_id: int, code_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM telegram_link_codes WHERE account_id = ? AND used_at IS NULL",
                (account_id,),
            )
            await tx.execute(
                "INSERT INTO telegram_link_codes (code_hash, account_id, expires_at, created_at)"
                " VALUES (?, ?, ?, ?)",
                (code_hash, account_id, iso(expires_at), iso(now)),
            )

    async def redeem_link_code(
        self, code_hash: str, telegram_id: str, now: datetime
    ) -> Account | None:
        async with self.db.transaction() as tx:
            used = await tx.fetchone(
                "UPDATE telegram_link_codes SET used_at = ? WHERE code_hash = ?"
                " AND used_at IS NULL AND expires_at > ? RETURNING account_id",
                (iso(now), code_hash, iso(now)),
            )
            if used is None:
                return None
            return await _link(tx, int(used["account_id"]), telegram_id, now)


async def _link(
    tx: SqlTransaction, account_id: int, telegram_id: str, now: datetime
) -> Account | None:
    row = await tx.fetchone(
        "UPDATE accounts SET telegram_id = ?, updated_at = ? WHERE id = ? AND active = 1"
        " RETURNING *",
        (telegram_id, iso(now), account_id),
    )
    if row is None:
        return None
    await tx.execute(  # one Telegram user acts as one mediator
        "UPDATE accounts SET telegram_id = NULL, updated_at = ? WHERE telegram_id = ? AND id <> ?",
        (iso(now), telegram_id, account_id),
    )
    return _account(row)


# -- memory ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Attempt:
    username: str
    address: str
    succeeded: bool
    at: datetime


class MemoryAccounts:
    def __init__(self) -> None:
        self._accounts: dict[str, Account] = {}
        self._sessions: dict[str, ConsoleSession] = {}
        self._attempts: list[_Attempt] = []
        self._codes: dict[str, tuple[int, datetime, datetime | None]] = {}  # hash → id, exp, used
        self._lock = asyncio.Lock()

    async def count_accounts(self) -> int:
        return len(self._accounts)

    async def add_account(
        self, username: str, name: str, center_id: str, role: str, password_hash: str, now: datetime
    ) -> Account:
        async with self._lock:
            if username in self._accounts:
                raise AccountExists(username)
            account = Account(
                len(self._accounts) + 1,
                username,
                name,
                center_id,
                role,
                password_hash,
                True,
                now,
                now,
            )
            self._accounts[username] = account
            return account

    async def account(self, username: str) -> Account | None:
        return self._accounts.get(username)

    async def account_by_id(self, account_id: int) -> Account | None:
        return next((a for a in self._accounts.values() if a.id == account_id), None)

    async def accounts(self, center_id: str | None = None) -> list[Account]:
        return sorted(
            (a for a in self._accounts.values() if center_id in (None, a.center_id)),
            key=lambda a: a.username,
        )

    async def update_account(
        self,
        username: str,
        now: datetime,
        *,
        password_hash: str | None = None,
        active: bool | None = None,
        telegram_id: str | None = None,
    ) -> Account | None:
        async with self._lock:
            found = self._accounts.get(username)
            if found is None:
                return None
            updated = replace(
                found,
                password_hash=found.password_hash if password_hash is None else password_hash,
                active=found.active if active is None else active,
                telegram_id=found.telegram_id if telegram_id is None else telegram_id,
                updated_at=now,
            )
            self._accounts[username] = updated
            return updated

    async def start_session(
        self, session_id: str, account_id: int, csrf: str, now: datetime, expires_at: datetime
    ) -> None:
        self._sessions[_digest(session_id)] = ConsoleSession(
            account_id, csrf, now, expires_at, None
        )

    async def session(self, session_id: str) -> ConsoleSession | None:
        return self._sessions.get(_digest(session_id))

    async def end_session(self, session_id: str, now: datetime) -> None:
        key = _digest(session_id)
        found = self._sessions.get(key)
        if found is not None and found.ended_at is None:
            self._sessions[key] = replace(found, ended_at=now)

    async def end_sessions_of(self, account_id: int, now: datetime) -> None:
        for key, found in list(self._sessions.items()):
            if found.account_id == account_id and found.ended_at is None:
                self._sessions[key] = replace(found, ended_at=now)

    async def record_login(
        self, username: str, address: str, succeeded: bool, now: datetime
    ) -> None:
        self._attempts.append(_Attempt(username, address, succeeded, now))

    async def login_failures(self, username: str, address: str, since: datetime) -> LoginFailures:
        successes = [a.at for a in self._attempts if a.username == username and a.succeeded]
        last_success = max(successes, default=None)
        failed = sorted(
            (a for a in self._attempts if not a.succeeded and a.at > since), key=lambda a: a.at
        )
        return LoginFailures(
            [
                a.at
                for a in failed
                if a.username == username and (last_success is None or a.at > last_success)
            ],
            [a.at for a in failed if a.address == address],
        )

    async def account_by_telegram(self, telegram_id: str) -> Account | None:
        linked = [a for a in self._accounts.values() if a.telegram_id == telegram_id]
        return min(linked, key=lambda a: a.id, default=None)

    async def link_telegram(
        self, account_id: int, telegram_id: str, now: datetime
    ) -> Account | None:
        async with self._lock:
            return self._link(account_id, telegram_id, now)

    def _link(self, account_id: int, telegram_id: str, now: datetime) -> Account | None:
        found = next((a for a in self._accounts.values() if a.id == account_id), None)
        if found is None or not found.active:
            return None
        for other in list(self._accounts.values()):
            if other.telegram_id == telegram_id and other.id != account_id:
                self._accounts[other.username] = replace(other, telegram_id=None, updated_at=now)
        linked = replace(found, telegram_id=telegram_id, updated_at=now)
        self._accounts[found.username] = linked
        return linked

    async def add_link_code(
        self, account_id: int, code_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        async with self._lock:
            for key, (owner, _, used) in list(self._codes.items()):
                if owner == account_id and used is None:
                    del self._codes[key]
            self._codes[code_hash] = (account_id, expires_at, None)

    async def redeem_link_code(
        self, code_hash: str, telegram_id: str, now: datetime
    ) -> Account | None:
        async with self._lock:
            code = self._codes.get(code_hash)
            if code is None or code[2] is not None or code[1] <= now:
                return None
            self._codes[code_hash] = (code[0], code[1], now)
            return self._link(code[0], telegram_id, now)
