"""Log notifications (`notifications/message`) to the client about what happens to its tasks:
created (id, model, estimated cost), reattached, a status request retried (why, when again),
outputs saved (where), failed (Runway's reason).

Which levels a client gets: on the handshake-era protocol versions, the level it set with
`logging/setLevel` (served here; kept per connection, so over stateless HTTP, where every request
is a connection of its own, a request gets the default); on 2026-07-28, where that method is gone,
the level a request carries in its `_meta` (the SDK applies it, and sends nothing without it).

A notice goes out on the stream of the tool call it is about (never the standalone one), in the
order told, before that call's result: the call sites stay synchronous (`tell` queues), and the
middleware sends what is queued before the result leaves. A notice told outside any tool call (a
task resumed in the background) goes to the server's own log only, as every notice also does.
"""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
import weakref
from contextvars import ContextVar
from typing import Any, Callable, Optional, get_args

from mcp.server.connection import Connection
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import EmptyResult, LoggingLevel, SetLevelRequestParams
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from runway_core import Retry

log = logging.getLogger("runway_mcp_server")

LEVELS: tuple[LoggingLevel, ...] = get_args(LoggingLevel)  # least severe first (RFC 5424)
# Without logging/setLevel: what a person follows a task by (info and above).
DEFAULT_LEVEL: LoggingLevel = "info"
LOGGER = "runway"
_PY_LEVEL = {"debug": logging.DEBUG, "info": logging.INFO, "notice": logging.INFO, "warning": logging.WARNING,
             "error": logging.ERROR, "critical": logging.CRITICAL, "alert": logging.CRITICAL,
             "emergency": logging.CRITICAL}
# A Runway key's shape: a notice carries Runway's own words (a failure reason), which must never
# carry a key; this is the guard in case one ever did.
_KEY = re.compile(r"key_[0-9A-Za-z]{16,}")

# logging/setLevel's level per connection (handshake-era versions), gone with the connection.
_levels: "weakref.WeakKeyDictionary[Connection, LoggingLevel]" = weakref.WeakKeyDictionary()


def scrub(text: str) -> str:
    return _KEY.sub("key_[redacted]", text)


class _Call:
    """The notices of one tool call, sent in order on its stream."""

    def __init__(self, ctx: ServerRequestContext[Any, Any], floor: Optional[LoggingLevel]) -> None:
        self.ctx, self.floor = ctx, floor
        self.queue: list[tuple[LoggingLevel, dict[str, Any]]] = []
        self.lock = asyncio.Lock()
        self.pending: set[asyncio.Future[None]] = set()

    def put(self, level: LoggingLevel, data: dict[str, Any]) -> None:
        if self.floor is not None and LEVELS.index(level) < LEVELS.index(self.floor):
            return
        self.queue.append((level, data))
        try:
            sending = asyncio.ensure_future(self.send())
        except RuntimeError:  # no running loop: the result's flush sends it
            return
        self.pending.add(sending)
        sending.add_done_callback(self.pending.discard)

    async def send(self) -> None:
        async with self.lock:
            while self.queue:
                level, data = self.queue.pop(0)
                try:
                    with warnings.catch_warnings():  # deprecated at 2026-07-28, and still what carries them
                        warnings.simplefilter("ignore", MCPDeprecationWarning)
                        await self.ctx.session.send_log_message(level, data, LOGGER, related_request_id=self.ctx.request_id)
                except Exception as e:  # a client gone away must not fail the call
                    log.debug("log notification not sent: %s", e)


_call: ContextVar[Optional[_Call]] = ContextVar("runway_notices_call", default=None)


def tell(level: LoggingLevel, event: str, message: str, own_level: Optional[int] = None, **fields: Any) -> None:
    """A notice: to the server's log (at `own_level`, else the notice's), and to the client of the
    tool call in progress, if any. `fields` (task_id, model, ...) go with it as data; None values
    are left out."""
    message = scrub(message)
    log.log(own_level if own_level is not None else _PY_LEVEL[level], "%s", message)
    call = _call.get()
    if call is None:
        return
    data: dict[str, Any] = {"event": event, "message": message}
    data.update({k: scrub(v) if isinstance(v, str) else v for k, v in fields.items() if v is not None})
    call.put(level, data)


