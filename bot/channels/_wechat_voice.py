"""WeChat voice messages (AMR-NB) as AAC in ``.m4a``, which browsers play.

No browser plays AMR. ffmpeg (Debian's ``ffmpeg`` package) decodes it and
encodes AAC in an MP4 audio file: Chromium, Firefox and Safari all play that
in an ``<audio>`` element. ffmpeg runs as a subprocess with a time limit, from
the channel's background download loop, never while WeChat waits for the
callback. Output is bit-exact, so the same recording always gives the same
content-addressed file.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import shutil
from pathlib import Path

__all__ = ["FFMPEG", "PLAYABLE_SUFFIX", "VoiceConverter"]

log = logging.getLogger(__name__)

FFMPEG = "ffmpeg"  # looked up on PATH at each conversion: installing it later just works
PLAYABLE_SUFFIX = ".m4a"
CONVERT_SECONDS = 30.0  # a WeChat voice message is at most 60 s: ffmpeg needs well under 1 s
_ERROR_CHARS = 300


class VoiceConverter:
    """Converts AMR files in one directory; warns once when ffmpeg is not installed."""

    def __init__(self, directory: Path, timeout: float = CONVERT_SECONDS) -> None:
        self.directory = directory
        self.timeout = timeout
        self._warned = False

    async def playable(self, amr_name: str) -> tuple[str, int] | None:
        """The name and size of the ``.m4a`` made from ``amr_name``; None: keep the AMR."""
        ffmpeg = shutil.which(FFMPEG)
        if ffmpeg is None:
            if not self._warned:
                self._warned = True
                log.warning(
                    "ffmpeg is not installed: WeChat voice messages are kept as AMR,"
                    " which browsers cannot play (install it: apt-get install ffmpeg)"
                )
            return None
        source = (self.directory / amr_name).absolute()
        partial = source.with_name(f"{secrets.token_hex(8)}.part{PLAYABLE_SUFFIX}")
        try:
            error = await self._run(ffmpeg, source, partial)
            if error is not None:
                log.warning("voice %s not converted, kept as AMR: %s", amr_name, error)
                return None
            return await asyncio.to_thread(_keep, partial)
        finally:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)

    async def _run(self, ffmpeg: str, source: Path, target: Path) -> str | None:
        """None when ffmpeg wrote ``target``; otherwise what went wrong."""
        # fmt: off
        args = [
            "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
            "-i", str(source),
            "-map_metadata", "-1", "-vn", "-ac", "1", "-c:a", "aac", "-b:a", "32k",
            "-fflags", "+bitexact", "-flags:a", "+bitexact", "-movflags", "+faststart",
            "-f", "ipod", str(target),
        ]
        # fmt: on
        proc = await asyncio.create_subprocess_exec(
            ffmpeg,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            return f"ffmpeg took longer than {self.timeout:g} s"
        finally:
            if proc.returncode is None:  # timed out or cancelled (the channel stops)
                proc.kill()
                with contextlib.suppress(ProcessLookupError):
                    await proc.wait()
        if proc.returncode != 0:
            said = stderr.decode("utf-8", "replace").strip()[-_ERROR_CHARS:]
            return f"ffmpeg exit {proc.returncode}: {said or 'no message'}"
        if not target.is_file() or target.stat().st_size == 0:
            return "ffmpeg wrote nothing"
        return None


def _keep(partial: Path) -> tuple[str, int]:
    """Move the converted file under its content hash; its name and size."""
    data = partial.read_bytes()
    name = hashlib.sha256(data).hexdigest() + PLAYABLE_SUFFIX
    path = partial.with_name(name)
    if not path.exists():  # an existing file has the same content
        partial.replace(path)
    return name, len(data)
