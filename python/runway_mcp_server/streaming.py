"""Resource reads over HTTP that never hold the file in memory.

The SDK answers `resources/read` with the whole file base64-encoded inside one JSON-RPC message:
the bytes, their base64 and the serialized message all at once, about 5x the file. Over HTTP the
resource handler instead hands the SDK a short random placeholder and leaves the downloaded file on
disk; the HTTP edge, which sees the response go out, sends the file's base64 in its place, read from
disk a chunk at a time. The SDK still does everything else (validation, errors, both protocol
revisions, JSON or SSE framing); the placeholder's base64 is what the edge looks for, and a
placeholder is a secret of one request, so nothing a caller sends can be mistaken for one.
"""

from __future__ import annotations

import base64
import contextvars
import os
import secrets
import shutil
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, MutableMapping, Optional

import anyio

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

# 3 * 256 KiB read from disk, 1 MiB of base64 sent: the most a read holds at once.
CHUNK = 3 << 18


@dataclass
class Deferred:
    path: str
    size: int
    cleanup: str  # a folder to delete once the response has gone (or failed)


# Set by the edge for each HTTP request (the SDK runs the handler in tasks that inherit it).
_pending: contextvars.ContextVar[Optional[dict[bytes, Deferred]]] = contextvars.ContextVar("runway_deferred",
                                                                                          default=None)


def defer(path: str, cleanup: str) -> Optional[bytes]:
    """The bytes to give the SDK in place of the file at `path`, which the edge then sends; None
    outside an HTTP request (stdio, in-process), where the caller returns the file's bytes."""
    pending = _pending.get()
    if pending is None:
        return None
    placeholder = secrets.token_bytes(30)  # a multiple of 3: its base64 is exactly the blob, no padding
    pending[base64.b64encode(placeholder)] = Deferred(path, os.path.getsize(path), cleanup)
    return placeholder


def b64_len(size: int) -> int:
    return (size + 2) // 3 * 4


class Substituting:
    """The `send` of one HTTP request: passes messages on, and where the response carries a
    placeholder, sends the file's base64 in its place (fixing Content-Length to match)."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.pending: dict[bytes, Deferred] = {}
        self.held_start: Optional[Message] = None
        self.token = _pending.set(self.pending)

    async def __call__(self, message: Message) -> None:
        if not self.pending:
            await self.send(message)
            return
        kind = message.get("type")
        if kind == "http.response.start":
            # Content-Length (a JSON answer) can only be set once the body shows which placeholders it holds.
            self.held_start = message
            return
        if kind != "http.response.body":
            await self.send(message)
            return
        body: bytes = message.get("body", b"")
        found = [(body.find(p), p) for p in self.pending if p in body]
        if self.held_start is not None:
            start, self.held_start = self.held_start, None
            grow = sum(b64_len(self.pending[p].size) - len(p) for _, p in found)
            start["headers"] = [(k, str(int(v) + grow).encode() if k.lower() == b"content-length" else v)
                                for k, v in start.get("headers", [])]
            await self.send(start)
        more = message.get("more_body", False)
        at = 0
        for where, p in sorted(found):
            await self.send({"type": "http.response.body", "body": body[at:where], "more_body": True})
            await self._file(self.pending.pop(p))
            at = where + len(p)
        await self.send({"type": "http.response.body", "body": body[at:], "more_body": more})

    async def _file(self, d: Deferred) -> None:
        try:
            with open(d.path, "rb") as f:
                while chunk := await anyio.to_thread.run_sync(f.read, CHUNK):
                    await self.send({"type": "http.response.body", "body": base64.b64encode(chunk), "more_body": True})
        finally:
            shutil.rmtree(d.cleanup, ignore_errors=True)

    def close(self) -> None:
        """After the request: files no response carried are deleted too."""
        _pending.reset(self.token)
        for d in self.pending.values():
            shutil.rmtree(d.cleanup, ignore_errors=True)
        self.pending.clear()
