"""The FAQ as the running service sees it: load once, match, reload on edits.

Admins edit FAQ files while the service runs. A watcher task polls the
files' modification times; on a change it reads and rebuilds in a thread
(``asyncio.to_thread``), so matching never waits on disk or jieba, and swaps
the new matcher in at once. A broken edit is logged problem by problem as
``file:line: message`` and the last good FAQ keeps serving. The law texts
are read once: they change with a release, not with an admin's edit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from common.yamlsource import Problem
from faq._citations import format_basis
from faq._laws import LawLibrary
from faq._loader import DEFAULT_FAQ_DIR, FaqData, faq_sources, load_faq
from faq._match_process import MatchProcess, found_result
from faq._matcher import Matcher
from faq._model import Citation, FaqEntry, FaqLoadError, MatchResult

__all__ = ["FaqService", "ReloadState"]

log = logging.getLogger("faq")

_Signature = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class _Loaded:
    data: FaqData
    matcher: Matcher
    by_id: dict[str, FaqEntry]
    signature: _Signature


@dataclass(frozen=True)
class ReloadState:
    """What the last (re)load did, for the admins' console.

    ``problems`` are those of the last broken edit, as file:line; they are
    cleared by the next good load (the broken edit was fixed or replaced).
    """

    version: int
    loaded_at: datetime | None  # when the FAQ now served was read
    failed_at: datetime | None  # when the last broken edit was seen, if not fixed since
    problems: tuple[Problem, ...]


class FaqService:
    """The loaded FAQ with its matcher, kept current while the service runs."""

    def __init__(
        self,
        faq_dir: Path | None = None,
        law_dir: Path | None = None,
        *,
        reload_interval: float = 2.0,
        match_process: bool = False,
    ) -> None:
        """``match_process``: once started, match questions in a child process
        (``_match_process.py``), the service's own matcher standing in meanwhile."""
        assert reload_interval > 0, f"reload_interval must be positive, not {reload_interval!r}"
        self.faq_dir = Path(faq_dir) if faq_dir is not None else DEFAULT_FAQ_DIR
        self.law_dir = law_dir
        self.reload_interval = reload_interval
        self.version = 0  # increments on each successful (re)load
        self._laws: LawLibrary | None = None
        self._loaded: _Loaded | None = None
        self._failed: _Signature | None = None  # a broken edit already reported
        self._task: asyncio.Task[None] | None = None
        self._state = ReloadState(0, None, None, ())
        self._match_process = match_process
        self._process: MatchProcess | None = None
        self._process_of: _Loaded | None = None  # the FAQ the child process was built from
        self._keeper: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()

    # -- loading --------------------------------------------------------

    def _signature(self) -> _Signature:
        stamps = []
        for path in faq_sources(self.faq_dir) if self.faq_dir.is_dir() else []:
            try:
                stat = path.stat()
            except OSError:
                continue
            stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)

    def _read(self, signature: _Signature) -> _Loaded:
        # The signature is taken before reading: an edit made while reading
        # shows up as a newer signature at the next poll and is read then.
        if self._laws is None:
            self._laws = LawLibrary.load(self.law_dir)
        data = load_faq(self.faq_dir, self._laws)
        # The served FAQ keeps its analyses on disk: start-up skips re-segmenting it.
        matcher = Matcher.for_faq(data, cache_analyses=True)
        return _Loaded(data, matcher, {e.id: e for e in data.entries}, signature)

    def load(self) -> None:
        """Read the FAQ; raise FaqLoadError (with .problems) when it is broken."""
        self._install(self._read(self._signature()))

    def _install(self, loaded: _Loaded) -> None:
        self._loaded = loaded
        self._failed = None
        self.version += 1
        self._state = ReloadState(self.version, _now(), None, ())
        log.info(
            "FAQ loaded: %d entries from %s (version %d)",
            len(loaded.data.entries),
            self.faq_dir,
            self.version,
        )

    def _changed(self) -> _Signature | None:
        """The files' signature if it differs from the FAQ served and from a known broken edit."""
        signature = self._signature()
        current = self._loaded.signature if self._loaded else None
        return signature if signature not in (current, self._failed) else None

    def reload(self) -> bool:
        """Reload if the files changed; False (and the old FAQ kept) if the edit is broken."""
        signature = self._signature()
        if self._loaded is not None and signature == self._loaded.signature:
            return True
        if signature == self._failed:
            return False
        try:
            self._install(self._read(signature))
        except FaqLoadError as exc:
            self._report(exc, signature)
            return False
        return True

    def _report(self, exc: FaqLoadError, signature: _Signature) -> None:
        self._failed = signature
        self._record_failure(tuple(exc.problems))
        for problem in exc.problems:
            log.error("%s", problem)
        log.error(
            "FAQ edit not loaded (%d problem(s)); still serving version %d",
            len(exc.problems),
            self.version,
        )

    def _record_failure(self, problems: tuple[Problem, ...]) -> None:
        state = self._state
        self._state = ReloadState(state.version, state.loaded_at, _now(), problems)

    @property
    def last_reload(self) -> ReloadState:
        """The version served, when it was read, and the last broken edit's problems."""
        return self._state

    # -- serving --------------------------------------------------------

    @property
    def _current(self) -> _Loaded:
        if self._loaded is None:
            msg = "FaqService.load() has not been called"
            raise RuntimeError(msg)
        return self._loaded

    @property
    def matcher(self) -> Matcher:
        return self._current.matcher

    @property
    def entries(self) -> tuple[FaqEntry, ...]:
        return self._current.data.entries

    def match(self, text: str) -> MatchResult:
        """Match a resident's question; pure CPU, no I/O."""
        return self._current.matcher.match(text)

    @property
    def match_process_pid(self) -> int | None:
        """The child process matching questions against the FAQ now served, if any."""
        process = self._process
        if process is None or self._process_of is not self._loaded or not process.running:
            return None
        return process.pid

    @property
    def matches_elsewhere(self) -> bool:
        """``amatch`` waits for the child process (rather than matching in place)."""
        return self.match_process_pid is not None

    async def amatch(self, text: str) -> MatchResult:
        """``match``, in the child process when there is one for the FAQ now served."""
        loaded, process = self._current, self._process
        if process is not None and self._process_of is loaded:
            found = await process.match(text)
            if found is not None:
                return found_result(text, found, loaded.by_id, loaded.data.referrals)
        return self.match(text)

    def entry(self, entry_id: str) -> FaqEntry | None:
        return self._current.by_id.get(entry_id)

    def categories(self) -> dict[str, str]:
        """slug → Chinese name, in file order."""
        return {slug: c.name for slug, c in self._current.data.categories.items()}

    def category_keywords(self) -> dict[str, tuple[str, ...]]:
        return {slug: c.keywords for slug, c in self._current.data.categories.items()}

    def cite(self, citations: tuple[Citation, ...]) -> str:
        """Citations grouped by law with short titles: 《民法典》第1079条、第1080条."""
        return format_basis(citations)

    def article_text(self, citation: Citation) -> str | None:
        """The cited article's text, for quoting under an answer."""
        if self._laws is None:
            self._laws = LawLibrary.load(self.law_dir)
        return self._laws.article_text(citation)

    # -- watching -------------------------------------------------------

    async def start(self) -> None:
        """Load if not loaded yet, then watch the files for edits."""
        if self._loaded is None:
            await asyncio.to_thread(self.load)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch(), name="faq-reload")
        if self._match_process and (self._keeper is None or self._keeper.done()):
            self._keeper = asyncio.create_task(self._keep_process(), name="faq-match-process")

    async def stop(self) -> None:
        for task in (self._task, self._keeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._keeper = None
        process, self._process, self._process_of = self._process, None, None
        if process is not None:
            await process.stop()
        await asyncio.gather(*self._retiring)  # children replaced just before

    async def _keep_process(self) -> None:
        """Keep a child process built from the FAQ served: a new one after each reload,
        and again after it died (later and later while it keeps failing to start)."""
        retry = 1.0
        while True:
            loaded = self._current
            if self._process is None or self._process_of is not loaded or not self._process.running:
                if self._process is not None and self._process_of is loaded:
                    log.warning("FAQ matching process exited; starting another")
                fresh = MatchProcess(loaded.data)
                try:
                    await fresh.start()
                except Exception as exc:
                    log.warning(
                        "FAQ matching process did not start (%s); matching in the service,"
                        " trying again in %.0f s",
                        exc,
                        retry,
                    )
                    await asyncio.sleep(retry)
                    retry = min(retry * 2, 60.0)
                    continue
                old, self._process, self._process_of = self._process, fresh, loaded
                retry = 1.0
                if old is not None:  # ended even if this task is cancelled meanwhile
                    retiring = asyncio.create_task(old.stop())
                    self._retiring.add(retiring)
                    retiring.add_done_callback(self._retiring.discard)
                    await asyncio.shield(retiring)
            with contextlib.suppress(TimeoutError):  # a reload is seen within the interval
                async with asyncio.timeout(self.reload_interval):
                    await self._process.ended.wait()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.reload_interval)
            signature = await asyncio.to_thread(self._changed)
            if signature is None:
                continue
            try:
                loaded = await asyncio.to_thread(self._read, signature)
            except FaqLoadError as exc:
                self._report(exc, signature)
                continue
            except Exception:
                # Whatever went wrong, the watcher must outlive it.
                log.exception("FAQ reload failed; still serving version %d", self.version)
                self._failed = signature
                self._record_failure((Problem(str(self.faq_dir), 0, "读取失败，详见服务日志"),))
                continue
            self._install(loaded)


def _now() -> datetime:
    # A record for people to read, not a time rule: the wall clock is right here.
    return datetime.now(UTC)
