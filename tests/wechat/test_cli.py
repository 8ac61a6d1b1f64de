"""``minshi wechat menu`` and ``minshi wechat qrcode`` against the fake WeChat API."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bot.channels._wechat_api import WeChatApi
from bot.cli import main
from common.clock import ManualClock

from .fake_api import APP_ID, APP_SECRET, FakeWeChat
from .sim import TOKEN


@pytest.fixture
def configured(fake: FakeWeChat, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeWeChat:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for key in [k for k in os.environ if k.startswith("MINSHI_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("MINSHI_WECHAT_APP_ID", APP_ID)
    monkeypatch.setenv("MINSHI_WECHAT_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("MINSHI_WECHAT_TOKEN", TOKEN)
    monkeypatch.setenv("MINSHI_WECHAT_API_URL", fake.url)
    return fake


async def minshi(*args: str) -> int:
    """The command as an admin runs it (in a thread: it runs its own event loop)."""
    return await asyncio.to_thread(main, list(args))


async def test_the_shipped_menu_is_created(
    configured: FakeWeChat, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await minshi("wechat", "menu") == 0
    (menu,) = configured.menus
    names = [b["name"] for b in menu["button"]]
    assert names == ["法律咨询", "反映问题", "我的"]
    assert menu["button"][0] == {"name": "法律咨询", "type": "click", "key": "menu:ask"}
    keys = [s["key"] for s in menu["button"][2]["sub_button"]]
    assert keys == ["menu:cases", "menu:human", "menu:card"]
    assert "菜单已更新" in capsys.readouterr().out


async def test_a_broken_menu_file_is_reported_by_line_and_not_sent(
    configured: FakeWeChat, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    menu = tmp_path / "menu.yaml"
    menu.write_text(
        "button:\n"
        "  - name: 这是一个非常非常长的菜单名字\n"
        "    key: menu:ask\n"
        "  - name: 反映问题\n"
        "    key: menu:complain\n"
        "  - name: 政策\n"
        "    url: ftp://example.org\n",
        encoding="utf-8",
    )
    assert await minshi("wechat", "menu", str(menu)) == 1
    err = capsys.readouterr().err
    assert f"{menu}:2: '这是一个非常非常长的菜单名字' is longer than 16 bytes" in err
    assert f"{menu}:5: unknown key 'menu:complain'" in err
    assert f"{menu}:7: a view button needs an http(s) url" in err
    assert configured.menus == []


async def test_a_place_qr_code_carries_the_region_code(
    configured: FakeWeChat, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await minshi("wechat", "qrcode", "--region", "620702103203") == 0
    out = capsys.readouterr().out
    assert "甘州区沙井镇寺儿沟村（620702103203）" in out
    assert "http://weixin.qq.com/q/kZgfwMTm72WWPkovabbI" in out
    assert "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=gQH47joAAAAAAAAAASxodHRw" in out
    assert "有效期：30 天" in out
    assert await minshi("wechat", "qrcode", "--region", "620702103203", "--permanent") == 0
    temporary, permanent = configured.qrcodes
    assert temporary == {
        "action_name": "QR_STR_SCENE",
        "action_info": {"scene": {"scene_str": "620702103203"}},
        "expire_seconds": 2592000,
    }
    assert permanent == {
        "action_name": "QR_LIMIT_STR_SCENE",
        "action_info": {"scene": {"scene_str": "620702103203"}},
    }
    assert "有效期：永久" in capsys.readouterr().out

    assert await minshi("wechat", "qrcode", "--region", "999999999999") == 1
    assert "no region" in capsys.readouterr().err
    assert len(configured.qrcodes) == 2


async def test_commands_say_what_is_missing_without_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("MINSHI_")]:
        monkeypatch.delenv(key)
    with pytest.raises(SystemExit):
        await minshi("wechat", "menu")
    assert "MINSHI_WECHAT_APP_ID" in capsys.readouterr().err


async def test_wechat_refusals_are_reported(
    configured: FakeWeChat, capsys: pytest.CaptureFixture[str]
) -> None:
    configured.fail("/cgi-bin/qrcode/create", 48001)  # not a verified service account
    with pytest.raises(SystemExit):
        await minshi("wechat", "qrcode", "--region", "620702103203")
    assert "WeChat refused: 48001" in capsys.readouterr().err


async def test_media_upload(fake: FakeWeChat) -> None:
    api = WeChatApi(fake.url, APP_ID, APP_SECRET, ManualClock())
    try:
        media_id = await api.upload_media(
            "image", "notice.jpg", b"\xff\xd8\xff" + b"0" * 10, "image/jpeg"
        )
    finally:
        await api.aclose()
    assert media_id == "UPLOADED-1" and fake.uploads[0][0] == "image"


async def test_commands_use_the_token_the_service_keeps(
    configured: FakeWeChat, capsys: pytest.CaptureFixture[str]
) -> None:
    """A token fetched by a command would cut the running service's short: the
    commands use the one kept in the database, as every service instance does."""
    assert await minshi("wechat", "menu") == 0
    assert await minshi("wechat", "qrcode", "--region", "620702103203") == 0
    assert await minshi("wechat", "menu") == 0
    assert len(configured.tokens_issued) == 1
