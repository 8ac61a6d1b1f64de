"""One-time codes that link a mediator's Telegram account to their console account.

The console shows a code on the mediator's own page; the mediator sends
``/link CODE`` to the bot from their Telegram account. A code is short
enough to type on a phone, works once, for ``CODE_MINUTES``, and only its
SHA-256 is stored. A new code replaces the unused ones of the account.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.runtime import Runtime
from bot.storage import Account

__all__ = ["CODE_MINUTES", "LinkCode", "code_hash", "new_link_code", "normalise_code"]

CODE_MINUTES = 10
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed safely
_LENGTH = 8


@dataclass(frozen=True)
class LinkCode:
    code: str
    expires_at: datetime


def normalise_code(typed: str) -> str:
    """What a person typed, as the code it means (case and spaces do not matter)."""
    return "".join(typed.split()).upper().replace("-", "")


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


async def new_link_code(rt: Runtime, account: Account) -> LinkCode:
    """A fresh code for this account (its earlier unused codes stop working)."""
    code = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    now = rt.clock()
    expires = now + timedelta(minutes=CODE_MINUTES)
    await rt.accounts.add_link_code(account.id, code_hash(code), now, expires)
    return LinkCode(code, expires)
