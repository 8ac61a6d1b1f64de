"""A per-user cache folder for structures that are slow to build and never change.

jieba's prefix dictionary and the pinyin table take seconds to build from the
packages' sources but a fraction of that to unpickle, and start-up must stay
under two seconds. Each cache file's name carries what it was built from, so a
package upgrade builds a fresh one; a cache that cannot be written or read is
only slower, never an error.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "cached"]

log = logging.getLogger(__name__)


def cache_dir() -> Path | None:
    """$MINSHI_CACHE_DIR, else $XDG_CACHE_HOME/minshi or ~/.cache/minshi, else a temp folder."""
    choices = []
    if os.environ.get("MINSHI_CACHE_DIR"):
        choices.append(Path(os.environ["MINSHI_CACHE_DIR"]))
    xdg = os.environ.get("XDG_CACHE_HOME")
    choices.append(Path(xdg) / "minshi" if xdg else Path.home() / ".cache" / "minshi")
    choices.append(Path(tempfile.gettempdir()) / f"minshi-cache-{os.getuid()}")
    for path in choices:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return path
    return None


def cached(name: str, build: Callable[[], Any], replaces: str | None = None) -> Any:
    """Unpickle ``name`` from the cache folder, or build it and store it there.

    ``replaces``: a name prefix of older versions of the same thing, removed
    when the new one is stored.
    """
    folder = cache_dir()
    path = folder / name if folder else None
    if path is not None and path.exists():
        try:
            with path.open("rb") as f:
                return pickle.load(f)
        except Exception as exc:
            log.warning("ignoring unreadable cache file %s: %s", path, exc)
    value = build()
    if path is not None:
        try:
            # Write then rename, so a concurrent start never reads half a file.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
            for old in folder.glob(f"{replaces}*") if replaces and folder else ():
                if old != path and not old.name.endswith(".tmp"):
                    old.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot write cache file %s: %s", path, exc)
    return value
