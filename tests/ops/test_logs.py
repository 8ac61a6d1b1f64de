"""Structured logs: one JSON object per line, the request id in it, numbers masked."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bot.ops.logs import _TEXT_FORMAT, REQUEST_ID, JsonFormatter, RequestIdFilter, _TextFormatter
from common.privacy import MaskingFilter

from .conftest import ID_NUMBER, PHONE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until_healthy(
    client: httpx.Client, server: subprocess.Popen[bytes], output: Callable[[], str]
) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, output()
        assert time.monotonic() < deadline, "minshi serve did not start"
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)


def test_minshi_serve_writes_json_lines_with_the_request_id(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINSHI_")}
    env |= {
        "MINSHI_LOG_FORMAT": "json",
        "MINSHI_DB": str(tmp_path / "logs.db"),
        "MINSHI_ATTACHMENTS_DIR": str(tmp_path / "files"),
    }
    log_file = tmp_path / "serve.log"
    command = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]
    with (
        log_file.open("w") as log,
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, env=env) as server,
    ):
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
                _until_healthy(client, server, log_file.read_text)
                given = client.get(
                    f"/chat?phone={PHONE}&id={ID_NUMBER}", headers={"X-Request-ID": "req-42"}
                )
                assert given.headers["X-Request-ID"] == "req-42"
                made = client.get("/chat", headers={"X-Request-ID": "bad id; with spaces"})
                new_id = made.headers["X-Request-ID"]
                assert len(new_id) == 32 and " " not in new_id
                token = client.post("/api/chat/session").json()["token"]
                said = client.post(
                    "/api/chat/messages",
                    json={"text": f"我的电话{PHONE}"},
                    headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-43"},
                )
                assert said.status_code == 200 and said.headers["X-Request-ID"] == "req-43"
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(30)

    lines = [json.loads(line) for line in log_file.read_text().splitlines() if line]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    (access,) = [line for line in lines if line.get("request_id") == "req-42"]
    assert access["logger"] == "uvicorn.access"
    assert "138****5678" in access["message"] and PHONE not in access["message"]
    assert ID_NUMBER not in access["message"]
    assert any(line.get("request_id") == new_id for line in lines)
    (message,) = [line for line in lines if line.get("request_id") == "req-43"]
    assert "POST /api/chat/messages" in message["message"]
    assert any("schema version" in line["message"] for line in lines)  # start-up, no request


def test_a_log_pipe_nobody_reads_does_not_stop_the_service(tmp_path: Path) -> None:
    """journald stuck, or a terminal paused with Ctrl+S: the log pipe fills up. The
    lines wait in memory; residents are still answered, and every line is written
    once the pipe is read again."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINSHI_")}
    env |= {"MINSHI_DB": str(tmp_path / "logs.db"), "MINSHI_ATTACHMENTS_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]
    requests = 1500  # an access line each: more than the pipe's 64 KB
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    ) as server:
        try:
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10
            ) as client:
                _until_healthy(client, server, lambda: "see its stderr")
                answered = [client.get("/chat").status_code for _ in range(requests)]
        finally:
            server.send_signal(signal.SIGINT)
            _, err = server.communicate(timeout=60)
    assert answered == [200] * requests
    written = err.decode().count('"GET /chat HTTP/1.1" 200')
    assert written == requests


def test_extra_fields_and_exceptions_are_masked_json() -> None:
    record = logging.LogRecord(
        "bot.test", logging.ERROR, __file__, 1, "resident %s wrote", (PHONE,), None
    )
    record.case = "MS261122-0001"
    record.note = f"call {PHONE}"
    try:
        raise ValueError(f"bad phone {PHONE}")
    except ValueError:
        record.exc_info = sys.exc_info()
    token = REQUEST_ID.set("abc")
    try:
        for f in (MaskingFilter(), RequestIdFilter()):
            assert f.filter(record)
    finally:
        REQUEST_ID.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "resident 138****5678 wrote"
    assert line["request_id"] == "abc" and line["case"] == "MS261122-0001"
    assert line["note"] == "call 138****5678"
    assert "ValueError: bad phone 138****5678" in line["exception"]
    assert PHONE not in json.dumps(line)


def test_text_lines_carry_the_time_of_each_record() -> None:
    """The text format as logging's own, also for records in the same second and
    the ones after it (the date and time to the second is kept between records)."""
    ours, logging_own = _TextFormatter(), logging.Formatter(_TEXT_FORMAT)
    start = 1_764_640_000.0
    for offset in (0.001, 0.5, 0.999, 1.0, 1.25, 61.7, 3600.002, 0.2):
        record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, "%s", ("GET /",), None)
        record.created = start + offset
        record.msecs = (record.created - int(record.created)) * 1000
        assert ours.format(record) == logging_own.format(record)
