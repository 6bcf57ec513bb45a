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


# ---- a refusal of a value from a known set names the set, or the tool that lists it ----

async def test_refusals_name_the_set(sim, tmp_path):
    img = "https://example.com/frame.png"
    async with mcp(sim, tmp_path) as c:
        # A required voice left out: the parameter that gives it, the first presets, and list_voices for all 49.
        for tool, args in (("generate_audio", {"prompt_text": "Hello.", "model": "eleven_multilingual_v2"}),
                           ("estimate_cost", {"tool": "generate_audio", "arguments": {"prompt_text": "Hello."}})):
            r = await c.call_tool(tool, args)
            t = text(r)
            assert r.is_error and "voice: required by eleven_multilingual_v2" in t and "parameter voice" in t, t
            assert "one of: Maya, Arjun" in t and "list_voices lists them" in t and "Rachel" not in t, t
        # A wrong voice: the closest presets, the first few, and list_voices.
        r = await c.call_tool("generate_audio", {"prompt_text": "Hello.", "voice": "maya"})
        t = text(r)
        assert r.is_error and "voice: 'maya'" in t and "closest: Maya" in t and "list_voices" in t, t
        # A wrong value of an enum parameter: the whole set (the core's words, naming Runway's field).
        r = await c.call_tool("generate_video_text_to_video", {"prompt_text": "x", "model": "veo3.1", "ratio": "1:1"})
        assert r.is_error and "ratio: '1:1' is not allowed; allowed: 1280:720, 720:1280" in text(r), text(r)
        # A required field without a parameter: options, and its set.
        r = await c.call_tool("upscale_video_4k", {"input_video": "https://example.com/a.mp4", "model": "enhance_frame_rate"})
        t = text(r)
        assert r.is_error and "options.targetFramerate" in t and "one of: 24, 25, 30" in t, t
        # A wrong model: the closest, the first of the tool's models, and list_available_models for all.
        r = await c.call_tool("generate_video_image_to_video", {"prompt_image": img, "model": "gen4turbo"})
        t = text(r)
        assert r.is_error and "model: 'gen4turbo' is not offered" in t and "closest: gen4_turbo" in t, t
        assert "list_available_models lists them" in t, t
        # A short set is listed whole: a model of the other kind of audio, once the kind is chosen.
        r = await c.call_tool("generate_audio", {"prompt_text": "hi", "kind": "speech", "model": "mirelo_sfx_2_0"})
        t = text(r)
        assert r.is_error and "for text_to_speech" in t and "eleven_multilingual_v2" in t and "eleven_v3" in t, t
        # A model Runway took out names its replacement.
        r = await c.call_tool("generate_video_image_to_video", {"prompt_image": img, "model": "gen3a_turbo"})
        assert r.is_error and "use gen4_turbo" in text(r), text(r)
        # describe_model of a misspelt model names the closest.
        r = await c.call_tool("describe_model", {"model": "gen4turbo"})
        assert r.is_error and "gen4_turbo" in text(r) and "list_available_models" in text(r), text(r)
    assert sim.tasks_created == 0 and sim.uploads() == []
