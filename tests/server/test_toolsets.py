"""Toolsets (issue 20): tools/list gives the sets a request sees; RUNWAY_MCP_TOOLSETS chooses the
server's; the `toolsets` tool lists them and turns one on for the session, with
notifications/tools/list_changed; a call of a tool whose set is off is refused with the way to turn
it on; over HTTP the X-Runway-Toolsets header and the /mcp/x/<set> path choose per request. The
other sets' tools are not here yet, so most tests use a table with a set `extra` of two of today's
tools."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, Optional

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

import runway_core
from runway_mcp_server.server import build
from runway_mcp_server.sets import TABLE, Table
from runway_mcp_server.settings import Settings

from conftest import FAST_POLL, data, text
from test_http import free_port, get, wait_ready

EXTRA = ["list_voices", "get_credits"]
TEST_TABLE = Table({**TABLE.sets, "extra": "Two of today's tools, for the tests."}, {n: "extra" for n in EXTRA})


def settings(sim: runway_core.Simulator, tmp_path: Path, **kw: Any) -> Settings:
    return Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"), poll=FAST_POLL,
                    journal=None, **kw)


@asynccontextmanager
async def connect(server: Any, mode: str = "legacy", heard: Optional[list[Any]] = None) -> AsyncIterator[Client]:
    async def handler(message: Any) -> None:
        if heard is not None:
            heard.append(message)

    async with Client(server, mode=mode, message_handler=handler) as c:
        yield c


async def names(c: Client) -> list[str]:
    return [t.name for t in (await c.list_tools()).tools]


async def test_a_default_server_serves_the_default_set_and_the_toolsets_tool(sim, tmp_path):
    async with connect(build(settings(sim, tmp_path)), mode="auto") as c:
        listed = await names(c)
        assert listed[-1] == "toolsets" and len(listed) == len(set(listed))
        r = await c.call_tool("toolsets", {})
    assert not r.is_error, text(r)
    sets = data(r)["toolsets"]
    # Only sets that have a tool on this server are offered; a default server has the default on.
    offered = [n for n in TABLE.sets if n == "default" or n in TABLE.tools.values()]
    assert [s["name"] for s in sets] == offered and sets[0]["enabled"] and sets[0]["tools"] == listed
    assert not any(s["enabled"] for s in sets[1:]) and all(s["tools"] for s in sets)
    assert sets[0]["description"] == TABLE.sets["default"]


async def test_sets_the_server_starts_with(sim, tmp_path):
    async with connect(build(settings(sim, tmp_path), TEST_TABLE)) as c:
        default = await names(c)
    assert not set(EXTRA) & set(default) and "toolsets" in default
    for chosen in (("all",), ("extra",), ("default", "extra")):
        async with connect(build(settings(sim, tmp_path, toolsets=chosen), TEST_TABLE)) as c:
            assert sorted(await names(c)) == sorted(default + EXTRA), chosen
    # From the environment: names checked, `all` for every set, a typo stops the start.
    assert Settings.from_env(env={"RUNWAY_MCP_TOOLSETS": "all"}).toolsets == ("all",)
    assert Settings.from_env(env={}).toolsets == ("default",)
    with pytest.raises(SystemExit, match="RUNWAY_MCP_TOOLSETS: no toolset 'recipe'.*one of: all, default, recipes"):
        Settings.from_env(env={"RUNWAY_MCP_TOOLSETS": "default,recipe"})


async def test_enabling_a_set_in_a_session_changes_its_tools_list_and_says_so(sim, tmp_path):
    server = build(settings(sim, tmp_path), TEST_TABLE)
    heard: list[Any] = []
    async with connect(server, heard=heard) as c, connect(server) as other:
        caps = c.session.server_capabilities
        assert caps is not None and caps.tools is not None and caps.tools.list_changed
        before = await names(c)
        # A tool of a set that is off: refused, with the way to turn it on; nothing is sent.
        refused = await c.call_tool("get_credits", {})
        assert refused.is_error and "get_credits is in the extra toolset" in text(refused)
        assert 'enable="extra"' in text(refused)
        listing = data(await c.call_tool("toolsets", {}))["toolsets"]
        assert {s["name"]: (s["enabled"], s["tools"]) for s in listing}["extra"] == (False, EXTRA)
        assert heard == []
        on = await c.call_tool("toolsets", {"enable": "extra"})
        assert not on.is_error and "Turned on extra" in text(on), text(on)
        assert {s["name"]: s["enabled"] for s in data(on)["toolsets"]} == {"default": True, "extra": True}
        assert [m.method for m in heard if hasattr(m, "method")] == ["notifications/tools/list_changed"]
        assert sorted(await names(c)) == sorted(before + EXTRA)
        got = await c.call_tool("get_credits", {})
        assert not got.is_error and data(got)["credit_balance"] is not None
        info = await c.call_tool("get_api_info", {})
        assert data(info)["toolsets"] == ["default", "extra"] and "toolsets: default, extra" in text(info)
        assert data(await other.call_tool("get_api_info", {}))["toolsets"] == ["default"]
        again = await c.call_tool("toolsets", {"enable": "extra"})
        assert "already on" in text(again) and len(heard) == 1
        # Another session of the same server keeps its own sets.
        assert await names(other) == before
        assert (await other.call_tool("get_credits", {})).is_error
        bad = await c.call_tool("toolsets", {"enable": "recipe"})
        assert bad.is_error and "enable: no toolset 'recipe'" in text(bad) and "default, extra" in text(bad)


async def test_on_the_2026_protocol_the_process_is_the_session(sim, tmp_path):
    # Without a handshake there is no connection that lasts; a server on stdio has one client.
    async with connect(build(settings(sim, tmp_path), TEST_TABLE), mode="auto") as c:
        before = await names(c)
        on = await c.call_tool("toolsets", {"enable": "extra"})
        assert "Turned on extra" in text(on), text(on)
        assert sorted(await names(c)) == sorted(before + EXTRA)


# ---- over HTTP: stateless, a set chosen per request ----

SERVE = """
import sys
from runway_mcp_server.remote import serve
from runway_mcp_server.server import build
from runway_mcp_server.sets import TABLE, Table
from runway_mcp_server.settings import Settings
table = Table({**TABLE.sets, "extra": "test"}, {n: "extra" for n in %r})
settings = Settings.from_env(http=True)
serve(build(settings, table), settings, "127.0.0.1", int(sys.argv[1]))
""" % (EXTRA,)


@contextmanager
def http_server(sim: runway_core.Simulator, tmp: Path) -> Iterator[str]:
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "RUNWAYML_BASE_URL": sim.base_url,
           "RUNWAYML_API_SECRET": sim.api_key, "RUNWAY_MCP_JOURNAL": "off"}
    p = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], env=env, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, p)
        yield base
    finally:
        p.kill()
        p.wait(timeout=10)


@asynccontextmanager
async def http_client(url: str, mode: str = "auto", **headers: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers=headers, timeout=60)
    async with Client(streamable_http_client(url, http_client=http), mode=mode) as c:
        yield c


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_over_http_the_header_and_the_path_choose_the_sets(sim, tmp_path, mode):
    with http_server(sim, tmp_path) as base:
        async with http_client(f"{base}/mcp", mode) as plain:
            default = await names(plain)
            assert not set(EXTRA) & set(default)
            # Stateless: nothing could remember a set turned on; the answer says how to choose it.
            r = await plain.call_tool("toolsets", {"enable": "extra"})
            assert not r.is_error and data(r)["how"], text(r)
            assert "X-Runway-Toolsets: extra" in text(r) and "/mcp/x/extra" in text(r)
            assert {s["name"]: s["enabled"] for s in data(r)["toolsets"]}["extra"] is False
            assert await names(plain) == default
            refused = await plain.call_tool("get_credits", {})
            assert refused.is_error and "X-Runway-Toolsets: extra" in text(refused) and "/mcp/x/extra" in text(refused)
        async with http_client(f"{base}/mcp", mode, **{"X-Runway-Toolsets": "extra"}) as by_header, \
                http_client(f"{base}/mcp/x/extra", mode) as by_path, \
                http_client(f"{base}/mcp/x/all", mode) as everything:
            for c in (by_header, by_path, everything):
                assert sorted(await names(c)) == sorted(default + EXTRA)
                got = await c.call_tool("get_credits", {})
                assert not got.is_error, text(got)
            listing = data(await by_path.call_tool("toolsets", {}))["toolsets"]
            assert all(s["enabled"] for s in listing)
        # A set that does not exist: refused before MCP sees the request, naming the sets.
        for url, headers in ((f"{base}/mcp/x/recipe", {}), (f"{base}/mcp", {"X-Runway-Toolsets": "recipe"})):
            status, body = get(url, {"Accept": "application/json", **headers})
            assert status == 400 and "no toolset 'recipe'" in body["error"] and "extra" in body["error"]