def level_of(ctx: ServerRequestContext[Any, Any]) -> Optional[LoggingLevel]:
    """The lowest level this request's client gets, on handshake-era versions; None on 2026-07-28,
    where the request's own `_meta` decides (applied by the SDK's session)."""
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return None
    connection = _connection(ctx)
    return _levels.get(connection, DEFAULT_LEVEL) if connection is not None else DEFAULT_LEVEL


def _connection(ctx: ServerRequestContext[Any, Any]) -> Optional[Connection]:
    # The session is made per request; the connection under it is what logging/setLevel is about
    # (the SDK keeps it private, hence the guard).
    connection = getattr(ctx.session, "_connection", None)
    return connection if isinstance(connection, Connection) else None


async def middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Opens a tool call's notices and sends every one of them before its result."""
    if ctx.method != "tools/call":
        return await call_next(ctx)
    call = _Call(ctx, level_of(ctx))
    token = _call.set(call)
    try:
        return await call_next(ctx)
    finally:
        _call.reset(token)
        if call.pending:
            await asyncio.gather(*list(call.pending), return_exceptions=True)
        await call.send()


async def set_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
    connection = _connection(ctx)
    if connection is not None:
        _levels[connection] = params.level
    return EmptyResult()


def install(mcp: MCPServer) -> None:
    """Serves logging/setLevel (which also declares the logging capability) and sends notices."""
    mcp._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
    mcp.middleware.append(middleware)


# The events, one line each where they happen.

def created(task_id: str, endpoint: str, model: Optional[str], estimated: Optional[float]) -> None:
    cost = f", estimated {estimated:g} credits" if estimated is not None else ""
    tell("info", "created", f"Created Runway task {task_id} ({model or endpoint}{cost})", task_id=task_id,
         model=model, endpoint=endpoint, estimated_cost_credits=estimated)


def reattached(task_id: str) -> None:
    tell("info", "reattached", f"Reattached to Runway task {task_id}: an identical request is still running, "
         "so nothing new is paid for", task_id=task_id)


def retried(task_id: str, retry: Retry) -> None:
    # "notice": normal but significant (RFC 5424). Runway stumbled and the wait goes on by itself;
    # nothing failed and nothing is asked of the user, so not a warning; but it explains a pause.
    # Only the method and path (no query string, no URL, no key) name the request.
    why = f"HTTP {retry['status']}" if retry["status"] is not None else f"connection {retry['error']}"
    tell("notice", "retried", f"Runway task {task_id}: {retry['method']} {retry['path']} failed ({why}); retry "
         f"{retry['attempt']} in {retry['delay']:.1f} s", own_level=logging.INFO, task_id=task_id,
         method=retry["method"], path=retry["path"], status=retry["status"], error=retry["error"],
         attempt=retry["attempt"], delay_seconds=round(retry["delay"], 3))


def retries_of(task_id: str) -> Callable[[Retry], None]:
    """The `on_retry` of a wait for `task_id`."""
    return lambda retry: retried(task_id, retry)


def saved(task_id: str, paths: list[str]) -> None:
    tell("info", "saved", f"Saved the output of task {task_id} to {', '.join(paths)}", task_id=task_id, paths=paths)


def not_saved(task_id: str, error: str) -> None:
    tell("warning", "not_saved", f"Could not save the outputs of task {task_id}: {error}", task_id=task_id)


def failed(task_id: str, reason: Optional[str], code: Optional[str]) -> None:
    because = reason or "no reason given"
    # An error to the user; to the server's own log, news (a refused prompt is not the server's fault).
    tell("error", "failed", f"Runway task {task_id} failed: {because}" + (f" ({code})" if code else ""),
         own_level=logging.INFO, task_id=task_id, failure=reason, failure_code=code)
