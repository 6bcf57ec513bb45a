"""The tool layer through the MCP SDK's own client, in process (fast): schemas derived from the
catalogue, the context budget, every new tool end to end against the simulator, options checked by
the core, errors that name the field, describe_model, list_voices and the model filters."""

from __future__ import annotations

import json
import urllib.request
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from mcp import Client

import runway_core
from runway_mcp_server import catalogue as cat
from runway_mcp_server import tools as T
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

from conftest import FAST_POLL, api_requests, data, text

IMG = "https://example.com/frame.png"
VID = "https://example.com/clip.mp4"
AUD = "https://example.com/voice.mp3"


@pytest.fixture
def sim():
    s = runway_core.Simulator(task_seconds=0.6)
    yield s
    s.close()


@asynccontextmanager
async def mcp(sim: runway_core.Simulator, tmp_path: Path) -> AsyncIterator[Client]:
    settings = Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"),
                        progress_interval=0.5, max_wait=30, poll=FAST_POLL, toolsets=("all",))
    async with Client(build(settings)) as c:
        yield c




def posted(sim: runway_core.Simulator) -> list[dict[str, Any]]:
    return [r for r in api_requests(sim, "POST") if not r["path"].startswith("/v1/uploads")]


# ---- schemas come from the catalogue ----

async def test_schemas_are_derived_from_the_catalogue(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
    for g in T.GENERATORS:
        models = cat.select(g.endpoints, g.tag)
        props = tools[g.name].input_schema["properties"]
        # Prices in the description are the catalogue's.
        assert tools[g.name].description.endswith(cat.cost_summary(models)), g.name
        if not T.offers_choice(g, models):  # one model per endpoint: nothing to choose
            assert "model" not in props and all(len([m for m in models if m.endpoint == ep]) == 1 for ep in g.endpoints)
            continue
        model = props["model"]
        if len(cat.names(models)) <= T.MAX_MODEL_ENUM:
            listed = model.get("enum") or [model.get("const")]
            assert listed, g.name
            assert listed == cat.names(models), g.name
        else:  # too many to list: list_available_models does (the instructions say so)
            assert "enum" not in model and model["type"] == "string", g.name
    # Enums and ranges are the data's: Act-Two's ratio list and expression range, upscale_image's factors.
    act = cat.find("act_two", ("character_performance",))
    assert act is not None
    props = tools["animate_character"].input_schema["properties"]
    assert props["ratio"]["enum"] == act.fields["ratio"]["values"]
    assert (props["expression_intensity"]["minimum"], props["expression_intensity"]["maximum"]) == (
        act.fields["expression_intensity" if "expression_intensity" in act.fields else "expressionIntensity"]["min"],
        act.fields["expressionIntensity"]["max"])
    up = cat.find("magnific_precision_upscaler_v2", ("image_upscale",))
    assert up is not None
    assert tools["upscale_image"].input_schema["properties"]["scale_factor"]["enum"] == up.fields["scaleFactor"]["values"]
    # Tag-picked model sets: first/last frame models are exactly the image_to_video models tagged last_frame.
    fl = [m.name for m in cat.all_models() if m.endpoint == "image_to_video" and "last_frame" in m.tags]
    assert set(fl) == {m.name for m in cat.select(("image_to_video",), "last_frame")} and "veo3.1" in fl
    # Every model of every endpoint that names its model is reachable through some generation
    # tool. Recipes and router generation (one fixed model each) get their tools with the
    # toolsets of issue 20.
    unreachable = [(m.endpoint, m.name) for m in cat.all_models() if not m.fixed and not T.tools_for(m)]
    assert unreachable == []


def model_side(tool: dict[str, Any]) -> int:
    """What a client hands its model for one tool (json.dumps, as benches/bench_context.py measures)."""
    return len(json.dumps({k: tool[k] for k in ("name", "description", "inputSchema")}))


async def listed_tools(sim: runway_core.Simulator, tmp_path: Path, toolsets: tuple[str, ...]) -> list[dict[str, Any]]:
    settings = Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"), toolsets=toolsets)
    async with Client(build(settings)) as c:
        return [t.model_dump(by_alias=True, exclude_none=True) for t in (await c.list_tools()).tools]


async def test_context_budget(sim, tmp_path):
    # What a client hands its model in every conversation: the default set.
    tools = await listed_tools(sim, tmp_path, ("default",))
    sizes = {t["name"]: model_side(t) for t in tools}
    assert sum(sizes.values()) <= 12_000, sizes
    whole = len(json.dumps({"tools": tools}))
    assert whole <= 32_000, whole
    for t in tools:  # no pydantic titles, no null alternatives in inputs
        assert '"title"' not in json.dumps(t["inputSchema"]) and '{"type": "null"}' not in json.dumps(t["inputSchema"]), t["name"]


async def test_context_budget_of_every_set(sim, tmp_path):
    # RUNWAY_MCP_TOOLSETS=all: every set together, and the whole tools/list (issue 20's budgets).
    tools = await listed_tools(sim, tmp_path, ("all",))
    assert {t["name"] for t in tools} >= {t["name"] for t in await listed_tools(sim, tmp_path, ("default",))}
    model = sum(model_side(t) for t in tools)
    assert model <= 24_000, model
    whole = len(json.dumps({"tools": tools}))
    assert whole <= 48_000, whole


# ---- every new tool, end to end ----

NEW_TOOL_CALLS: dict[str, tuple[dict[str, Any], str, str, str]] = {
    # tool: (arguments, endpoint, model, output mime prefix)
    "generate_audio": ({"prompt_text": "Hello there.", "voice": "Maya"}, "text_to_speech", "eleven_multilingual_v2", "audio/"),
    "process_audio": ({"input_audio": AUD, "operation": "isolate_voice"}, "voice_isolation", "eleven_voice_isolation", "audio/"),
    "animate_character": ({"character": IMG, "reference_video": VID}, "character_performance", "act_two", "video/"),
    "upscale_image": ({"input_image": IMG, "scale_factor": 4}, "image_upscale", "magnific_precision_upscaler_v2", "image/"),
    "add_audio_to_video": ({"input_video": VID, "duration": 6}, "video_to_audio", "mirelo_sfx_2_0", "audio/"),
    "convert_video_to_hdr": ({"input_video": VID}, "video_to_hdr", "ruby", "video/"),
    "generate_avatar_video": ({"avatar": "cooking-teacher", "speech_text": "Welcome!", "voice": "clara"},
                              "avatar_videos", "gwm1_avatars", "video/"),
}


async def test_every_new_tool_end_to_end(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        for name, (args, endpoint, model, mime) in NEW_TOOL_CALLS.items():
            r = await c.call_tool(name, args)
            d = data(r)
            assert not r.is_error, (name, text(r))
            assert d["status"] == "SUCCEEDED" and d["model"] == model, name
            assert d["files"] and d["files"][0]["mime_type"].startswith(mime), (name, d["files"])
            assert Path(d["files"][0]["path"]).stat().st_size == d["files"][0]["bytes"] > 0
            assert d["task_id"] in text(r)
    bodies = {r["path"]: r["body"] for r in posted(sim)}
    assert set(bodies) == {f"/v1/{ep}" for _, ep, _, _ in NEW_TOOL_CALLS.values()}
    assert bodies["/v1/text_to_speech"]["voice"] == {"type": "runway-preset", "presetId": "Maya"}
    assert bodies["/v1/character_performance"]["character"] == {"type": "image", "uri": IMG}
    assert bodies["/v1/character_performance"]["reference"] == {"type": "video", "uri": VID}
    assert bodies["/v1/avatar_videos"]["avatar"] == {"type": "runway-preset", "presetId": "cooking-teacher"}
    assert bodies["/v1/avatar_videos"]["speech"] == {"type": "text", "text": "Welcome!", "voice": {"type": "preset", "presetId": "clara"}}
    assert bodies["/v1/image_upscale"] == {"model": "magnific_precision_upscaler_v2", "imageUri": IMG, "scaleFactor": 4}


async def test_audio_and_process_choices(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        r = await c.call_tool("generate_audio", {"prompt_text": "rain on a tin roof", "kind": "sound_effect", "duration": 4})
        assert not r.is_error and data(r)["model"] == "eleven_text_to_sound_v2", text(r)
        # A model of the other endpoint picks that endpoint; wav output is served as wav.
        r = await c.call_tool("generate_audio", {"prompt_text": "door creak", "model": "mirelo_sfx_2_0", "duration": 3,
                                                 "options": {"format": "wav", "numVariants": 2}})
        d = data(r)
        assert not r.is_error and [f["mime_type"] for f in d["files"]] == ["audio/wav", "audio/wav"], text(r)
        r = await c.call_tool("process_audio", {"input_audio": VID, "operation": "change_voice", "voice": "Rachel"})
        assert not r.is_error, text(r)
        r = await c.call_tool("process_audio", {"input_audio": AUD, "operation": "dub", "target_language": "fr"})
        assert not r.is_error, text(r)
        # A bad language is refused by the catalogue, naming Runway's field and the tool's parameter.
        r = await c.call_tool("process_audio", {"input_audio": AUD, "operation": "dub", "target_language": "xx"})
        assert r.is_error and "targetLang" in text(r) and "'xx'" in text(r) and "target_language" in text(r)
        r = await c.call_tool("generate_audio", {"prompt_text": "hi", "voice": "NoSuchVoice"})
        assert r.is_error and "voice" in text(r) and "Maya" in text(r)
    bodies = [(r["path"], r["body"]) for r in posted(sim)]
    assert ("/v1/speech_to_speech", {"model": "eleven_multilingual_sts_v2", "media": {"type": "video", "uri": VID},
                                      "voice": {"type": "runway-preset", "presetId": "Rachel"}}) in bodies
    assert ("/v1/voice_dubbing", {"model": "eleven_voice_dubbing", "audioUri": AUD, "targetLang": "fr"}) in bodies
    assert len(bodies) == 4


async def test_model_specific_fields_through_options(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        r = await c.call_tool("generate_video_text_to_video", {
            "prompt_text": "a chase through a market", "model": "kling3.0_pro", "ratio": "1920:1080", "duration": 10,
            "options": {"cfgScale": 0.7, "providerSettings": {"multiPrompt": [{"prompt": "run", "duration": 5},
                                                                               {"prompt": "jump", "duration": 5}]}},
            "wait_for_completion": False})
        assert not r.is_error and data(r)["status"] == "SUBMITTED", text(r)
        # The catalogue checks options too: multi-prompt seconds must add up to 3-15.
        r = await c.call_tool("generate_video_text_to_video", {
            "prompt_text": "x", "model": "kling3.0_pro", "ratio": "1920:1080",
            "options": {"providerSettings": {"multiPrompt": [{"prompt": "a", "duration": 10}, {"prompt": "b", "duration": 10}]}}})
        assert r.is_error and "multiPrompt" in text(r) and "20" in text(r)
        # A model field passed as a tool parameter is refused, not dropped (the task would be made without it).
        r = await c.call_tool("generate_video_image_to_video", {"prompt_image": IMG, "model": "veo3.1", "audio": False})
        assert r.is_error and "audio: not parameters of generate_video_image_to_video" in text(r) and "options" in text(r)
        # A field given twice is refused.
        r = await c.call_tool("generate_video_text_to_video", {"prompt_text": "x", "options": {"promptText": "y"}})
        assert r.is_error and "options.promptText" in text(r)
        # An unknown field names itself and what the model accepts.
        r = await c.call_tool("generate_video_image_to_video", {"prompt_image": IMG, "model": "h3_max", "prompt_text": "x",
                                                                "options": {"cfgScale": 1}})
        assert r.is_error and "cfgScale" in text(r) and "promptExpansionMode" in text(r)
        # A removed model names its replacement.
        r = await c.call_tool("generate_video_image_to_video", {"prompt_image": IMG, "model": "gen3a_turbo"})
        assert r.is_error and "gen4_turbo" in text(r)
    assert [r["body"]["model"] for r in posted(sim)] == ["kling3.0_pro"]


async def test_reworked_0_1_tools_take_models(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        r = await c.call_tool("restyle_video", {"input_video": VID, "style_prompt": "watercolor", "style_image": IMG,
                                                "model": "seedance2_5"})
        assert not r.is_error, text(r)
        r = await c.call_tool("upscale_video_4k", {"input_video": VID, "model": "enhance_frame_rate",
                                                   "options": {"targetFramerate": "60"}})
        assert not r.is_error, text(r)
        r = await c.call_tool("edit_video_with_aleph", {"input_video": VID, "prompt_text": "snow", "model": "kling_4"})
        assert not r.is_error, text(r)
        r = await c.call_tool("generate_image_gen4", {"prompt_text": "a fox", "model": "gpt_image_2", "output_count": 3,
                                                      "ratio": "1920:1920"})
        d = data(r)
        assert not r.is_error and len(d["files"]) == 3 and all(f["mime_type"] == "image/png" for f in d["files"]), text(r)
    bodies = {r["body"]["model"]: r["body"] for r in posted(sim)}
    # restyle on a model without keyframes sends the style image as a reference, in edit mode.
    assert bodies["seedance2_5"]["references"] == [{"uri": IMG}] and bodies["seedance2_5"]["mode"] == "edit"
    assert bodies["seedance2_5"]["promptVideo"] == VID and "videoUri" not in bodies["seedance2_5"]
    # upscale's 4k default is only for models that take a resolution.
    assert bodies["enhance_frame_rate"] == {"model": "enhance_frame_rate", "videoUri": VID, "targetFramerate": "60"}
    assert bodies["kling_4"]["videoUri"] == VID


async def test_bad_input_sends_nothing_and_names_the_parameter(sim, tmp_path):
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0\0\0\x18ftypisom" + b"\0" * 100)
    with open(big, "r+b") as f:
        f.truncate(20 * 1024 * 1024)
    async with mcp(sim, tmp_path) as c:
        r = await c.call_tool("edit_video_with_aleph", {"input_video": str(big), "target_aspect_ratio": "5:4"})
        assert r.is_error and "target_aspect_ratio" in text(r)
        r = await c.call_tool("edit_video_with_aleph", {"input_video": str(big), "prompt_text": "x", "seed": -1})
        assert r.is_error and "seed" in text(r) and "-1" in text(r)
        r = await c.call_tool("add_audio_to_video", {"input_video": str(big), "duration": 5, "options": {"numVariants": "two"}})
        assert r.is_error and "numVariants" in text(r)
    assert sim.uploads() == [] and api_requests(sim) == []


# ---- the free tools ----

async def test_describe_model(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        r = await c.call_tool("describe_model", {"model": "seedance2"})
        d = data(r)["models"]
        assert {m["endpoint"] for m in d} == {"image_to_video", "text_to_video", "video_to_video"}
        i2v = next(m for m in d if m["endpoint"] == "image_to_video")
        assert "3840:2160" in i2v["fields"]["ratio"]["allowed"] and i2v["fields"]["promptImage"]["required"] is True
        assert "36 credits/s" in i2v["cost"] and "generate_video_image_to_video" in i2v["tools"]
        assert "cannot be mixed" in i2v["fields"]["promptImage"]["description"]
        # The example is a call that works.
        ex = i2v["example"]
        assert ex["tool"] == "generate_video_image_to_video" and ex["arguments"]["model"] == "seedance2"
        args = dict(ex["arguments"], prompt_image=IMG)
        r = await c.call_tool(ex["tool"], args)
        assert not r.is_error, text(r)
        r = await c.call_tool("describe_model", {"model": "nope"})
        assert r.is_error and "list_available_models" in text(r)
        r = await c.call_tool("describe_model", {"model": "eleven_voice_dubbing"})
        ex = data(r)["models"][0]["example"]
        assert ex["tool"] == "process_audio" and ex["arguments"]["operation"] == "dub"


async def test_list_available_models_filters(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        rows = data(await c.call_tool("list_available_models", {"endpoint": "/v1/image_to_video", "capability": "last_frame"}))["models"]
        assert rows and all(r["endpoint"] == "image_to_video" and "last_frame" in r["tags"] for r in rows)
        assert {"veo3.1", "kling3.0_pro"} <= {r["model"] for r in rows}
        audio = data(await c.call_tool("list_available_models", {"output": "audio"}))["models"]
        chosen = {m.endpoint for m in cat.all_models() if m.output == "audio" and not m.fixed}
        assert {r["endpoint"] for r in audio} == chosen and "voice_dubbing" in chosen
        r = await c.call_tool("list_available_models", {"capability": "teleport"})
        assert data(r)["models"] == [] and "No model" in text(r)


async def test_list_voices(sim, tmp_path):
    req = urllib.request.Request(f"{sim.base_url}/_sim/voices", data=json.dumps({"name": "Narrator"}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    custom_id = json.load(urllib.request.urlopen(req))["id"]
    async with mcp(sim, tmp_path) as c:
        r = await c.call_tool("list_voices", {})
        d = data(r)
        assert len(d["speech_presets"]) == 49 and "Maya" in d["speech_presets"]
        assert len(d["avatar_presets"]) == 30 and "clara" in d["avatar_presets"]
        assert [v["id"] for v in d["custom"]] == [custom_id] and "Narrator" in text(r)
        # A custom voice works for an avatar's speech.
        r = await c.call_tool("generate_avatar_video", {"avatar": "cooking-teacher", "speech_text": "hi", "voice": custom_id,
                                                        "wait_for_completion": False})
        assert not r.is_error, text(r)
    body = posted(sim)[-1]["body"]
    assert body["speech"]["voice"] == {"type": "custom", "id": custom_id}


async def test_estimate_cost_sends_nothing(sim, tmp_path):
    frame = tmp_path / "frame.png"
    frame.write_bytes((Path(__file__).resolve().parents[2] / "src/simulator/media/placeholder.png").read_bytes())
    async with mcp(sim, tmp_path) as c:
        # Veo 3.1 with sound, 8 s: 40 credits/s from the catalogue; a local path is fine (not read).
        r = await c.call_tool("estimate_cost", {"tool": "generate_video_image_to_video", "arguments": {
            "prompt_image": str(frame), "model": "veo3.1", "duration": 8, "wait_for_completion": False}})
        d = data(r)
        assert not r.is_error and d["estimated_credits"] == 320 and d["model"] == "veo3.1", text(r)
        assert "$3.20" in text(r) and "Nothing was sent" in text(r)
        r = await c.call_tool("estimate_cost", {"tool": "generate_video_image_to_video", "arguments": {
            "prompt_image": IMG, "model": "veo3.1", "duration": 8, "options": {"audio": False}}})
        assert data(r)["estimated_credits"] == 160
        r = await c.call_tool("estimate_cost", {"tool": "generate_video_image_to_video", "arguments": {
            "prompt_image": IMG, "model": "veo3.1", "audio": False}})
        assert r.is_error and "audio" in text(r) and "options" in text(r)
        # The same numbers as the core's own estimate of the body the tool would send.
        r = await c.call_tool("estimate_cost", {"tool": "generate_image_gen4", "arguments": {
            "prompt_text": "a fox", "model": "gen4_image", "ratio": "1280:720"}})
        assert data(r)["estimated_credits"] == runway_core.estimate_cost(
            "text_to_image", {"model": "gen4_image", "promptText": "a fox", "ratio": "1280:720"}) == 5
        # Unpublished price: said so.
        r = await c.call_tool("estimate_cost", {"tool": "upscale_image", "arguments": {"input_image": IMG}})
        assert data(r)["estimated_credits"] is None and "not known locally" in text(r)
        # Bad arguments are refused the same way the tool would refuse them.
        r = await c.call_tool("estimate_cost", {"tool": "generate_video_text_to_video", "arguments": {
            "prompt_text": "x", "model": "veo3.1", "duration": 5}})
        assert r.is_error and "duration" in text(r) and "4, 6, 8" in text(r)
        r = await c.call_tool("estimate_cost", {"tool": "get_task_status", "arguments": {}})
        assert r.is_error and "generate_audio" in text(r)
    assert api_requests(sim) == [] and sim.uploads() == []


async def test_get_credits(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        before = data(await c.call_tool("get_credits", {}))
        r = await c.call_tool("generate_video_text_to_video", {"prompt_text": "x", "model": "gen4.5", "duration": 5})
        assert not r.is_error, text(r)
        after = data(await c.call_tool("get_credits", {}))
    assert before["credit_balance"] - after["credit_balance"] == 60
    assert after["models"]["gen4.5"]["used_today"] == before["models"]["gen4.5"]["used_today"] + 1
    assert "maxConcurrentGenerations" in after["models"]["gen4.5"]
