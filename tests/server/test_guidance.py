"""What an agent is told, through the MCP SDK's own client in process against the simulator: every
describe_model example is a call that works, a refusal of a value from a known set names the set
(or the tool that lists it), and a misspelt tool name gets the closest tools."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from mcp import Client

import runway_core
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings
from runway_mcp_server.tools.examples import PLACEHOLDER

from conftest import FAST_POLL, api_requests, data, text


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


# ---- every describe_model example is a call that works ----

MEDIA = Path(__file__).resolve().parents[2] / "src" / "simulator" / "media"


def with_files(v: Any, files: dict[str, str]) -> Any:
    """`v` with each media placeholder replaced by a real file of its kind."""
    if isinstance(v, dict):
        return {k: with_files(x, files) for k, x in v.items()}
    if isinstance(v, list):
        return [with_files(x, files) for x in v]
    if isinstance(v, str) and (m := PLACEHOLDER.match(v)):
        return files[m.group(1)]
    return v


async def test_every_example_is_a_call_that_works(sim, tmp_path):
    files = {}
    for kind, ext in (("image", "png"), ("video", "mp4"), ("audio", "mp3")):
        files[kind] = str(tmp_path / f"in.{ext}")
        Path(files[kind]).write_bytes((MEDIA / f"placeholder.{ext}").read_bytes())
    made = {}
    async with mcp(sim, tmp_path) as c:
        rows = data(await c.call_tool("list_available_models", {}))["models"]
        assert len(rows) > 50
        for row in rows:
            r = await c.call_tool("describe_model", {"model": row["model"], "endpoint": row["endpoint"]})
            [m] = data(r)["models"]
            ex = m["example"]
            assert ex["tool"] in row["tools"], (row, ex)
            args = ex["arguments"]
            # A media input is a placeholder the example explains; nothing else is.
            placeholders = [s for s in json.dumps(args).split('"') if PLACEHOLDER.match(s)]
            assert bool(placeholders) == ("note" in ex), ex
            assert "..." not in json.dumps(args) and "/path/to" not in json.dumps(args), ex
            r = await c.call_tool(ex["tool"], {**with_files(args, files), "wait_for_completion": False})
            assert not r.is_error, (row["model"], row["endpoint"], ex, text(r))
            d = data(r)
            assert d["status"] == "SUBMITTED" and d["model"] == row["model"], (row, d)
            made[d["task_id"]] = (row["model"], row["endpoint"])
        # One task per example, each at its model's endpoint; all of them finish.
        assert len(made) == len(rows) == sim.tasks_created
        posts = [r for r in api_requests(sim, "POST") if not r["path"].startswith("/v1/uploads")]
        assert sorted((r["path"], r["body"].get("model")) for r in posts) == sorted(
            (f"/v1/{ep}", name) for name, ep in made.values())
        # The test's files went in (as data URIs or uploads), not the placeholders.
        sent = json.dumps([r["body"] for r in posts])
        assert "<image" not in sent and "data:image/png" in sent and ("data:video/mp4" in sent or "runway://" in sent)
        done = await asyncio.gather(*(c.call_tool("wait_for_task", {"task_id": t}) for t in made))
        assert [data(r)["status"] for r in done] == ["SUCCEEDED"] * len(made), [text(r) for r in done if r.is_error]


async def test_the_speech_example_names_a_preset_voice(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        presets = data(await c.call_tool("list_voices", {}))["speech_presets"]
        r = await c.call_tool("describe_model", {"model": "eleven_multilingual_v2"})
        ex = data(r)["models"][0]["example"]
        assert ex["tool"] == "generate_audio" and ex["arguments"]["voice"] in presets and "note" not in ex
        # The text an agent reads carries the call too.
        assert f'example: generate_audio {json.dumps(ex["arguments"])}' in text(r)
        r = await c.call_tool("generate_audio", ex["arguments"])
        assert not r.is_error and data(r)["status"] == "SUCCEEDED" and data(r)["files"], text(r)
        # An example needing a file says so, in the structured example and in the text.
        r = await c.call_tool("describe_model", {"model": "gen4_turbo"})
        ex = data(r)["models"][0]["example"]
        assert ex["arguments"]["prompt_image"] == "<image: a local path, https URL or task id>"
        assert ex["note"] in text(r)
