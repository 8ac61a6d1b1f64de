"""Password hashing with Argon2id (argon2-cffi): memory-hard, salted, self-describing.

Each hash costs about 64 MiB and a tenth of a second on purpose, so a
stolen database is slow to attack. At most a few hashes run at once, in
worker threads, so a burst of logins neither blocks the event loop nor
exhausts memory.
"""

from __future__ import annotations

import asyncio
import threading
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "hash_password",
    "hash_password_now",
    "needs_rehash",
    "password_problem",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()
_slots = threading.BoundedSemaphore(4)


def password_problem(password: str) -> str | None:
    """What is wrong with a new password, in words for the admin; None when it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少要 {MIN_PASSWORD_LENGTH} 位"
    if len(password) > 256:
        return "密码太长了（最多 256 位）"
    return None


def hash_password_now(password: str) -> str:
    """Blocking: for the command line."""
    with _slots:
        return _hasher.hash(password)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hash_password_now, password)


@cache
def _decoy() -> str:
    return _hasher.hash("no such account")


def _verify(stored: str | None, password: str) -> bool:
    with _slots:
        try:
            # An unknown user costs as much as a known one: timing reveals no usernames.
            return _hasher.verify(stored or _decoy(), password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False


async def verify_password(stored: str | None, password: str) -> bool:
    return await asyncio.to_thread(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return False
