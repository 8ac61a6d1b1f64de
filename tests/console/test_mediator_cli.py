"""`minshi mediator …` and the demo accounts of a first `minshi serve`, as subprocesses."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import rows
from tests.test_terminal_chat import minshi


def test_add_list_disable_and_passwd(tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    added = minshi(
        "mediator",
        "add",
        "--db",
        db,
        "--center",
        "620702103203",
        "--name",
        "张三",
        stdin="a-long-password\n",
    )
    assert added.returncode == 0, added.stderr
    assert "已添加调解员 张三：用户名 zhangsan，寺儿沟村综治中心" in added.stdout
    again = minshi(
        "mediator",
        "add",
        "--db",
        db,
        "--center",
        "620702103",
        "--name",
        "张三",
        "--role",
        "center-admin",
        stdin="another-password\n",
    )
    assert "用户名 zhangsan2" in again.stdout and "中心管理员" in again.stdout
    stored = rows(Path(db), "SELECT username, password_hash FROM accounts ORDER BY id")
    assert [r["username"] for r in stored] == ["zhangsan", "zhangsan2"]
    assert all(r["password_hash"].startswith("$argon2id$") for r in stored)
    assert "a-long-password" not in Path(db).read_bytes().decode("latin-1")

    short = minshi(
        "mediator",
        "add",
        "--db",
        db,
        "--center",
        "620702103203",
        "--name",
        "李四",
        stdin="short\n",
    )
    assert short.returncode == 1 and "至少要 8 位" in short.stderr
    nowhere = minshi(
        "mediator", "add", "--db", db, "--center", "999", "--name", "李四", stdin="x" * 9
    )
    assert nowhere.returncode == 1 and "没有编号为 999 的综治中心" in nowhere.stderr

    listed = minshi("mediator", "list", "--db", db)
    assert "zhangsan\t张三\t调解员\t寺儿沟村综治中心\t在用" in listed.stdout
    disabled = minshi("mediator", "disable", "zhangsan", "--db", db)
    assert disabled.returncode == 0 and "已停用 张三" in disabled.stdout
    assert (
        "zhangsan\t张三\t调解员\t寺儿沟村综治中心\t已停用"
        in minshi("mediator", "list", "--db", db).stdout
    )
    before = rows(Path(db), "SELECT password_hash FROM accounts WHERE username = 'zhangsan2'")
    changed = minshi("mediator", "passwd", "zhangsan2", "--db", db, stdin="a-newer-password\n")
    assert changed.returncode == 0 and "设好新密码" in changed.stdout
    after = rows(Path(db), "SELECT password_hash FROM accounts WHERE username = 'zhangsan2'")
    assert after != before
    missing = minshi("mediator", "passwd", "nobody", "--db", db, stdin="a-newer-password\n")
    assert missing.returncode == 1 and "没有用户名为 nobody 的账号" in missing.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_in_over_http(port: int, password: str) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10) as client:
        for _ in range(200):
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        r = client.post("/console/api/login", json={"username": "siergou", "password": password})
        assert r.status_code == 200, r.text
        assert r.json()["account"]["center_name"] == "寺儿沟村综治中心"


def test_first_serve_creates_and_prints_the_demo_logins(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINSHI_")}
    env["MINSHI_ATTACHMENTS_DIR"] = str(tmp_path / "files")
    command = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--db"]
    logins: dict[str, str] = {}
    with subprocess.Popen(
        [*command, str(tmp_path / "demo.db")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as server:
        try:
            assert server.stdout is not None
            printed: list[str] = []
            deadline = time.monotonic() + 60
            while len(logins) < 2:
                assert time.monotonic() < deadline, printed
                line = server.stdout.readline()
                assert line, f"minshi serve ended: {printed}"
                printed.append(line)
                logins = dict(re.findall(r"用户名 (\S+)  密码 (\S+)", "".join(printed)))
            assert set(logins) == {"admin", "siergou"}
            assert "寺儿沟村综治中心" in "".join(printed)
            _log_in_over_http(port, logins["siergou"])
        finally:
            server.terminate()
            server.wait(timeout=20)
    hashes = rows(tmp_path / "demo.db", "SELECT password_hash FROM accounts")
    assert len(hashes) == 2 and all(h["password_hash"].startswith("$argon2id$") for h in hashes)
    assert not any(p in str(hashes) for p in logins.values())
