"""Serving MCP over streamable HTTP to many users: stateless (any replica answers any request), each
request's own Runway key (`Authorization: Bearer <key>`), an optional access token, safe binding,
/healthz and /readyz for load balancers, one JSON log line per request, and a graceful stop on
SIGTERM (calls in flight finish; every started task stays in the journal for another replica)."""

from __future__ import annotations

import ipaddress
import json
import logging
import signal
import sys
import time
from typing import Any, Awaitable, Callable, MutableMapping, Optional

from mcp.server.mcpserver import MCPServer

from .auth import Refused, request_key
from .sets import HEADER, PATH, Table
from .settings import Settings
from .streaming import Substituting

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

access = logging.getLogger("runway_mcp_server.access")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, settings: Settings) -> None:
    """Refuses to serve beyond this machine with nothing to stop a stranger spending the server's key."""
    if is_loopback(host) or settings.require_key or settings.access_token:
        return
    raise SystemExit(
        f"runway-mcp-server: refusing to serve on {host}: anyone who can reach it could spend the server's Runway "
        "key. Use --require-key (or RUNWAY_MCP_REQUIRE_KEY=1) so every request brings its own key "
        "(Authorization: Bearer <key>), or set RUNWAY_MCP_ACCESS_TOKEN to a secret that requests must present, "
        "or serve on 127.0.0.1.")


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def transport_security(settings: Settings) -> Any:
    """The Host and Origin headers the server answers (others get 421 and 403, against DNS
    rebinding): loopback at any port, and the names in RUNWAY_MCP_ALLOWED_HOSTS, such as the one a
    reverse proxy passes on (`proxy_set_header Host $host`), at their port or any when none is given."""
    from mcp.server.transport_security import TransportSecuritySettings

    hosts: list[str] = []
    for name in (*LOOPBACK_HOSTS, *settings.allowed_hosts):
        has_port = name.rpartition(":")[2].isdigit() and not name.endswith("]")
        hosts += [name] if has_port else [name, f"{name}:*"]
    origins = [f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def log_line(**fields: Any) -> None:
    access.info(json.dumps({"time": round(time.time(), 3), **fields}, separators=(",", ":")))


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


async def _json(send: Send, status: int, body: dict[str, Any], extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *extra]})
    await send({"type": "http.response.body", "body": data})


class Edge:
    """The HTTP edge: health routes, the credential check (401 before MCP sees the request; the
    tool call's log line is written by the server, which knows the tool and the task), and the
    count of MCP calls in flight, so that a stop can wait for them."""

    def __init__(self, app: App, settings: Settings, ready: Callable[[], Awaitable[Optional[str]]],
                 table: Optional[Table] = None) -> None:
        self.app, self.settings, self.ready, self.table = app, settings, ready, table
        self.in_flight = 0
        self.draining = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path == "/healthz":
            await _json(send, 200, {"ok": True})
            return
        if path == "/readyz":
            # Stopping: the load balancer sends new calls elsewhere (the server refuses new tool calls).
            problem = "shutting down" if self.draining else await self.ready()
            await _json(send, 503 if problem else 200, {"ok": problem is None, **({"error": problem} if problem else {})})
            return
        credentials = [k for k, _ in scope.get("headers", []) if k.lower() in (b"authorization", b"x-runway-key")]
        if len(credentials) != len(set(c.lower() for c in credentials)):
            # Readers disagree on which of two copies counts (the first, the last): take neither.
            log_line(path=path, status=400, error="repeated credential header")
            await _json(send, 400, {"error": "send Authorization (and X-Runway-Key) once each"})
            return
        try:
            request_key(_headers(scope), self.settings)
        except Refused as e:
            log_line(path=path, status=401, error=str(e))
            await _json(send, 401, {"error": str(e)}, ((b"www-authenticate", b"Bearer"),))
            return
        try:
            scope = self.toolsets(scope)
        except ValueError as e:
            log_line(path=path, status=400, error=str(e))
            await _json(send, 400, {"error": str(e)})
            return
        counted = scope.get("method") == "POST"  # a GET stream would hold a stop forever
        self.in_flight += counted
        out = Substituting(send)  # a resource read's file goes out from disk (streaming.py)
        try:
            await self.app(scope, receive, out)
        finally:
            out.close()
            self.in_flight -= counted


    def toolsets(self, scope: Scope) -> Scope:
        """The toolsets a request chooses, by the X-Runway-Toolsets header and/or the /mcp/x/<set> path
        (a set or several, ','-separated): checked, and passed on as one header to the server, the
        path as /mcp. ValueError for a set that does not exist."""
        path: str = scope.get("path", "")
        raw = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == HEADER.lower().encode()]
        if path.startswith(PATH):
            raw.append(path[len(PATH):].strip("/"))
            path = PATH.rstrip("/").rsplit("/", 1)[0]
        if not raw or self.table is None:
            return scope
        chosen = self.table.parse(",".join(raw), f"{HEADER} or {PATH}<set>")
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != HEADER.lower().encode()]
        headers.append((HEADER.lower().encode(), ",".join(sorted(chosen)).encode()))
        return {**scope, "path": path, "raw_path": path.encode(), "headers": headers}


def serve(mcp: MCPServer, settings: Settings, host: str, port: int) -> None:
    import asyncio

    import uvicorn

    check_exposure(host, settings)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False

    async def ready() -> Optional[str]:
        probe = getattr(mcp, "ready", None)
        return await probe() if probe else None

    edge = Edge(mcp.streamable_http_app(stateless_http=True, transport_security=transport_security(settings)),
                settings, ready, getattr(mcp, "table", None))

    class Draining(uvicorn.Server):
        """SIGTERM: stop taking tool calls (/readyz fails, a new call is refused with advice to call
        again), let the calls in flight finish within the grace period, then stop. Other requests
        (lists, reads) are still answered meanwhile. Started tasks stay in the journal for another
        replica."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            if edge.draining:  # a second signal: stop now
                super().handle_exit(sig, frame)
                return
            edge.draining = True
            setattr(mcp, "draining", True)
            subs = getattr(mcp, "resource_subscriptions", None)  # listen streams end now (subscriptions.py)
            if subs is not None and subs.listen is not None:
                subs.listen.close()
            log_line(event="draining", in_flight=edge.in_flight, grace_seconds=settings.grace_seconds)
            asyncio.get_running_loop().create_task(self._drain(sig))

        async def _drain(self, sig: int) -> None:
            deadline = time.monotonic() + settings.grace_seconds
            while edge.in_flight > 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.1)  # the last response's bytes leave
            super().handle_exit(sig, None)

    config = uvicorn.Config(edge, host=host, port=port, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=max(1, int(settings.grace_seconds)))
    # uvicorn raises the signal again once it has stopped; a stop that went as planned exits 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    asyncio.run(Draining(config).serve())
