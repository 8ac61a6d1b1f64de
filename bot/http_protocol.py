"""uvicorn's HTTP protocol (httptools), writing each response in one piece.

uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, and the body in a second write when it comes. With
uvloop each write is a ``send()`` at once, and with TCP_NODELAY each goes out
as a segment of its own: two system calls, two segments for the kernel to
carry and the client to wake up for, every request. Here the writes made
while the event loop runs one step are joined and sent together when the
step ends (the next turn of the loop), so a response is one write.

Measured on GET /readyz at saturation: 101–113 µs of the event loop's CPU a
request instead of 127–133, and half the client's (benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["OneWriteHttpProtocol"]


class _JoinedWrites:
    """A transport whose writes within one step of the loop go out as one."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def close(self) -> None:
        self._flush()  # what was written before the close goes first
        self._transport.close()

    def _flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteHttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_JoinedWrites(transport, self.loop))  # type: ignore[arg-type]
