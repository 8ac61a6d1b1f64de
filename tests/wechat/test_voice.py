"""Voice messages: WeChat's AMR is kept and converted by ffmpeg to AAC the console plays.

The recordings are real AMR-NB files (``sim.amr_nb``); Debian's ffmpeg has an
AMR decoder but no encoder, so they are built frame by frame. The service runs
ffmpeg itself, as installed by ``scripts/test`` (``scripts/_system_deps.sh``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from pathlib import Path

import pytest

from bot.channels import _wechat_voice

from .conftest import WeChat
from .sim import Resident, amr_nb


async def _record(wx: WeChat, resident: Resident, media_id: str, data: bytes) -> Path:
    """The resident sends a recording; the file the media id resolves to once fetched."""
    wx.fake.media[media_id] = (data, "audio/amr")
    answer = await resident.send("voice", MediaId=media_id, Format="amr")
    assert answer.status == 200
    local = await wx.fetched(media_id)
    return wx.service.runtime.settings.attachments_dir / local


def _probe(path: Path) -> dict[str, str]:
    entries = "stream=codec_name,channels:format=duration"
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", entries, "-of", "json", str(path)],
        capture_output=True,
        check=True,
        timeout=10,
    ).stdout
    info = json.loads(out)
    (stream,) = info["streams"]
    return {**stream, **info["format"]}


async def test_a_voice_message_becomes_a_file_the_browser_plays(
    wx: WeChat, caplog: pytest.LogCaptureFixture
) -> None:
    recording = amr_nb(1.0)
    resident = wx.resident()
    await resident.event("subscribe")
    with caplog.at_level(logging.INFO, logger="bot.channels.wechat"):
        playable = await _record(wx, resident, "VOICE-REAL", recording)

    data = playable.read_bytes()
    assert playable.suffix == ".m4a" and data[4:12] == b"ftypM4A "  # an MP4 audio file
    assert playable.name == hashlib.sha256(data).hexdigest() + ".m4a"  # content-addressed
    probed = _probe(playable)
    assert probed["codec_name"] == "aac" and int(probed["channels"]) == 1
    assert 0.9 < float(probed["duration"]) < 1.2
    amr_name = hashlib.sha256(recording).hexdigest() + ".amr"
    assert (playable.parent / amr_name).read_bytes() == recording  # WeChat's file kept too
    assert any(
        amr_name in r.getMessage() and playable.name in r.getMessage() for r in caplog.records
    )
    assert not list(playable.parent.glob("*.part*"))  # no half-written file left behind

    # The same recording sent again converts to the very same file (bit-exact output).
    again = await _record(wx, resident, "VOICE-AGAIN", recording)
    assert again == playable
    # The message names the media id: that is the ref the console resolves to the file.
    (record,) = [r for r in wx.inbound() if "VOICE-REAL" in r["body"]]
    assert json.loads(record["body"])["attachments"][0]["ref"] == "VOICE-REAL"


async def test_without_ffmpeg_the_recording_is_kept_as_amr_with_one_warning(
    wx: WeChat, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_wechat_voice, "FFMPEG", "minshi-no-such-ffmpeg")
    resident = wx.resident()
    await resident.event("subscribe")
    with caplog.at_level(logging.INFO):
        first = await _record(wx, resident, "VOICE-A", amr_nb(0.4))
        second = await _record(wx, resident, "VOICE-B", amr_nb(0.6))
    assert first.suffix == second.suffix == ".amr"
    assert first.read_bytes() == amr_nb(0.4) and second.read_bytes() == amr_nb(0.6)
    warnings = [r for r in caplog.records if "ffmpeg is not installed" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


async def test_a_corrupt_recording_is_kept_as_amr(
    wx: WeChat, caplog: pytest.LogCaptureFixture
) -> None:
    broken = b"#!AMR\n" + b"\xff" * 40  # frame type 15 with the wrong bits: not decodable
    resident = wx.resident()
    await resident.event("subscribe")
    with caplog.at_level(logging.WARNING):
        kept = await _record(wx, resident, "VOICE-BROKEN", broken)
    assert kept.suffix == ".amr" and kept.read_bytes() == broken
    assert any("not converted" in r.getMessage() for r in caplog.records)
    assert not list(kept.parent.glob("*.part*"))
