"""``/healthz``, ``/readyz`` and ``/metrics``.

``/healthz`` answers "is this instance working?": the database takes a real
write (a read-only or full database fails it, as does a disk with less free
space than ``MINSHI_HEALTH_MIN_FREE_MB``), and every background job is
running, not failing and not stuck (with several instances, a job another
instance runs is "standby" here). ``/readyz`` answers "may a load
balancer send traffic here?": started, migrated, not shutting down.
``/metrics`` is for Prometheus; it is not for the internet (see
``MINSHI_METRICS_TOKEN``).
"""

from __future__ import annotations

import asyncio
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from common.jobs import JobRunner, ReportsHealth

from ..metrics import CONTENT_TYPE
from ..runtime import Runtime, runtime_of
from ..storage import sqlite_path
from ..storage._ops import SqlOps

__all__ = ["STANDBY", "Readiness", "healthz", "job_states", "metrics", "readyz"]

_WRITE_TIMEOUT = 5.0
_LOCAL = {"127.0.0.1", "::1", "localhost"}


@dataclass
class Readiness:
    """Set by the application's lifespan: ready after start-up, not during shutdown."""

    ready: bool = False


async def _database(rt: Runtime) -> str:
    try:
        await asyncio.wait_for(SqlOps(rt.db).write_check(rt.clock()), _WRITE_TIMEOUT)
    except TimeoutError:
        return f"cannot write: no answer within {_WRITE_TIMEOUT:.0f} s"
    except Exception as exc:
        return f"cannot write: {exc}"
    path = sqlite_path(rt.settings.database)
    if path is not None:
        folder = path.resolve().parent
        stat = await asyncio.to_thread(os.statvfs, folder)
        free_mb = stat.f_bavail * stat.f_frsize // (1024 * 1024)
        if free_mb < rt.settings.health_min_free_mb:
            return f"disk nearly full: {free_mb} MB free in {folder}"
    return "ok"


STANDBY = "standby: another instance runs it"


def job_states(runners: Sequence[JobRunner]) -> dict[str, str]:
    """Each job's state for ``/healthz``: "ok", ``STANDBY`` or its problem."""
    found: dict[str, str] = {}
    for runner in runners:
        if isinstance(runner, ReportsHealth):
            for job in runner.health():
                found[job.name] = job.problem or (STANDBY if job.standby else "ok")
    return found


async def healthz(request: Request) -> Response:
    rt = runtime_of(request)
    database = await _database(rt)
    jobs = job_states(request.state.jobs)
    healthy = database == "ok" and all(state in ("ok", STANDBY) for state in jobs.values())
    body = {
        "status": "ok" if healthy else "unhealthy",
        "database": database,
        "jobs": jobs,
        "faq_entries": len(rt.faq.entries),
        "faq_version": rt.faq.version,
    }
    return JSONResponse(body, status_code=200 if healthy else 503)


async def readyz(request: Request) -> Response:
    readiness: Readiness = request.state.readiness
    if readiness.ready:
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "not ready"}, status_code=503)


def _may_scrape(request: Request, token: str | None) -> bool:
    if token:
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    return request.client is not None and request.client.host in _LOCAL


async def metrics(request: Request) -> Response:
    rt = runtime_of(request)
    token = rt.settings.metrics_token
    if not _may_scrape(request, token):
        if token:
            headers = {"WWW-Authenticate": 'Bearer realm="metrics"'}
            return PlainTextResponse("metrics need the bearer token\n", 401, headers=headers)
        return PlainTextResponse("metrics are served to this machine only\n", 403)
    body = await rt.metrics.render(SqlOps(rt.db), rt.clock())
    return Response(body, media_type=CONTENT_TYPE)
