"""Toolsets: which tools a request sees, and the `toolsets` tool that lists the sets and turns one on.

The table (set names, their descriptions, tool -> set) is `tools/toolsets.py`. A request sees the
`default` set always, plus:
- the sets the server was started with (RUNWAY_MCP_TOOLSETS), or over HTTP the ones the request
  names instead (the `X-Runway-Toolsets` header and/or the `/mcp/x/<set>` path, which the HTTP
  edge folds into that one header);
- the sets turned on with `toolsets(enable=...)` where something remembers them: the connection
  of a handshake-era session (stdio, or stateful HTTP), or the process on the 2026 protocol's
  stdio, whose one client is the process's only client. Stateless HTTP remembers nothing between
  requests: there the tool answers how to choose the set with the header or the path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Mapping, Optional

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel

from .results import plain
from .tools import toolsets as table_data

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

DEFAULT = table_data.DEFAULT
HEADER = "X-Runway-Toolsets"
PATH = "/mcp/x/"  # /mcp/x/<set>[,<set>...]: the sets of GitHub's remote MCP server's /x/<toolset>
STATE_KEY = "runway_mcp_server.toolsets"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Table:
    """Set name -> description, and tool name -> set (a tool not listed is in `default`)."""

    sets: Mapping[str, str]
    tools: Mapping[str, str]

    def __post_init__(self) -> None:
        stray = {s for s in self.tools.values() if s not in self.sets}
        if DEFAULT not in self.sets or stray:
            raise ValueError(f"toolsets table: sets {sorted(stray)} are not described; `{DEFAULT}` must be")

    def set_of(self, tool: str) -> str:
        return self.tools.get(tool, DEFAULT)

    def parse(self, raw: str, source: str) -> frozenset[str]:
        """`a,b` or `all` -> the sets (with `default`); ValueError naming the source and the sets."""
        names = [n.strip().lower() for n in raw.split(",") if n.strip()]
        if "all" in names:
            return frozenset(self.sets)
        unknown = [n for n in names if n not in self.sets]
        if unknown:
            raise ValueError(f"{source}: no toolset {', '.join(repr(n) for n in unknown)} "
                             f"(one of: all, {', '.join(self.sets)})")
        return frozenset((DEFAULT, *names))


TABLE = Table(table_data.SETS, table_data.TOOLS)


def _header(rc: "ServerRequestContext[Any, Any]") -> Optional[str]:
    headers = getattr(rc.request, "headers", None)
    return headers.get(HEADER.lower()) if headers is not None else None


def over_http(rc: "ServerRequestContext[Any, Any]") -> bool:
    return getattr(rc.request, "headers", None) is not None


def memory(rc: "ServerRequestContext[Any, Any]", process: set[str]) -> Optional[set[str]]:
    """Where a set turned on in this request's session is remembered, or None where nothing is
    (stateless HTTP, or an HTTP request on the 2026 protocol, which has no sessions)."""
    modern = rc.protocol_version in MODERN_PROTOCOL_VERSIONS
    # The SDK gives handlers no public handle on the connection, whose `state` is the one that
    # lasts from request to request (a ServerSession is made anew for each request).
    connection = getattr(rc.session, "_connection", None)
    if not modern and connection is not None:
        if over_http(rc) and connection.session_id is None:
            return None  # stateless HTTP: a connection per request
        state: dict[str, set[str]] = connection.state
        return state.setdefault(STATE_KEY, set())
    if modern and not over_http(rc):
        return process  # stdio (or in process) on the 2026 protocol: one client per process
    return None


def enabled(table: Table, started: frozenset[str], rc: Optional["ServerRequestContext[Any, Any]"],
            process: set[str]) -> frozenset[str]:
    """The sets this request sees."""
    if rc is None:
        return started | process
    chosen = _header(rc)
    base = started
    if chosen is not None:
        try:
            base = table.parse(chosen, HEADER)
        except ValueError:
            base = started  # the HTTP edge refuses such a request before it gets here
    return base | (memory(rc, process) or set())


def how_to_enable(name: str, rc: Optional["ServerRequestContext[Any, Any]"], now: frozenset[str]) -> str:
    """How to turn set `name` on, for a request of this kind."""
    if rc is not None and over_http(rc):
        sets = ",".join(sorted((now | {name}) - {DEFAULT}))
        return (f"this server is stateless over HTTP, so a set is chosen per request: have the client send the header "
                f"`{HEADER}: {sets}`, or connect to the URL path {PATH}{sets} (e.g. https://<host>{PATH}{sets})")
    return f"call toolsets with enable=\"{name}\" (or start the server with RUNWAY_MCP_TOOLSETS={name})"


class SetInfo(BaseModel):
    name: str
    description: str
    enabled: bool
    tools: list[str]


class Toolsets(BaseModel):
    toolsets: list[SetInfo]
    # Where the set asked for could not be turned on here (stateless HTTP): how to choose it.
    how: Optional[str] = None


async def toolsets(ctx: Context, enable: Optional[str] = None) -> Annotated[CallToolResult, Toolsets]:
    server = ctx.mcp_server
    rc = ctx.request_context
    table: Table = getattr(server, "table", TABLE)
    offered: dict[str, list[str]] = await server.offered()  # type: ignore[attr-defined]
    now: frozenset[str] = server.enabled_sets(rc)  # type: ignore[attr-defined]
    news, how = "", None
    if enable is not None and enable.strip():
        name = enable.strip().lower()
        if name not in offered:
            raise ToolError(f"enable: no toolset '{enable}' on this server (one of: {', '.join(offered)})")
        kept = memory(rc, server._toolsets_process) if name not in now else None  # type: ignore[attr-defined]
        if name in now:
            news = f"The {name} toolset is already on. "
        elif kept is None:
            how = how_to_enable(name, rc, now)
            news = f"Not turned on: {how}. "
        else:
            kept.add(name)
            now = now | {name}
            await _tools_changed(ctx)
            news = f"Turned on {name} for this session: {', '.join(offered[name])} (tools/list has changed). "
    sets = [SetInfo(name=s, description=table.sets[s], enabled=s in now, tools=t) for s, t in offered.items()]
    lines = [f"{'on ' if s.enabled else 'off'} {s.name}: {s.description} ({len(s.tools)} tools)" for s in sets]
    hint = "" if all(s.enabled for s in sets) else "Turn a set on with enable=\"<name>\".\n"
    return plain(Toolsets(toolsets=sets, how=how), news + "Toolsets:\n" + "\n".join(lines) + "\n" + hint)


async def _tools_changed(ctx: Context) -> None:
    """notifications/tools/list_changed to this session's client: on the connection's own stream on
    handshake-era protocols, to `subscriptions/listen` streams on the 2026 protocol."""
    try:
        if ctx.request_context.protocol_version in MODERN_PROTOCOL_VERSIONS:
            await ctx.notify_tools_changed()
        else:
            await ctx.session.send_tool_list_changed()
    except Exception as e:  # the set is on either way; a client that hears nothing lists tools again later
        log.info("tools/list_changed not sent: %r", e)
