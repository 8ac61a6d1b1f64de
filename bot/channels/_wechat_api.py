"""The WeChat Official Account HTTP API, on httpx.

wechatpy's own client is synchronous and hard-codes the API host, so the
calls are made here: one ``access_token`` fetched once and shared by every
sender, refreshed five minutes before it expires and whenever WeChat says it
is invalid or expired (40001, 40014, 42001), with one retry of the call.
WeChat keeps only the newest token of an account valid, so with several
instances the token lives in the database (``SharedTokens``): one instance at
a time fetches a new one, and every instance uses it.
Every failure is a ``WeChatApiError``: ``code`` is WeChat's errcode, or None
when the platform could not be reached (network error, HTTP 5xx, a body that
is not JSON). Callers turn it into an outbox result with ``delivery_result``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from common.clock import Clock
from common.outbox import DeliveryResult, RetryLater, Unreachable

__all__ = [
    "DEFAULT_API_URL",
    "SharedTokens",
    "WeChatApi",
    "WeChatApiError",
    "delivery_result",
    "mask_secrets",
]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.weixin.qq.com"

TOKEN_INVALID = frozenset({40001, 40014, 42001})  # not the latest, malformed, expired
BUSY = -1
OUTSIDE_WINDOW = 45015  # the resident wrote more than 48 hours ago
OVER_QUOTA = 45047  # more than 5 messages since the resident last wrote
DAILY_LIMIT = 45009
MINUTE_LIMIT = 45011
NOT_FOLLOWING = 43004  # the resident unfollowed the account
INVALID_OPENID = 40003
INVALID_MEDIA = 40007  # expired (3 days) or unknown media id

_REFRESH_EARLY = timedelta(minutes=5)
_REFRESH_CLAIM = timedelta(seconds=60)  # longer than a token fetch can take
_REFRESH_POLL = 0.2  # seconds between looks while another instance fetches
_MAX_DOWNLOAD = 20 * 1024 * 1024
_SECRETS = re.compile(r"((?:access_token|secret)=)[^&\s\"']+")


def mask_secrets(text: str) -> str:
    """The app secret and access tokens out of URLs before they reach a log."""
    return _SECRETS.sub(r"\1***", text)


class _SecretsFilter(logging.Filter):
    """httpx logs every request URL at INFO: the token and the secret are in the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(
                a if isinstance(a, int | float) else mask_secrets(str(a)) for a in args
            )
        record.msg = mask_secrets(str(record.msg))
        return True


_filter = _SecretsFilter()
for _name in ("httpx", "httpcore", __name__):
    logging.getLogger(_name).addFilter(_filter)


class SharedTokens(Protocol):
    """Where the instances of a deployment keep the access token they all use."""

    async def shared_token(self, name: str) -> tuple[str, datetime] | None:
        """The token and when it expires; None before the first one."""
        ...

    async def claim_token_refresh(
        self, name: str, now: datetime, until: datetime, *, seen: str | None
    ) -> bool:
        """True for the one caller that fetches the next token (its claim ends at
        ``until``, or when it stores or releases); False as well when the stored
        token is no longer ``seen`` (the one the caller read): another instance has
        just stored the next one."""
        ...

    async def store_token(self, name: str, value: str, expires_at: datetime) -> None: ...

    async def release_token_refresh(self, name: str) -> None: ...


