"""One resident's messages are processed in the order they were stored, whichever
instances they reach; what a killed instance left half done — a message stored but
not processed, a webhook call without an answer — the other instance finishes, once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from pathlib import Path

import asyncpg
import httpx

from handoff import DEFAULT_CENTERS_PATH
from tests.chat import start_report, submit_case
from tests.console.conftest import Resident
from tests.webhooks.receiver import run_receiver

from .instances import (
    GUARD,
    People,
    kill,
    prepare_database,
    run_instances,
    turn_held,
    until,
    waiting_messages,
    web_user,
)

SECRET = "hotline-secret-0123456789"


async def _replies_by_message(db: asyncpg.Connection, resident: Resident) -> list[tuple[str, str]]:
    """(message text, reply text) as processed: in the order the replies were stored."""
    rows = await db.fetch(
        "SELECT i.body AS said, o.body AS answer FROM outbound o"
        " JOIN inbound i ON i.id = o.inbound_id"
        " WHERE i.channel = 'web' AND i.user_id = $1 ORDER BY o.id",
        web_user(resident),
    )
    return [(_text(r["said"]), _text(r["answer"])) for r in rows]


def _text(body: str) -> str:
    return str(json.loads(body).get("text", ""))


async def _stored_order(db: asyncpg.Connection, resident: Resident, texts: set[str]) -> list[str]:
    rows = await db.fetch(
        "SELECT body FROM inbound WHERE channel = 'web' AND user_id = $1 ORDER BY id",
        web_user(resident),
    )
    return [t for t in (_text(r["body"]) for r in rows) if t in texts]


async def test_messages_sent_at_once_to_two_instances_are_processed_in_stored_order(
    postgres_url: str, tmp_path: Path
) -> None:
    database = await prepare_database(postgres_url)
    people = People()
    db = await asyncpg.connect(database)
    try:
        async with run_instances(database, tmp_path) as (a, b):
            on_a = [await people.resident(a) for _ in range(8)]
            on_b = [await people.resident(b, r.token) for r in on_a]  # the same people
            await asyncio.gather(*(start_report(r) for r in on_a))
            lines = [f"第{n}段经过" for n in range(1, 5)]
            for first, second in zip(lines[::2], lines[1::2], strict=True):
                answered = await asyncio.gather(
                    *(r.say(first) for r in on_a), *(r.say(second) for r in on_b)
                )
                # Each reply reaches the resident once, in the answer of one request.
                for n in range(len(on_a)):
                    texts = [x["text"] for x in answered[n] + answered[n + len(on_a)]]
                    assert len(texts) == 2, texts
            for resident in on_a:
                stored = await _stored_order(db, resident, set(lines))
                processed = [
                    (said, answer)
                    for said, answer in await _replies_by_message(db, resident)
                    if said in lines
                ]
                assert [said for said, _ in processed] == stored
                for n, (_, answer) in enumerate(processed, start=1):
                    assert f"第 {n} 条" in answer, processed
    finally:
        await db.close()
        await people.aclose()


def _centers_with_hotline(path: Path, url: str) -> Path:
    """The shipped centers, 寺儿沟村 with one webhook endpoint (a 12345 hotline)."""
    lines = DEFAULT_CENTERS_PATH.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if "center: {name: 寺儿沟村综治中心" in line:
            lines[i] = line[:-1] + f', webhooks: [{{url: "{url}", secret: "{SECRET}"}}]}}'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def _sender_pid(db: asyncpg.Connection) -> int:
    """The process whose delivery worker is in the middle of a webhook call."""
    owner = await db.fetchval(
        "SELECT lease_owner FROM outbound WHERE channel = 'webhook' AND sending_at IS NOT NULL"
    )
    assert owner, "no webhook call in progress"
    return int(str(owner).split(":")[1])  # host:pid:worker


async def test_an_instance_killed_mid_turn_and_mid_send_the_other_finishes_its_work_once(
    postgres_url: str, tmp_path: Path
) -> None:
    database = await prepare_database(postgres_url)
    people = People()
    db = await asyncpg.connect(database)
    try:
        async with run_receiver({"hotline": SECRET}) as receiver:
            centers = _centers_with_hotline(
                tmp_path / "centers.yaml", f"{receiver.base_url}/hook/hotline"
            )
            env = {"MINSHI_CENTERS_FILE": str(centers), "MINSHI_OUTBOX_LEASE_SECONDS": "5"}
            async with run_instances(database, tmp_path, env) as (a, b):
                # A case is reported; the hotline takes the call about it and never answers.
                receiver.hang_next = True
                number = await submit_case(await people.resident(a), "邻居把我家门前的路挖断了")
                async with asyncio.timeout(GUARD):
                    await receiver.hung.wait()
                pid = await _sender_pid(db)
                victim, survivor = (a, b) if a.pid == pid else (b, a)
                assert victim.pid == pid
                # The next event of the case waits behind the unanswered one.
                mediator = await people.mediator(survivor, "li")
                r = await mediator.act(number, "claim", seen="assigned")
                assert r.status_code == 200, r.text

                # Two residents write to the victim while their turns are taken (a slow
                # turn elsewhere): the messages are stored, their turns wait. One of them
                # writes again, to the other instance.
                quiet, chatty = await people.resident(victim), await people.resident(victim)
                await quiet.start()
                await chatty.start()
                async with turn_held(database, quiet), turn_held(database, chatty):
                    stuck = [asyncio.create_task(x.say("我的事项")) for x in (quiet, chatty)]
                    await until(
                        "both messages stored",
                        lambda: _all_waiting(db, (quiet, 1), (chatty, 1)),
                    )
                    moved = await people.resident(survivor, chatty.token)
                    again = asyncio.create_task(moved.say("便民联系卡"))
                    await until("the second stored", lambda: _all_waiting(db, (chatty, 2)))
                    kill(victim)  # in the middle of two turns and a webhook call
                for task in stuck:
                    with contextlib.suppress(httpx.HTTPError):
                        await task
                    assert task.exception() is not None  # the victim never answered

                # The later message, on the survivor, answers the earlier one first.
                async with asyncio.timeout(GUARD):
                    answered = [x["text"] for x in await again]
                assert answered[0] == "您还没有反映过事情。", answered
                assert "联系卡" in answered[-1], answered

                # The message nobody followed up is taken over, and answered once.
                await until("the quiet message processed", lambda: _all_waiting(db, (quiet, 0)))
                said = await _replies_by_message(db, quiet)
                assert [x for x in said if x[0] == "我的事项"] == [
                    ("我的事项", "您还没有反映过事情。")
                ]
                history = await (await people.resident(survivor, quiet.token)).history()
                texts = [m["text"] for m in history]
                assert texts.count("您还没有反映过事情。") == 1
                assert texts.index("我的事项") < texts.index("您还没有反映过事情。")

                # After the lease the survivor calls the hotline again — once — and then
                # sends the claim, in order.
                await until(
                    "three calls at the hotline",
                    lambda: _true(len(receiver.received) >= 3),
                )
                await asyncio.sleep(1)  # nothing more comes
                assert receiver.events("hotline") == [
                    (number, "created"),
                    (number, "created"),
                    (number, "claimed"),
                ]
                first, again_, claimed = (x.delivery for x in receiver.received)
                assert first == again_ != claimed
                rows = await db.fetch(
                    "SELECT state, resends FROM outbound WHERE channel = 'webhook' ORDER BY id"
                )
                assert [(r["state"], r["resends"]) for r in rows] == [
                    ("delivered", 1),
                    ("delivered", 0),
                ]
                async with httpx.AsyncClient(trust_env=False) as client:
                    scraped = (await client.get(f"{survivor.base_url}/metrics")).text
                assert re.search(
                    r'^minshi_delivery_resends_total\{channel="webhook"\} 1(\.0)?$', scraped, re.M
                ), scraped
    finally:
        await db.close()
        await people.aclose()


async def _all_waiting(db: asyncpg.Connection, *expected: tuple[Resident, int]) -> bool:
    """Each resident has exactly this many messages stored and not processed."""
    for resident, count in expected:
        if len(await waiting_messages(db, resident)) != count:
            return False
    return True


async def _true(value: bool) -> bool:
    return value
