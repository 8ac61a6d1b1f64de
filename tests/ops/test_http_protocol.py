"""The HTTP server writes each response in one piece, and still speaks HTTP/1.1 right:
kept-alive connections, ``Connection: close``, event streams as they come."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from bot.http_protocol import _JoinedWrites
from common import jsontext
from tests.support import Service


@asynccontextmanager
async def connection(
    service: Service,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    address = urlsplit(service.base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        yield reader, writer
    finally:
        writer.close()


def request(method: str, path: str, body: object = None, **headers: str) -> bytes:
    data = b"" if body is None else jsontext.dumps_bytes(body)
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(data)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status_line, *lines = head.decode("latin-1").strip().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 10)
    return int(status_line.split()[1]), headers, body


async def test_a_kept_alive_connection_answers_request_after_request(service: Service) -> None:
    async with connection(service) as (reader, writer):
        writer.write(request("POST", "/api/chat/session"))
        status, _, body = await response(reader)
        assert status == 201
        token = jsontext.loads(body)["token"]
        for n in range(3):
            message = {"id": f"m{n}", "text": "你好"}
            writer.write(
                request("POST", "/api/chat/messages", message, Authorization=f"Bearer {token}")
            )
            status, headers, body = await response(reader)
            assert status == 200, body
            assert headers["content-type"] == "application/json"
            assert jsontext.loads(body)["replies"], body


async def test_the_whole_response_comes_before_connection_close(service: Service) -> None:
    async with connection(service) as (reader, writer):
        writer.write(request("GET", "/readyz", Connection="close"))
        everything = await asyncio.wait_for(reader.read(), 10)  # until the server closes
    head, _, body = everything.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"connection: close" in head.lower()
    assert jsontext.loads(body) == {"status": "ready"}


class _Transport:
    """What the socket would be sent, write by write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"the socket's {name}"


async def test_the_writes_of_one_step_go_out_as_one() -> None:
    sent = _Transport()
    joined = _JoinedWrites(sent, asyncio.get_running_loop())  # type: ignore[arg-type]
    joined.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    joined.write(b"{}")
    assert sent.writes == []  # not before the step ends
    await asyncio.sleep(0)
    assert sent.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    joined.write(b"event")
    joined.close()  # what was written goes first
    assert sent.writes[1:] == [b"event"] and sent.closed
    joined.write(b"too late")
    await asyncio.sleep(0)
    assert sent.writes[1:] == [b"event"]  # a closed socket takes nothing
    assert joined.get_extra_info("peername") == "the socket's peername"


async def test_an_event_stream_sends_each_event_as_it_comes(service: Service) -> None:
    async with connection(service) as (reader, writer):
        writer.write(request("POST", "/api/chat/session"))
        _, _, body = await response(reader)
        token = jsontext.loads(body)["token"]
    async with connection(service) as (events, stream):
        stream.write(request("GET", f"/api/chat/events?token={token}"))
        head = await asyncio.wait_for(events.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head
        preamble = await asyncio.wait_for(events.readuntil(b"\n\n"), 10)
        assert preamble.endswith(b"\r\nretry: 3000\n\n")  # a chunk as soon as it is sent
        async with connection(service) as (reader, writer):
            message = {"id": "m1", "text": "你好"}
            writer.write(
                request("POST", "/api/chat/messages", message, Authorization=f"Bearer {token}")
            )
            _, _, body = await response(reader)
        first_reply = jsontext.loads(body)["replies"][0]
        event = await asyncio.wait_for(events.readuntil(b"\n\n"), 10)
        assert b"event: message" in event and f"id: {first_reply['id']}".encode() in event
