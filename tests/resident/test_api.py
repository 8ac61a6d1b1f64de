"""The web chat API and page as other clients see them."""

from __future__ import annotations

import httpx

from .conftest import Resident, Service


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
    await resident.say("/start")
    await resident.say("菜单")
    r = await resident.client.get("/api/chat/messages", headers=resident.headers)
    messages = r.json()["messages"]
    assert [m["from"] for m in messages[:2]] == ["resident", "bot"]
    assert any(m["from"] == "resident" and m["text"] == "菜单" for m in messages)


async def test_photos_are_kept_and_join_the_description(
    resident: Resident, service: Service
) -> None:
    await resident.say("/start")
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
    await resident.say("/start")
    bad = await resident.client.post(
        "/api/chat/messages", json={"photo": "../../etc/passwd"}, headers=resident.headers
    )
    assert bad.status_code == 400
