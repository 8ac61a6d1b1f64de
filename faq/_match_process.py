"""FAQ matching in a child process, so that a question never holds the event loop.

Matching one question costs 1–2 ms of CPU (segmenting it, scoring every
entry). On the service's event loop no other resident's message moves
meanwhile, and under load questions take a tenth of the loop. The child
builds its own matcher from the same ``FaqData`` (the build is deterministic,
so it decides exactly as the service's own would) and answers over a pipe:
the loop only writes the question and reads back entry ids and scores, and
the matching runs on another core.

The service's own matcher stays the fallback. The child is never waited for
long: while it starts, after it died, or when it does not answer within
``_PATIENCE``, the question is matched in the service's process and the
resident gets the same answer, only later. Its own process needs its own
memory: about what the FAQ takes in the service (jieba's dictionary, the
matcher).

Frames on the pipes: a 4-byte big-endian length, then a pickle. The child is
``child_main`` of this module, trusting only its parent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from faq._loader import FaqData
from faq._matcher import Matcher
from faq._model import Candidate, Decision, FaqEntry, MatchResult, Referral

__all__ = ["MatchProcess", "found_result"]

log = logging.getLogger("faq")

_LENGTH = struct.Struct(">I")
_PATIENCE = 2.0  # seconds a question waits for the child before it is matched here
_START_WITHIN = 120.0  # seconds the child has to import, build its matcher and warm up
_WARM_UP = "邻居占了我家的路怎么办"  # loads jieba's dictionary before the first resident asks

# What the child sends back for a question: the decision, (entry id, score, matched
# phrasing) of each candidate, and the referral's kind. Small, and decoded fast.
Found = tuple[str, tuple[tuple[str, float, str], ...], str | None]


def found_of(result: MatchResult) -> Found:
    candidates = tuple((c.entry.id, c.score, c.matched) for c in result.candidates)
    return result.decision.value, candidates, result.referral.kind if result.referral else None


def found_result(
    text: str, found: Found, entries: dict[str, FaqEntry], referrals: tuple[Referral, ...]
) -> MatchResult:
    """The child's answer as the service's matcher would have returned it."""
    decision, candidates, kind = found
    referral = next((r for r in referrals if r.kind == kind), None) if kind else None
    shown = tuple(Candidate(entries[id_], score, matched) for id_, score, matched in candidates)
    return MatchResult(text, Decision(decision), shown, referral)


class MatchProcess:
    """One child process matching questions against one loaded FAQ."""

    def __init__(self, data: FaqData) -> None:
        self._data = data
        self._child: asyncio.subprocess.Process | None = None
        self._waiting: dict[int, asyncio.Future[Found | None]] = {}
        self._serial = 0
        self._reader: asyncio.Task[None] | None = None
        self.ended = asyncio.Event()  # the child exited (or could not start)

    async def start(self) -> None:
        """Start the child and return once it matches; raise if it cannot."""
        root = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))
        self._child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from faq._match_process import child_main; child_main()",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
            limit=1 << 20,
        )
        self._reader = asyncio.create_task(self._read(), name="faq-match-process")
        ready: asyncio.Future[Found | None] = asyncio.get_running_loop().create_future()
        self._waiting[0] = ready
        self._send(pickle.dumps(self._data, protocol=pickle.HIGHEST_PROTOCOL))
        try:
            async with asyncio.timeout(_START_WITHIN):
                started = await ready
        except BaseException:
            await self.stop()
            raise
        if started is None:
            await self.stop()
            msg = "the FAQ matching process ended while starting"
            raise RuntimeError(msg)

    @property
    def running(self) -> bool:
        return self._child is not None and not self.ended.is_set()

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    async def match(self, text: str) -> Found | None:
        """The child's match of ``text``; None when it did not answer in time (then it is
        ended, and the FAQ service starts another)."""
        if not self.running:
            return None
        self._serial += 1
        serial = self._serial
        future: asyncio.Future[Found | None] = asyncio.get_running_loop().create_future()
        self._waiting[serial] = future
        try:
            self._send(pickle.dumps((serial, text), protocol=pickle.HIGHEST_PROTOCOL))
            async with asyncio.timeout(_PATIENCE):
                return await future
        except ConnectionError:
            return None
        except TimeoutError:
            # Hung, or so far behind that matching here is quicker: it is replaced.
            log.warning("FAQ matching process did not answer in %.0f s; ending it", _PATIENCE)
            self._end()
            return None
        finally:
            self._waiting.pop(serial, None)

    def _end(self) -> None:
        if self._child is not None:
            with contextlib.suppress(ProcessLookupError):
                self._child.kill()  # it ignores SIGTERM (see child_main)

    def _send(self, payload: bytes) -> None:
        assert self._child is not None and self._child.stdin is not None
        if self._child.stdin.is_closing():
            raise ConnectionResetError
        self._child.stdin.write(_LENGTH.pack(len(payload)) + payload)

    async def _read(self) -> None:
        assert self._child is not None and self._child.stdout is not None
        out = self._child.stdout
        try:
            while True:
                (size,) = _LENGTH.unpack(await out.readexactly(_LENGTH.size))
                serial, found = pickle.loads(await out.readexactly(size))
                future = self._waiting.get(serial)
                if future is not None and not future.done():
                    future.set_result(found)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the child exited
        finally:
            self.ended.set()
            for future in self._waiting.values():
                if not future.done():
                    future.set_result(None)

    async def stop(self) -> None:
        """End the child (it holds nothing that needs saving) and wait for it."""
        child = self._child
        if child is None:
            return
        if child.stdin is not None and not child.stdin.is_closing():
            child.stdin.close()
        self._end()
        await child.wait()
        if self._reader is not None:
            await self._reader
        self.ended.set()


# -- the child --------------------------------------------------------------


def _frames(source: IO[bytes]) -> Iterator[Any]:
    """The frames on ``source`` until it ends (a frame cut short ends it too: the
    service died while writing it)."""
    while len(header := source.read(_LENGTH.size)) == _LENGTH.size:
        (size,) = _LENGTH.unpack(header)
        payload = source.read(size)
        if len(payload) < size:
            return
        yield pickle.loads(payload)


def _reply(out: IO[bytes], serial: int, found: Found | None) -> None:
    payload = pickle.dumps((serial, found), protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LENGTH.pack(len(payload)) + payload)
    out.flush()


def _serve(source: IO[bytes], out: IO[bytes]) -> None:
    """Build the matcher from the first frame, then answer each (serial, text) frame."""
    frames = _frames(source)
    data = next(frames, None)
    if not isinstance(data, FaqData):
        return
    matcher = Matcher.for_faq(data, cache_analyses=True)
    matcher.match(_WARM_UP)
    _reply(out, 0, ("ready", (), None))
    for serial, text in frames:
        try:
            found = found_of(matcher.match(text))
        except Exception:  # the service matches this one itself, and says why
            log.exception("a question could not be matched here")  # no text: privacy
            found = None
        _reply(out, serial, found)


def child_main() -> None:
    # Ctrl+C reaches the whole process group, and systemd's SIGTERM the whole unit:
    # the service, still running, would see its child end and start another. The
    # service stops the child itself, and the child ends when its input closes (also
    # when the service is killed).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Frames go out on a copy of stdout; whatever a library prints goes to stderr.
    frames_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    logging.basicConfig(level=logging.WARNING, format="faq matching process: %(message)s")
    with contextlib.suppress(BrokenPipeError):  # the service stopped or died meanwhile
        _serve(sys.stdin.buffer, frames_out)
