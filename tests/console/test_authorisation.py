"""Who may do what on the console: every role against every route and action.

The roles: a mediator of the village center (the case is theirs), a
colleague of the same center, a mediator of the township above (sees the
village's overdue cases, may send 督办), a mediator of a township beside it
(sees nothing), the village's center admin, the county leader (counts
only) and a system admin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from bot.console.sessions import ACCOUNT_LIMIT, ADDRESS_LIMIT
from tests.support import Clock, Service, rows

from .conftest import (
    COUNTY,
    OTHER_TOWNSHIP,
    PASSWORD,
    TOWNSHIP,
    VILLAGE,
    Mediator,
    add_account,
    open_case,
)

People = Callable[[Service, str], Awaitable[Mediator]]
ROLES = {
    "owner": ("mediator", VILLAGE),
    "colleague": ("mediator", VILLAGE),
    "above": ("mediator", TOWNSHIP),
    "beside": ("mediator", OTHER_TOWNSHIP),
    "chief": ("center-admin", VILLAGE),
    "leader": ("leader", COUNTY),
    "root": ("admin", "620000"),
}
API = "/console/api"


@pytest.fixture
async def staff(quiet_service: Service, people: People) -> dict[str, Mediator]:
    for username, (role, center) in ROLES.items():
        await add_account(quiet_service.runtime, username, role, center)
    return {username: await people(quiet_service, username) for username in ROLES}


async def test_reading_the_queue_cases_and_counts_by_role(
    quiet_service: Service, staff: dict[str, Mediator]
) -> None:
    rt = quiet_service.runtime
    case = await open_case(rt)
    elsewhere = await open_case(rt, OTHER_TOWNSHIP, description="别的镇的事")
    expected_case = {  # GET the village case / the case of the township beside / a made-up one
        "owner": (200, 404, 404),
        "colleague": (200, 404, 404),
        "above": (404, 404, 404),  # not overdue: nothing to supervise yet
        "beside": (404, 200, 404),
        "chief": (200, 404, 404),
        "leader": (403, 403, 403),
        "root": (200, 200, 404),
    }
    for username, expected in expected_case.items():
        person = staff[username]
        got = []
        for number in (case.number, elsewhere.number, "MS261122-9999"):
            got.append((await person.get(f"{API}/cases/{number}")).status_code)
        assert tuple(got) == expected, username
    guessed = await staff["owner"].get(f"{API}/cases/{elsewhere.number}")
    made_up = await staff["owner"].get(f"{API}/cases/MS261122-9999")
    assert guessed.json() == made_up.json()  # a guess learns nothing

    for username in ROLES:
        queue = await staff[username].get(f"{API}/queue")
        stats = await staff[username].get(f"{API}/stats")
        accounts = await staff[username].get(f"{API}/accounts")
        expected_queue = 403 if username == "leader" else 200
        expected_stats = 200 if username in ("chief", "leader", "root") else 403
        expected_accounts = 200 if username in ("chief", "root") else 403
        assert (queue.status_code, stats.status_code, accounts.status_code) == (
            expected_queue,
            expected_stats,
            expected_accounts,
        ), username
    numbers = [c["number"] for c in (await staff["owner"].get(f"{API}/queue")).json()["cases"]]
    assert numbers == [case.number]
    assert (await staff["beside"].get(f"{API}/queue?center={VILLAGE}")).status_code == 403
    root_view = (await staff["root"].get(f"{API}/queue?center={OTHER_TOWNSHIP}")).json()
    assert [c["number"] for c in root_view["cases"]] == [elsewhere.number]

    counts = (await staff["leader"].get(f"{API}/stats")).json()
    assert counts["total"]["assigned"] == 2 and counts["all"] == 2
    assert "13812345678" not in str(counts) and "挖断" not in str(counts)
    accounts = (await staff["chief"].get(f"{API}/accounts")).json()["accounts"]
    assert {a["username"] for a in accounts} == {"owner", "colleague", "chief"}


async def test_acting_on_a_case_by_role(
    quiet_service: Service, staff: dict[str, Mediator], clock: Clock
) -> None:
    rt = quiet_service.runtime
    case = await open_case(rt)
    number = case.number
    for outsider in ("above", "beside", "leader"):
        for action, body in (
            ("claim", {}),
            ("note", {"text": "看看"}),
            ("escalate", {"reason": "太难"}),
            ("transfer", {"to": OTHER_TOWNSHIP, "reason": "不归我们"}),
            ("resolve", {"outcome": "mediated", "note": "好了"}),
        ):
            r = await staff[outsider].act(number, action, **body)
            assert r.status_code == (403 if outsider == "leader" else 404), (outsider, action)
    r = await staff["owner"].act(number, "reply", text="您好")
    assert r.status_code == 403 and "认领" in r.json()["error"]  # claim first

    assert (await staff["owner"].act(number, "claim")).status_code == 200
    r = await staff["colleague"].act(number, "claim")
    assert r.status_code == 409
    assert r.json()["holder"] == "owner" and r.json()["holder_name"] == "调解员owner"
    r = await staff["colleague"].act(number, "reply", text="我来回复")
    assert r.status_code == 403  # only the one who claimed it talks to the resident
    r = await staff["colleague"].act(number, "resolve", outcome="mediated", note="好了")
    assert r.status_code == 403
    r = await staff["colleague"].act(number, "note", text="这家人我认识，可以帮忙")
    assert r.status_code == 200
    r = await staff["root"].act(number, "reply", text="管理员也不能替人回复")
    assert r.status_code == 403

    owner_view = await staff["owner"].case(number)
    colleague_view = await staff["colleague"].case(number)
    chief_view = await staff["chief"].case(number)
    assert owner_view["phone"] == "13812345678" and owner_view["phone_full"]
    assert colleague_view["phone"] == chief_view["phone"] == "138****5678"
    assert not colleague_view["phone_full"]
    assert owner_view["can"]["reply"] and not colleague_view["can"]["reply"]
    assert [m["who"] for m in owner_view["transcript"]][-1] == "note"

    r = await staff["above"].act(number, "supervise", text="请今天之内联系居民")
    assert r.status_code == 404  # not overdue: not the township's business yet
    clock.advance(hours=25)
    assert (await staff["above"].get(f"{API}/queue")).status_code == 401  # sessions last 12 h
    for username in ("above", "beside", "owner", "chief"):
        assert (await staff[username].login()).status_code == 200
    above_view = await staff["above"].case(number)
    assert above_view["access"] == "supervise" and above_view["phone"] == "138****5678"
    assert above_view["can"] == {
        "claim": False,
        "reply": False,
        "note": False,
        "transfer": False,
        "escalate": False,
        "resolve": False,
        "supervise": True,
    }
    below = (await staff["above"].get(f"{API}/queue")).json()["below_overdue"]
    assert [c["number"] for c in below] == [number]
    assert (await staff["above"].act(number, "claim")).status_code == 403
    assert (await staff["beside"].act(number, "supervise", text="督办")).status_code == 404
    r = await staff["above"].act(number, "supervise", text="请今天之内联系居民")
    assert r.status_code == 200
    owner_view = await staff["owner"].case(number)
    (supervision,) = owner_view["supervision"]
    assert supervision["text"] == "请今天之内联系居民" and "沙井镇综治中心" in supervision["label"]

    r = await staff["owner"].act(number, "reply", text="您好，我明天上门。")
    assert r.status_code == 200
    r = await staff["chief"].act(number, "transfer", to=OTHER_TOWNSHIP, reason="在党寨镇地界")
    assert r.status_code == 200 and r.json()["gone"]  # a center admin may move a colleague's case
    assert (await staff["owner"].get(f"{API}/cases/{number}")).status_code == 404
    assert (await staff["beside"].get(f"{API}/cases/{number}")).status_code == 200
    moved = (await staff["beside"].get(f"{API}/queue")).json()["cases"]
    assert [(c["number"], c["moved_in"], c["moved_label"]) for c in moved] == [
        (number, "transferred", "转来的")
    ]


async def test_csrf_is_required_and_bound_to_the_session(
    quiet_service: Service, staff: dict[str, Mediator]
) -> None:
    case = await open_case(quiet_service.runtime)
    owner, colleague = staff["owner"], staff["colleague"]
    claim = f"{API}/cases/{case.number}/claim"
    assert (await owner.post(claim, csrf="")).status_code == 403
    assert (await owner.post(claim, csrf="not-the-token")).status_code == 403
    r = await owner.post(claim, csrf=colleague.csrf)  # another session's token
    assert r.status_code == 403 and "CSRF" in r.json()["error"]
    assert (await owner.case(case.number))["status"] == "assigned"  # nothing happened
    r = await owner.client.post(claim, content="csrf=x", headers={"X-CSRF-Token": owner.csrf})
    assert r.status_code == 415  # a cross-site form cannot post JSON
    assert (await owner.post(claim)).status_code == 200

    # The pages: a form post without the hidden token is refused the same way.
    page = await colleague.client.post(f"/console/cases/{case.number}/note", data={"text": "x"})
    assert page.status_code == 403 and "text/html" in page.headers["content-type"]
    page = await colleague.client.post(
        f"/console/cases/{case.number}/note", data={"text": "有空我也去", "csrf": colleague.csrf}
    )
    assert page.status_code == 303
    assert page.headers["location"] == f"/console/cases/{case.number}"


async def test_not_logged_in_is_401_on_the_api_and_the_login_page_on_pages(
    quiet_service: Service,
) -> None:
    case = await open_case(quiet_service.runtime)
    async with httpx.AsyncClient(base_url=quiet_service.base_url, trust_env=False) as anon:
        for method, path in (
            ("GET", f"{API}/queue"),
            ("GET", f"{API}/cases/{case.number}"),
            ("POST", f"{API}/cases/{case.number}/claim"),
            ("POST", f"{API}/walk-in"),
            ("GET", f"{API}/stats"),
            ("GET", f"{API}/accounts"),
            ("GET", f"{API}/places?q=寺儿沟"),
            ("GET", f"/console/cases/{case.number}/files/{'0' * 64}.jpg"),
        ):
            r = await anon.request(method, path, json={})
            if path.startswith(API):
                assert r.status_code == 401 and "error" in r.json(), path
            else:
                assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
        r = await anon.get(f"/console/cases/{case.number}")
        assert r.status_code == 303
        assert r.headers["location"] == f"/console/login?next=/console/cases/{case.number}"
        r = await anon.get(
            f"{API}/cases/{case.number}", headers={"Cookie": "minshi_console=forged.mac"}
        )
        assert r.status_code == 401


async def test_logout_ends_the_session_and_disabling_ends_every_session(
    quiet_service: Service, staff: dict[str, Mediator], settings: object
) -> None:
    owner, colleague, chief = staff["owner"], staff["colleague"], staff["chief"]
    cookie = owner.client.cookies.get("minshi_console")
    assert cookie
    r = await owner.post(f"{API}/logout")
    assert r.status_code == 200
    assert (await owner.get(f"{API}/queue")).status_code == 401
    async with httpx.AsyncClient(base_url=quiet_service.base_url, trust_env=False) as thief:
        replay = await thief.get(f"{API}/queue", headers={"Cookie": f"minshi_console={cookie}"})
        assert replay.status_code == 401  # the old cookie is worth nothing
    db = quiet_service.runtime.settings.db
    ended = rows(db, "SELECT ended_at FROM console_sessions WHERE ended_at IS NOT NULL")
    assert len(ended) == 1
    stored = rows(db, "SELECT id FROM console_sessions")
    assert all(cookie.split(".")[0] != row["id"] for row in stored)  # only a digest is kept

    r = await chief.post(f"{API}/accounts/colleague/disable")
    assert r.status_code == 200 and r.json()["active"] is False
    assert (await colleague.get(f"{API}/queue")).status_code == 401
    assert (await colleague.login()).status_code == 401
    assert (await chief.post(f"{API}/accounts/root/disable")).status_code == 404
    assert (await staff["owner"].login()).status_code == 200


async def test_center_admins_manage_only_their_own_mediators(
    quiet_service: Service, staff: dict[str, Mediator], people: People
) -> None:
    chief, root = staff["chief"], staff["root"]
    new = {"username": "li.na", "name": "李娜", "password": "a-new-pass-1"}
    r = await chief.post(f"{API}/accounts", new)
    assert r.status_code == 201 and r.json()["center_id"] == VILLAGE
    assert (await chief.post(f"{API}/accounts", new)).status_code == 409
    r = await chief.post(f"{API}/accounts", {**new, "username": "x2", "center_id": TOWNSHIP})
    assert r.status_code == 403
    r = await chief.post(f"{API}/accounts", {**new, "username": "x3", "role": "admin"})
    assert r.status_code == 403
    r = await chief.post(f"{API}/accounts", {**new, "username": "x4", "password": "short"})
    assert r.status_code == 400 and "8" in r.json()["error"]
    assert (await staff["owner"].post(f"{API}/accounts", new)).status_code == 403
    assert (await chief.post(f"{API}/accounts/above/disable")).status_code == 404

    r = await chief.post(f"{API}/accounts/owner/password", {"password": "brand-new-pass"})
    assert r.status_code == 200
    assert (await staff["owner"].get(f"{API}/queue")).status_code == 401  # logged out
    assert (await staff["owner"].login()).status_code == 401
    assert (await staff["owner"].login("brand-new-pass")).status_code == 200
    r = await root.post(
        f"{API}/accounts",
        {
            "username": "zhang",
            "name": "张局",
            "password": PASSWORD,
            "role": "leader",
            "center_id": COUNTY,
        },
    )
    assert r.status_code == 201 and r.json()["role_label"] == "领导"
    assert (await people(quiet_service, "zhang")).csrf


async def test_failed_logins_are_throttled_with_retry_after(
    quiet_service: Service, clock: Clock
) -> None:
    await add_account(quiet_service.runtime, "owner")
    owner = Mediator(quiet_service.base_url, "owner")
    try:
        for _ in range(ACCOUNT_LIMIT):
            assert (await owner.login("wrong password")).status_code == 401
        r = await owner.login()  # even the right password waits now
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) == 15 * 60
        clock.advance(minutes=10)
        assert int((await owner.login()).headers["retry-after"]) == 5 * 60
        clock.advance(minutes=5)
        assert (await owner.login()).status_code == 200

        # From one address: many usernames tried (another account is then throttled too).
        guesser = Mediator(quiet_service.base_url, "")
        for n in range(ADDRESS_LIMIT):
            guesser.username = f"guess{n}"
            assert (await guesser.login("x" * 8)).status_code == 401
        r = await owner.login()
        assert r.status_code == 429 and r.json()["retry_after"] == 15 * 60
        page = await guesser.client.get("/console/login")  # the login form says it too
        token = page.text.split('name="login_token" value="')[1].split('"')[0]
        form = {"username": "owner", "password": PASSWORD, "login_token": token}
        r = await guesser.client.post("/console/login", data=form)
        assert r.status_code == 429 and "分钟后再试" in r.text and r.headers["retry-after"]
        await guesser.client.aclose()
    finally:
        await owner.client.aclose()


async def test_photos_are_served_only_to_those_who_see_the_case(
    quiet_service: Service, staff: dict[str, Mediator], tmp_path: Path
) -> None:
    rt = quiet_service.runtime
    ref = "a" * 64 + ".jpg"
    rt.settings.attachments_dir.mkdir(parents=True, exist_ok=True)
    (rt.settings.attachments_dir / ref).write_bytes(b"\xff\xd8\xffphoto")
    other = "b" * 64 + ".jpg"
    (rt.settings.attachments_dir / other).write_bytes(b"\xff\xd8\xffother")
    case = await open_case(rt, attachments=({"kind": "photo", "ref": ref, "name": ""},))
    url = f"/console/cases/{case.number}/files/{ref}"
    r = await staff["colleague"].get(url)
    assert r.status_code == 200 and r.content == b"\xff\xd8\xffphoto"
    assert r.headers["content-type"] == "image/jpeg"
    assert (await staff["beside"].get(url)).status_code == 404
    assert (await staff["leader"].get(url)).status_code == 403
    r = await staff["owner"].get(f"/console/cases/{case.number}/files/{other}")
    assert r.status_code == 404  # a file of no message of this case
    view = await staff["owner"].case(case.number)
    (first,) = [m for m in view["transcript"] if m["who"] == "resident"]
    assert first["attachments"] == [{"kind": "photo", "url": url, "label": "📷 照片"}]


async def test_pages_by_role(quiet_service: Service, staff: dict[str, Mediator]) -> None:
    case = await open_case(quiet_service.runtime)
    expected = {  # queue, case page, walk-in form, accounts, counts
        "owner": (200, 200, 200, 403, 403),
        "above": (200, 404, 200, 403, 403),
        "chief": (200, 200, 200, 200, 200),
        "leader": (403, 403, 403, 403, 200),
        "root": (200, 200, 200, 200, 200),
    }
    paths = [
        "/console/queue",
        f"/console/cases/{case.number}",
        "/console/walk-in",
        "/console/accounts",
        "/console/stats",
    ]
    for username, statuses in expected.items():
        got = [(await staff[username].get(path)).status_code for path in paths]
        assert tuple(got) == statuses, username
    home = await staff["leader"].get("/console")
    assert home.headers["location"] == "/console/stats"
    stats = await staff["leader"].get("/console/stats")
    assert "甘州区综治中心" in stats.text and "待认领" in stats.text
    assert case.number not in stats.text and "挖断" not in stats.text

    chief = staff["chief"]
    form = {"username": "zhao", "name": "赵敏", "password": "zhao-password", "csrf": chief.csrf}
    r = await chief.client.post("/console/accounts", data=form)
    assert r.status_code == 303
    page = await chief.get("/console/accounts")
    assert "赵敏" in page.text and "zhao" in page.text
    r = await chief.client.post("/console/accounts/zhao/disable", data={"csrf": chief.csrf})
    assert r.status_code == 303
    assert "已停用" in (await chief.get("/console/accounts")).text
    r = await chief.client.post("/console/accounts", data={**form, "username": "Bad Name"})
    assert r.status_code == 400 and "用户名用" in r.text
