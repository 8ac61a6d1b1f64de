"""The web chat API and page as other clients see them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bot.config import Settings
from tests.chat import ZHANGYE_VILLAGE, pick_place, start_report

from .conftest import Clock, Resident, Service, rows, run_service

JPEG = b"\xff\xd8\xff\xe0" + b"photo of the blocked lane" * 10
WEBM = b"\x1a\x45\xdf\xa3" + b"a voice message" * 10
# Each file type the upload endpoints recognise, by its first bytes.
PHOTOS = {
    ".jpg": JPEG,
    ".png": b"\x89PNG\r\n\x1a\n" + bytes(40),
    ".webp": b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(40),
    ".heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(40),
}
VOICES = {
    ".webm": WEBM,
    ".ogg": b"OggS\x00\x02" + bytes(40),
    ".wav": b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(40),
    ".mp3": b"ID3\x04\x00" + bytes(40),
    ".m4a": b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom" + bytes(40),
}


async def upload(resident: Resident, what: str, data: bytes, content_type: str) -> str:
    """Upload a file as the page does; its ref."""
    r = await resident.client.post(
        f"/api/chat/{what}", content=data, headers=resident.headers | {"Content-Type": content_type}
    )
    assert r.status_code == 201, r.text
    ref: str = r.json()["ref"]
    return ref


async def test_page_and_health(service: Service) -> None:
    async with httpx.AsyncClient(base_url=service.base_url, trust_env=False) as client:
        page = await client.get("/chat?loc=620702103203")
        assert page.status_code == 200
        assert "民事直说" in page.text and "viewport" in page.text
        health = await client.get("/healthz")
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "ok" and body["database"] == "ok"
        assert body["faq_entries"] >= 72


async def test_messages_need_a_token(service: Service) -> None:
    async with httpx.AsyncClient(base_url=service.base_url, trust_env=False) as client:
        r = await client.post("/api/chat/messages", json={"text": "你好"})
        assert r.status_code == 401
        assert "token" in r.json()["error"]


async def test_bad_bodies_are_refused_with_a_reason(resident: Resident) -> None:
    cases = [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"text": "a", "choice": "b"}', "exactly one"),
        (b'{"text": "   "}', "non-empty"),
        (b'{"location": {"lat": "x", "lon": 1}}', "numeric"),
        (b'{"location": {"lat": 95, "lon": 1}}', "range"),
        (b'{"text": "hi", "id": 5}', "'id'"),
        (b'{"text": "' + "长".encode() * 2001 + b'"}', "longer than"),
    ]
    for raw, reason in cases:
        r = await resident.client.post(
            "/api/chat/messages",
            content=raw,
            headers=resident.headers | {"Content-Type": "application/json"},
        )
        assert r.status_code == 400, raw[:40]
        assert reason in r.json()["error"]


async def test_history_shows_both_sides(resident: Resident) -> None:
    await resident.start()
    await resident.say("菜单")
    r = await resident.client.get("/api/chat/messages", headers=resident.headers)
    messages = r.json()["messages"]
    assert [m["from"] for m in messages[:2]] == ["bot", "bot"]  # opening the chat is not shown
    assert any(m["from"] == "resident" and m["text"] == "菜单" for m in messages)


async def test_history_shows_what_the_resident_tapped_not_codes(
    resident: Resident, service: Service
) -> None:
    await start_report(resident)  # start, then tap 反映问题 and 邻里纠纷
    await resident.say("邻居把路堵了")
    await resident.post({"photo": await upload(resident, "photos", JPEG, "image/jpeg")})
    await resident.post({"voice": await upload(resident, "voice", WEBM, "audio/webm")})
    done = label_of(resident, "说完了")
    await resident.tap("说完了")
    await resident.send_location(38.93, 100.45)
    r = await resident.client.get("/api/chat/messages", headers=resident.headers)
    messages = r.json()["messages"]
    said = [m["text"] for m in messages if m["from"] == "resident"]
    assert said[0].startswith("反映问题") and said[1] == "邻里纠纷"
    assert said[2:] == ["邻居把路堵了", "📷 照片", "🎤 语音", done, "📍 位置"]
    assert not any(":" in text for text in said)  # no payload codes like menu:report
    inbound_ids = [r["id"] for r in rows(service.runtime.settings.db, "SELECT id FROM inbound")]
    resident_ids = [m["id"] for m in messages if m["from"] == "resident"]
    assert resident_ids == [f"in-{n}" for n in inbound_ids[1:]]  # the first one was the start
    bot_ids = [m["id"] for m in messages if m["from"] == "bot"]
    assert all(isinstance(n, int) for n in bot_ids) and bot_ids == sorted(set(bot_ids))


def label_of(resident: Resident, part: str) -> str:
    """The full label of the offered button that contains ``part``."""
    return next(label for label in resident.labels if part in label)


async def test_photos_are_kept_and_join_the_description(
    resident: Resident, service: Service
) -> None:
    await resident.start()
    await resident.tap("反映问题")
    await resident.tap("邻里纠纷")
    jpeg = b"\xff\xd8\xff\xe0" + b"photo of the blocked lane" * 10
    r = await resident.client.post(
        "/api/chat/photos", content=jpeg, headers=resident.headers | {"Content-Type": "image/jpeg"}
    )
    assert r.status_code == 201
    ref = r.json()["ref"]
    assert (service.runtime.settings.attachments_dir / ref).read_bytes() == jpeg
    await resident.post({"photo": ref})
    assert "照片/文件收到了（共 1 个）" in resident.text


async def test_photo_upload_refuses_other_files(resident: Resident) -> None:
    r = await resident.client.post(
        "/api/chat/photos",
        content=b"MZ...",
        headers=resident.headers | {"Content-Type": "application/x-msdownload"},
    )
    assert r.status_code == 415
    await resident.start()
    bad = await resident.client.post(
        "/api/chat/messages", json={"photo": "../../etc/passwd"}, headers=resident.headers
    )
    assert bad.status_code == 400


async def test_every_api_error_is_json_and_pages_get_html(resident: Resident) -> None:
    client = resident.client
    missing = await client.get("/api/chat/nothing-here")
    assert (missing.status_code, missing.json()) == (404, {"error": "Not Found"})
    wrong = await client.delete("/api/chat/messages", headers=resident.headers)
    assert (wrong.status_code, wrong.json()) == (405, {"error": "Method Not Allowed"})
    page = await client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "页面不存在" in page.text and "/chat" in page.text


async def test_a_garbage_content_length_is_a_400(resident: Resident, service: Service) -> None:
    host, port = service.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            (
                "POST /api/chat/photos HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: Bearer {resident.token}\r\n"
                "Content-Type: image/jpeg\r\nContent-Length: twelve\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
    finally:
        writer.close()
        await writer.wait_closed()
    assert status_line.split()[1] == b"400"


async def test_a_large_photo_upload_is_read_once(resident: Resident) -> None:
    data = b"\xff\xd8\xff" + bytes(7_000_000)
    r = await resident.client.post(
        "/api/chat/photos",
        content=data,
        headers=resident.headers | {"Content-Type": "image/jpeg"},
    )
    assert r.status_code == 201
    too_big = await resident.client.post(
        "/api/chat/photos",
        content=bytes(8 * 1024 * 1024 + 1),
        headers=resident.headers | {"Content-Type": "image/jpeg"},
    )
    assert (too_big.status_code, "larger than" in too_big.json()["error"]) == (413, True)


# -- tokens -------------------------------------------------------------------


async def test_only_tokens_the_server_issued_are_accepted(resident: Resident) -> None:
    nonce, mac = resident.token.split(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    made_up = [
        "x" * 40,  # the right length for the old unsigned tokens
        f"{nonce}.{flipped}",
        f"{'A' * len(nonce)}.{mac}",
        resident.token + "x",
        resident.token.replace(".", ""),
        "Bearer",
    ]
    client = resident.client
    for token in made_up:
        auth = {"Authorization": f"Bearer {token}"}
        requests = [
            client.post("/api/chat/messages", json={"text": "你好"}, headers=auth),
            client.get("/api/chat/messages", headers=auth),
            client.get("/api/chat/events", params={"token": token}),
            client.post(
                "/api/chat/photos", content=JPEG, headers=auth | {"Content-Type": "image/jpeg"}
            ),
            client.post(
                "/api/chat/voice", content=WEBM, headers=auth | {"Content-Type": "audio/webm"}
            ),
        ]
        for r in await asyncio.gather(*requests):
            assert r.status_code == 401, (token, r.request.url)
            assert "token" in r.json()["error"]
    ok = await client.get("/api/chat/messages", headers=resident.headers)
    assert ok.status_code == 200


async def test_tokens_outlive_a_restart_but_not_another_installation(
    settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    async with (
        run_service(settings, clock) as first,
        httpx.AsyncClient(base_url=first.base_url, trust_env=False) as client,
    ):
        token = (await client.post("/api/chat/session")).json()["token"]
        await Resident(client, token).start()
    async with (
        run_service(settings, clock) as second,
        httpx.AsyncClient(base_url=second.base_url, trust_env=False) as client,
    ):
        resident = Resident(client, token)
        history = await client.get("/api/chat/messages", headers=resident.headers)
        assert history.status_code == 200 and history.json()["messages"]
        await resident.say("菜单")  # answered (200) as the same resident
        assert "法律咨询" in resident.labels
    other = settings.model_copy(update={"db": tmp_path / "other.db"})
    async with (
        run_service(other, clock) as elsewhere,
        httpx.AsyncClient(base_url=elsewhere.base_url, trust_env=False) as client,
    ):
        refused = await client.get(
            "/api/chat/messages", headers={"Authorization": f"Bearer {token}"}
        )
        assert refused.status_code == 401


# -- message ids --------------------------------------------------------------


async def test_residents_using_the_same_message_ids_stay_apart(
    new_resident: Callable[[], Any], service: Service
) -> None:
    a: Resident = await new_resident()
    b: Resident = await new_resident()
    await a.post({"id": "open", "start": ""})
    await b.post({"id": "open", "start": ""})
    assert "民事直说" in b.text  # B's own greeting, not "already processed"
    asked = await a.post({"id": "x", "choice": a.choice("法律咨询")})
    reported = await b.post({"id": "x", "choice": b.choice("反映问题")})
    assert "邻里纠纷" in b.labels  # B's own next step: the kinds of matter
    assert {r["id"] for r in asked}.isdisjoint(r["id"] for r in reported)
    assert not any(r["text"] in b.text for r in asked)
    stored = rows(
        service.runtime.settings.db,
        "SELECT user_id, processed_at FROM inbound WHERE platform_msg_id = 'x'",
    )
    assert len({r["user_id"] for r in stored}) == 2
    assert all(r["processed_at"] for r in stored)


# -- bodies the storage cannot keep -------------------------------------------


async def test_strings_that_are_not_unicode_text_are_a_400(
    resident: Resident, service: Service
) -> None:
    await resident.start()
    db = service.runtime.settings.db
    before = rows(db, "SELECT COUNT(*) AS n FROM inbound")
    bodies = [
        b'{"text": "\\ud800"}',
        b'{"text": "ok \\udfff"}',
        b'{"choice": "\\ud800"}',
        b'{"start": "\\ud800"}',
        b'{"text": "hi", "id": "\\ud800"}',
        b'{"photo": "\\ud800"}',
        b'{"voice": "\\ud800"}',
        b'{"location": {"lat": 1, "lon": 2, "label": "\\ud800"}}',
        b'{"text": "hi", "\\ud800": 1}',
    ]
    for raw in bodies:
        r = await resident.client.post(
            "/api/chat/messages",
            content=raw,
            headers=resident.headers | {"Content-Type": "application/json"},
        )
        assert r.status_code == 400, raw
        assert "Unicode" in r.json()["error"]
    assert rows(db, "SELECT COUNT(*) AS n FROM inbound") == before


async def test_coordinates_must_be_numbers(resident: Resident, service: Service) -> None:
    await resident.start()
    db = service.runtime.settings.db
    before = rows(db, "SELECT COUNT(*) AS n FROM inbound")
    for lat, lon in [("38.9", 100.4), (38.9, "100.4"), (True, 100.4), (38.9, False), (None, 1)]:
        r = await resident.client.post(
            "/api/chat/messages",
            json={"location": {"lat": lat, "lon": lon}},
            headers=resident.headers,
        )
        assert r.status_code == 400 and "numeric" in r.json()["error"], (lat, lon)
    nested = await resident.client.post(
        "/api/chat/messages", content=b"[" * 5000, headers=resident.headers
    )
    assert nested.status_code == 400
    assert rows(db, "SELECT COUNT(*) AS n FROM inbound") == before


# -- uploads ------------------------------------------------------------------


async def test_a_photo_must_be_uploaded_by_its_sender(
    new_resident: Callable[[], Any], service: Service
) -> None:
    a: Resident = await new_resident()
    b: Resident = await new_resident()
    for r in (a, b):
        await start_report(r)
    never_uploaded = "0" * 64 + ".jpg"
    ref = await upload(a, "photos", JPEG, "image/jpeg")
    for sender, photo in [(a, never_uploaded), (b, ref)]:
        refused = await sender.client.post(
            "/api/chat/messages", json={"photo": photo}, headers=sender.headers
        )
        assert refused.status_code == 400
        assert "uploaded" in refused.json()["error"]
    await a.post({"photo": ref})
    assert "照片/文件收到了（共 1 个）" in a.text
    # The same bytes uploaded by B make the ref B's too.
    assert await upload(b, "photos", JPEG, "image/jpeg") == ref
    await b.post({"photo": ref})
    assert "照片/文件收到了（共 1 个）" in b.text
    owners = rows(service.runtime.settings.db, "SELECT user_id, kind FROM uploads")
    assert len(owners) == 2 and {o["kind"] for o in owners} == {"photo"}


async def test_photos_are_recognised_by_their_content(resident: Resident, service: Service) -> None:
    for extension, data in PHOTOS.items():
        ref = await upload(resident, "photos", data, "image/jpeg")
        assert ref.endswith(extension)  # named by what it is, not by what it claims
    for fake in [b"MZ\x90\x00 a program", b"<html>not a photo</html>", WEBM, b"RIFF1234WAVE"]:
        r = await resident.client.post(
            "/api/chat/photos",
            content=fake,
            headers=resident.headers | {"Content-Type": "image/jpeg"},
        )
        assert r.status_code == 415, fake
        assert "not a photo" in r.json()["error"]
    stored = sorted(p.suffix for p in service.runtime.settings.attachments_dir.iterdir())
    assert stored == sorted(PHOTOS)


async def test_voice_messages_join_the_report(resident: Resident, service: Service) -> None:
    await start_report(resident)
    ref = await upload(resident, "voice", WEBM, "audio/webm;codecs=opus")
    assert ref.endswith(".webm")
    assert (service.runtime.settings.attachments_dir / ref).read_bytes() == WEBM
    await resident.post({"voice": ref})
    assert "照片/文件收到了（共 1 个）" in resident.text
    await resident.tap("说完了")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    await resident.tap("确认提交")
    assert "已提交" in resident.text
    stored = rows(service.runtime.settings.db, "SELECT attachments FROM case_messages")
    assert json.loads(stored[0]["attachments"]) == [{"kind": "voice", "ref": ref, "name": ""}]


async def test_voice_uploads_accept_recordings_only(resident: Resident, service: Service) -> None:
    for extension, data in VOICES.items():
        assert (await upload(resident, "voice", data, "audio/mpeg")).endswith(extension)
    refusals = [
        (JPEG, "image/jpeg", 415),
        (JPEG, "audio/webm", 415),
        (PHOTOS[".heic"], "audio/mp4", 415),
        (b"MZ\x90\x00", "audio/ogg", 415),
        (b"", "audio/webm", 400),
        (b"\x1a\x45\xdf\xa3" + bytes(4 * 1024 * 1024), "audio/webm", 413),
    ]
    for data, content_type, status in refusals:
        r = await resident.client.post(
            "/api/chat/voice",
            content=data,
            headers=resident.headers | {"Content-Type": content_type},
        )
        assert (r.status_code, "error" in r.json()) == (status, True), content_type
    await start_report(resident)
    photo = await upload(resident, "photos", JPEG, "image/jpeg")
    for body in [{"voice": photo}, {"voice": "0" * 64 + ".webm"}, {"photo": f"{photo[:-4]}.webm"}]:
        r = await resident.client.post("/api/chat/messages", json=body, headers=resident.headers)
        assert r.status_code == 400, body
    kinds = rows(
        service.runtime.settings.db, "SELECT kind, COUNT(*) AS n FROM uploads GROUP BY kind"
    )
    assert kinds == [{"kind": "photo", "n": 1}, {"kind": "voice", "n": len(VOICES)}]