class WeChatApiError(Exception):
    """A call failed: WeChat's ``errcode``, or None when WeChat could not be reached."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(f"{code}: {message}" if code is not None else message)
        self.code = code
        self.message = message


def delivery_result(error: WeChatApiError, window_wait: timedelta) -> DeliveryResult:
    """What the outbox should do after a failed customer-service send."""
    code = error.code
    if code in (OUTSIDE_WINDOW, OVER_QUOTA):
        # Kept queued; the resident's next message wakes it (store.outbox_wake).
        return RetryLater(f"wechat {error}: waiting for the resident to write", window_wait)
    if code in (NOT_FOLLOWING, INVALID_OPENID):
        return Unreachable(f"wechat {error}")
    if code == DAILY_LIMIT:
        return RetryLater(f"wechat {error}", timedelta(hours=1))
    if code == MINUTE_LIMIT:
        return RetryLater(f"wechat {error}", timedelta(minutes=1))
    return RetryLater(f"wechat {error}")  # busy, 5xx, network, anything unexpected


class WeChatApi:
    """The calls the channel and its commands make, against ``base_url``."""

    def __init__(
        self,
        base_url: str,
        app_id: str,
        app_secret: str,
        clock: Clock,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        tokens: SharedTokens | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self._secret = app_secret
        self.clock = clock
        self._timeout = timeout
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._tokens = tokens  # None: this process alone uses the account
        self._token_name = f"wechat-access-token:{app_id}"
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._token_lock = asyncio.Lock()
        self.tokens_fetched = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- access token --------------------------------------------------------

    def _fresh(self) -> bool:
        return (
            self._token is not None
            and self._expires_at is not None
            and self.clock() < self._expires_at - _REFRESH_EARLY
        )

    async def access_token(self, *, stale: str | None = None) -> str:
        """The shared token; ``stale`` is one WeChat just refused (fetch another)."""
        async with self._token_lock:  # one fetch at a time: others wait and reuse it
            if self._token is not None and self._token == stale:
                self._token = None
            if not self._fresh():
                if self._tokens is None:
                    await self._fetch_token()
                else:
                    await self._shared_token(self._tokens, stale)
            assert self._token is not None
            return self._token

    async def _shared_token(self, tokens: SharedTokens, stale: str | None) -> None:
        """The deployment's token when it is fresh and not ``stale``; else fetch the
        next one, or — while another instance fetches it — wait for it."""
        give_up = asyncio.get_running_loop().time() + self._timeout + 5
        while True:
            now = self.clock()
            found = await tokens.shared_token(self._token_name)
            if found is not None and found[0] != stale and now < found[1] - _REFRESH_EARLY:
                self._token, self._expires_at = found
                return
            seen = found[0] if found is not None else None
            claimed = await tokens.claim_token_refresh(
                self._token_name, now, now + _REFRESH_CLAIM, seen=seen
            )
            if claimed:
                try:
                    await self._fetch_token()
                except Exception:
                    await tokens.release_token_refresh(self._token_name)
                    raise
                assert self._token is not None and self._expires_at is not None
                await tokens.store_token(self._token_name, self._token, self._expires_at)
                return
            if asyncio.get_running_loop().time() > give_up:
                raise WeChatApiError(None, "another instance is still fetching the access token")
            await asyncio.sleep(_REFRESH_POLL)

    async def _fetch_token(self) -> None:
        body = await self._request(
            "GET",
            "/cgi-bin/token",
            params={
                "grant_type": "client_credential",
                "appid": self.app_id,
                "secret": self._secret,
            },
        )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise WeChatApiError(None, "token answer without access_token")
        expires_in = body.get("expires_in", 7200)
        seconds = expires_in if isinstance(expires_in, int) and expires_in > 0 else 7200
        self._token = token
        self._expires_at = self.clock() + timedelta(seconds=seconds)
        self.tokens_fetched += 1
        log.info("wechat access token fetched, valid for %d s", seconds)

    # -- calls -----------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, Any]:
        """One HTTP call; the JSON answer when errcode is 0 (or absent)."""
        content = None
        headers = {}
        if body is not None:
            # Raw UTF-8: WeChat refuses \\uXXXX escapes in message texts (40033).
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            response = await self._http.request(
                method,
                self.base_url + path,
                params=params,
                content=content,
                headers=headers,
                files=files,
            )
        except httpx.HTTPError as exc:
            raise WeChatApiError(
                None, f"{path}: {type(exc).__name__}: {mask_secrets(str(exc))}"
            ) from None
        return _json_answer(path, response)

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, Any]:
        """A call with the access token; a refused token is replaced and the call made again."""
        token = await self.access_token()
        query = dict(params or {})
        try:
            return await self._request(
                method, path, params={**query, "access_token": token}, body=body, files=files
            )
        except WeChatApiError as exc:
            if exc.code not in TOKEN_INVALID:
                raise
            log.info("wechat refused the access token (%s); fetching a new one", exc.code)
        token = await self.access_token(stale=token)
        return await self._request(
            method, path, params={**query, "access_token": token}, body=body, files=files
        )

    async def send_text(self, openid: str, content: str) -> None:
        """A customer-service text message (within 48 hours of the resident's last message)."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        await self.call("POST", "/cgi-bin/message/custom/send", body=body)

    async def send_template(
        self, openid: str, template_id: str, data: Mapping[str, str], url: str = ""
    ) -> None:
        """A template message: allowed outside the 48-hour window."""
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
        }
        if url:
            body["url"] = url
        await self.call("POST", "/cgi-bin/message/template/send", body=body)

    async def create_menu(self, menu: Mapping[str, Any]) -> None:
        await self.call("POST", "/cgi-bin/menu/create", body=menu)

    async def create_qrcode(
        self, scene: str, *, permanent: bool, expire_seconds: int
    ) -> dict[str, Any]:
        """A parametric QR code for ``scene``: {"ticket", "url", "expire_seconds"?}."""
        body: dict[str, Any] = {
            "action_name": "QR_LIMIT_STR_SCENE" if permanent else "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene}},
        }
        if not permanent:
            body["expire_seconds"] = expire_seconds
        return await self.call("POST", "/cgi-bin/qrcode/create", body=body)

    async def upload_media(self, kind: str, name: str, data: bytes, content_type: str) -> str:
        """A temporary media file (image, voice…) for 3 days; its media_id."""
        answer = await self.call(
            "POST",
            "/cgi-bin/media/upload",
            params={"type": kind},
            files={"media": (name, data, content_type)},
        )
        media_id = answer.get("media_id")
        if not isinstance(media_id, str):
            raise WeChatApiError(None, "media/upload answer without media_id")
        return media_id

    async def download_media(self, media_id: str) -> tuple[bytes, str]:
        """The bytes and content type of a file a resident sent (temporary media)."""
        token = await self.access_token()
        for attempt in range(2):
            response = await self._get("/cgi-bin/media/get", token, media_id)
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind not in ("application/json", "text/plain"):
                return response.content, kind
            answer = _json_answer("/cgi-bin/media/get", response)
            video_url = answer.get("video_url")
            if isinstance(video_url, str) and video_url:  # video media: a link to the file
                return await self._download_url(video_url)
            code = answer.get("errcode")
            if attempt == 0 and code in TOKEN_INVALID:
                token = await self.access_token(stale=token)
                continue
            raise WeChatApiError(None, "media/get answered JSON without a file")
        raise WeChatApiError(None, "media/get: token refused twice")  # pragma: no cover

    async def _get(self, path: str, token: str, media_id: str) -> httpx.Response:
        try:
            response = await self._http.get(
                self.base_url + path, params={"access_token": token, "media_id": media_id}
            )
        except httpx.HTTPError as exc:
            raise WeChatApiError(
                None, f"{path}: {type(exc).__name__}: {mask_secrets(str(exc))}"
            ) from None
        if response.status_code >= 400:
            raise WeChatApiError(None, f"{path}: HTTP {response.status_code}")
        if len(response.content) > _MAX_DOWNLOAD:
            raise WeChatApiError(INVALID_MEDIA, f"{path}: file larger than {_MAX_DOWNLOAD} bytes")
        return response

    async def _download_url(self, url: str) -> tuple[bytes, str]:
        try:
            response = await self._http.get(url)
        except httpx.HTTPError as exc:
            raise WeChatApiError(None, f"video: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise WeChatApiError(None, f"video: HTTP {response.status_code}")
        kind = response.headers.get("content-type", "video/mp4").split(";")[0].strip().lower()
        return response.content, kind


def _json_answer(path: str, response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 500 or response.status_code == 429:
        raise WeChatApiError(None, f"{path}: HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise WeChatApiError(None, f"{path}: HTTP {response.status_code}, not JSON") from None
    if not isinstance(body, dict):
        raise WeChatApiError(None, f"{path}: the answer is not a JSON object")
    code = body.get("errcode", 0)
    if isinstance(code, int) and code != 0:
        raise WeChatApiError(code, str(body.get("errmsg", "")))
    if response.status_code >= 400:
        raise WeChatApiError(None, f"{path}: HTTP {response.status_code}")
    return body
