"""Reading request bodies: size-capped as they stream in, with a checked Content-Length.

Shared by the web chat API and the mediator console, so a garbage or huge
Content-Length is a clear 400 or 413 everywhere, never a 500, and a body is
never copied piece by piece into a growing string.
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.requests import Request

__all__ = ["read_body"]

_DIGITS = re.compile(r"[0-9]+")  # ASCII digits only: "²".isdigit() is True


def _declared_length(request: Request) -> int:
    raw = request.headers.get("content-length")
    if raw is None:
        return 0
    raw = raw.strip()
    if not _DIGITS.fullmatch(raw):
        raise HTTPException(400, "Content-Length must be a whole number of bytes")
    return int(raw) if len(raw) <= 18 else 10**18


async def read_body(request: Request, limit: int, what: str = "body") -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    if _declared_length(request) > limit:
        raise HTTPException(413, f"{what} larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"{what} larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
