"""What an agent is told, through the MCP SDK's own client in process against the simulator: every
describe_model example is a call that works, a refusal of a value from a known set names the set
(or the tool that lists it), and a misspelt tool name gets the closest tools."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import pytest
from mcp import Client

import runway_core
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

from conftest import FAST_POLL, text


@pytest.fixture
def sim():
    s = runway_core.Simulator(task_seconds=0.6)
    yield s
    s.close()


@asynccontextmanager
async def mcp(sim: runway_core.Simulator, tmp_path: Path) -> AsyncIterator[Client]:
    settings = Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"),
                        progress_interval=0.5, max_wait=30, poll=FAST_POLL)
    async with Client(build(settings)) as c:
        yield c


async def test_a_misspelt_tool_name_gets_the_closest_tools(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        r = await c.call_tool("generate_vidoe_text_to_video", {"prompt_text": "a fox"})
        assert r.is_error and text(r).startswith("Unknown tool: generate_vidoe_text_to_video")
        assert "Did you mean generate_video_text_to_video" in text(r), text(r)
        r = await c.call_tool("describe_modle", {"model": "gen4_turbo"})
        assert r.is_error and "describe_model" in text(r), text(r)
        # Nothing close: the server's tools, all of them.
        r = await c.call_tool("zzz", {})
        assert r.is_error and "list_voices" in text(r) and "generate_audio" in text(r), text(r)
    assert sim.tasks_created == 0
