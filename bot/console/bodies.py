"""Request bodies of the console: HTML forms (urlencoded) and JSON, size-capped.

Forms are parsed here with the standard library, so the console needs no
multipart package; the console's forms carry text only.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request

from ..bodies import read_body

__all__ = ["MAX_BODY", "read_fields"]

MAX_BODY = 65_536


async def _raw(request: Request) -> bytes:
    return await read_body(request, MAX_BODY)


async def read_fields(request: Request, *, json_only: bool = False) -> dict[str, Any]:
    """The fields of a form post or a JSON object body.

    ``json_only`` (the API): a cross-site HTML form cannot send
    ``application/json``, so requiring it keeps forged posts out even where
    no session exists yet (the login).
    """
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await _raw(request)
    if kind == "application/json":
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise HTTPException(400, "body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise HTTPException(400, "body must be a JSON object")
        try:  # JSON may escape a lone surrogate ("\\ud800"): text no database stores
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise HTTPException(400, "strings must be valid Unicode text") from exc
        return body
    if json_only:
        if not raw.strip():
            return {}
        raise HTTPException(415, "send a JSON body (Content-Type: application/json)")
    if kind in ("application/x-www-form-urlencoded", ""):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HTTPException(400, "form is not UTF-8") from exc
        return dict(parse_qsl(text, keep_blank_values=True))
    raise HTTPException(415, "send a form or a JSON body")
