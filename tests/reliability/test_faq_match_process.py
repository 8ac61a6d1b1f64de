"""``minshi serve`` matches questions in a child process: residents get the FAQ's answers,
and the child never outlives the service, whether it is stopped (SIGTERM to both, as
systemd does) or killed."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx

from faq import FaqService
from tests.crowd import CrowdResident, ServiceProcess

QUESTION = "老板拖欠工资三个月了怎么办"


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


async def _eventually_gone(pid: int, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while Path(f"/proc/{pid}/stat").exists() and "Z" not in _state(pid):
            await asyncio.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


async def _ignoring_sigterm(pid: int, timeout: float = 60) -> None:
    """Until the child has started far enough to ignore SIGTERM (see child_main)."""
    async with asyncio.timeout(timeout):
        while True:
            status = Path(f"/proc/{pid}/status").read_text()
            ignored = int(
                next(x for x in status.splitlines() if x.startswith("SigIgn:")).split()[1], 16
            )
            if ignored & (1 << (signal.SIGTERM - 1)):
                return
            await asyncio.sleep(0.05)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


async def _matching_child(service: ServiceProcess, timeout: float = 60) -> int:
    """The FAQ's matching process (the WAL's fsync process is a child too)."""
    assert service.proc is not None
    async with asyncio.timeout(timeout):
        while not (
            children := [c for c in _children(service.proc.pid) if "_match_process" in _cmdline(c)]
        ):
            await asyncio.sleep(0.1)
    (child,) = children
    return child


async def test_questions_are_answered_and_the_child_ends_with_the_service(
    tmp_path: Path,
) -> None:
    expected = FaqService(None)
    expected.load()
    best = expected.match(QUESTION).candidates[0].entry
    for ending in ("stop", "kill -9"):
        service = ServiceProcess(
            tmp_path, tmp_path / "minshi.db", env={"MINSHI_FAQ_MATCH_PROCESS": "true"}
        )
        await service.start()
        try:
            child = await _matching_child(service)
            async with httpx.AsyncClient(
                base_url=service.base_url, trust_env=False, timeout=10
            ) as client:
                resident = CrowdResident(client, f"居民{ending}")
                await resident.open()
                await resident.start()
                await resident.tap("法律咨询")
                await resident.say(QUESTION)
                assert resident.text.startswith(f"【{best.question}】"), resident.text
            await _ignoring_sigterm(child)
            assert service.proc is not None
            children = _children(service.proc.pid)  # the WAL's fsync process too
            assert len(children) == 2, [_cmdline(c) for c in children]
        finally:
            if ending == "stop":  # systemd's stop: SIGTERM to every process of the unit
                assert service.proc is not None
                for each in _children(service.proc.pid):
                    os.kill(each, signal.SIGTERM)
                service.proc.send_signal(signal.SIGTERM)
                service.proc.wait(15)
            else:
                service.kill()
        for each in children:
            await _eventually_gone(each)
    log = service.log.read_text()
    assert "Traceback" not in log
    assert "starting another" not in log  # the child outlived the SIGTERM, as it should
