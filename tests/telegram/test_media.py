"""Photos, voice notes and files residents send: case content, fetched in the background."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from tests.chat import ZHANGYE_VILLAGE, pick_place, start_report
from tests.console.conftest import VILLAGE, Mediator, add_account, people
from tests.support import Service, rows

from .conftest import Telegram, eventually

__all__ = ["people"]  # the console's fixture that logs mediators in

JPEG = b"\xff\xd8\xff\xe0" + b"photo of the wall" * 50
OGG = b"OggS" + b"a voice note" * 40


def photo_sizes(file_id: str, size: int) -> list[dict[str, object]]:
    """What Telegram sends for one photo: several sizes, the largest last."""
    return [
        {"file_id": f"{file_id}-small", "file_unique_id": "s", "width": 90, "height": 60},
        {
            "file_id": file_id,
            "file_unique_id": "l",
            "width": 1280,
            "height": 960,
            "file_size": size,
        },
    ]


async def _local_file(telegram: Telegram, file_id: str) -> str:
    store = telegram.runtime.store
    found: list[str] = []

    async def fetched() -> bool:
        name = await store.local_file("telegram", file_id)
        found[:] = [name] if name else []
        return bool(name)

    await eventually(fetched)
    return found[0]


async def test_photo_without_caption_is_kept_and_fetched_outside_the_webhook(
    webhook: Telegram,
) -> None:
    fake = webhook.fake
    fake.add_file("AgPhoto1", "photos/file_1.jpg", JPEG)
    resident = webhook.resident()
    await start_report(resident)
    release = fake.hold("getFile")  # Telegram is slow to hand out the file

    await resident.send_message(photo=photo_sizes("AgPhoto1", len(JPEG)))
    assert "照片/文件收到了（共 1 个）" in resident.text  # answered while getFile still waits
    await fake.wait_for(lambda: bool(fake.called("getFile")))
    assert [c.params["file_id"] for c in fake.called("getFile")] == ["AgPhoto1"]  # the largest
    release.set()

    name = await _local_file(webhook, "AgPhoto1")
    assert name == hashlib.sha256(JPEG).hexdigest() + ".jpg"
    assert (webhook.runtime.settings.attachments_dir / name).read_bytes() == JPEG
    await resident.tap("说完了")
    await resident.tap("按地区选")
    inbound = rows(
        webhook.runtime.settings.db,
        "SELECT body FROM inbound WHERE kind = 'attachment' AND user_id = ?",
        (str(resident.chat_id),),
    )
    assert len(inbound) == 1
    assert [a["ref"] for a in json.loads(inbound[0]["body"])["attachments"]] == ["AgPhoto1"]


async def test_photo_with_caption_is_text_and_photo(polling: Telegram) -> None:
    polling.fake.add_file("AgPhoto2", "photos/file_2.jpg", JPEG)
    resident = polling.resident()
    await start_report(resident)
    await resident.send_message(
        photo=photo_sizes("AgPhoto2", len(JPEG)), caption="墙就砌在巷道中间"
    )
    assert "第 1 条" in resident.text  # the caption, as a line of the description
    assert "共 1 个" in resident.text  # and the photo
    await _local_file(polling, "AgPhoto2")


async def test_voice_note_is_kept(polling: Telegram) -> None:
    polling.fake.add_file("AwVoice1", "voice/file_3.oga", OGG)
    resident = polling.resident()
    await start_report(resident)
    voice = {
        "file_id": "AwVoice1",
        "file_unique_id": "v1",
        "duration": 4,
        "mime_type": "audio/ogg",
        "file_size": len(OGG),
    }
    await resident.send_message(voice=voice)
    assert "共 1 个" in resident.text
    name = await _local_file(polling, "AwVoice1")
    assert name.endswith(".oga")
    (body,) = rows(
        polling.runtime.settings.db, "SELECT body FROM inbound WHERE kind = 'attachment'"
    )
    assert [a["kind"] for a in json.loads(body["body"])["attachments"]] == ["voice"]


async def test_documents_video_and_audio_are_attachments(webhook: Telegram) -> None:
    resident = webhook.resident()
    await start_report(resident)
    kinds: dict[str, dict[str, Any]] = {
        "document": {"file_id": "Doc1", "file_name": "合同.pdf", "mime_type": "application/pdf"},
        "video": {"file_id": "Vid1", "width": 1, "height": 1, "duration": 3},
        "video_note": {"file_id": "Note1", "length": 240, "duration": 3},
        "audio": {"file_id": "Aud1", "duration": 3, "file_name": "录音.mp3"},
    }
    for n, (field, media) in enumerate(kinds.items(), start=1):
        webhook.fake.add_file(str(media["file_id"]), f"files/{field}.bin", b"x" * n)
        await resident.send_message(**{field: {"file_unique_id": field, **media}})
        assert f"共 {n} 个" in resident.text
    for media in kinds.values():
        await _local_file(webhook, str(media["file_id"]))


async def test_a_file_over_the_cap_is_refused_with_a_clear_message(webhook: Telegram) -> None:
    resident = webhook.resident()
    await start_report(resident)
    too_big = {"file_id": "Big1", "file_unique_id": "b", "file_size": 21 * 1024 * 1024}
    await resident.send_message(document={**too_big, "file_name": "录像.mp4"})
    (hint,) = resident.replies
    assert "太大" in hint["text"] and "20 MB" in hint["text"]
    assert not webhook.fake.called("getFile")
    kinds = rows(webhook.runtime.settings.db, "SELECT kind FROM inbound")
    assert "attachment" not in [k["kind"] for k in kinds]


async def test_the_mediator_holding_the_case_sees_the_photo_and_hears_the_voice(
    webhook: Telegram, people: Callable[[Service, str], Awaitable[Mediator]]
) -> None:
    """The console serves a Telegram file by its platform ref, once fetched."""
    fake = webhook.fake
    fake.add_file("AgPhoto9", "photos/file_9.jpg", JPEG)
    fake.add_file("AwVoice9", "voice/file_9.oga", OGG)
    resident = webhook.resident()
    await start_report(resident)
    await resident.send_message(text="邻居在巷道口砌了墙")
    await resident.send_message(photo=photo_sizes("AgPhoto9", len(JPEG)))
    voice = {"file_id": "AwVoice9", "file_unique_id": "v9", "duration": 3, "file_size": len(OGG)}
    await resident.send_message(voice=voice)
    await resident.tap("说完了")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    await resident.tap("确认提交")
    found = re.search(r"MS\d{6}-\d{4}", resident.text)
    assert found, resident.text
    number = found.group(0)
    await _local_file(webhook, "AgPhoto9")
    await _local_file(webhook, "AwVoice9")

    await add_account(webhook.runtime, "wang", center=VILLAGE)
    mediator = await people(webhook.service, "wang")
    assert (await mediator.act(number, "claim")).status_code == 200
    view = await mediator.case(number)
    urls = {
        a["kind"]: a["url"]
        for m in view["transcript"]
        if m["who"] == "resident"
        for a in m["attachments"]
    }
    assert urls == {
        "photo": f"/console/cases/{number}/files/AgPhoto9",
        "voice": f"/console/cases/{number}/files/AwVoice9",
    }
    photo = await mediator.get(urls["photo"])
    assert photo.status_code == 200 and photo.content == JPEG
    assert photo.headers["content-type"] == "image/jpeg"
    recording = await mediator.get(urls["voice"])
    assert recording.status_code == 200 and recording.content == OGG
    assert recording.headers["content-type"].startswith("audio/ogg")
