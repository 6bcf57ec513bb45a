"""The generation tools' input schemas, made from the tool table and the catalogue, and the one
check of a call's arguments, through the MCP SDK's own client in process against the simulator.
Expectations come from the catalogue's data and the table, never from hand-kept copies: what a
schema offers is what the models accept, and a wrong argument is refused naming the parameter
before anything reaches Runway."""

from __future__ import annotations

import copy
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from mcp import Client

import runway_core
from runway_mcp_server import catalogue as cat
from runway_mcp_server import tools
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings
from runway_mcp_server.tools import GENERATORS, MAX_MODEL_ENUM, offers_choice
from runway_mcp_server.tools.generate import SHARED_SCHEMAS, assemble, generator, schema_of

from conftest import FAST_POLL, api_requests, data, text


@asynccontextmanager
async def mcp(sim: runway_core.Simulator, tmp_path: Path) -> AsyncIterator[Client]:
    settings = Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"), max_wait=30,
                        poll=FAST_POLL, journal=str(tmp_path / "journal.sqlite3"), toolsets=("all",))
    async with Client(build(settings)) as c:
        yield c


def values(spec: dict[str, Any]) -> list[Any]:
    """Every enum value a spec (or its any_of options) allows."""
    alts = spec["options"] if spec.get("type") == "any_of" else [spec]
    return [v for a in alts if a.get("type") == "enum" for v in a["values"]]


async def test_schemas_say_what_the_models_accept(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        listed = {t.name: t.input_schema for t in (await c.list_tools()).tools}
    checked_enum = checked_range = 0
    for g in GENERATORS:
        schema, models = listed[g.name], cat.select(g.endpoints, g.tag)
        props = schema["properties"]
        # Row parameters (required first), the model where there is a choice, the shared ones.
        names = [p.name for p in sorted(g.params, key=lambda p: not p.required)]
        names += ["model"] * offers_choice(g, models) + list(SHARED_SCHEMAS)
        assert list(props) == names, g.name
        assert schema.get("required", []) == [p.name for p in g.params if p.required], g.name
        if "model" in props:
            offered = cat.names(models)
            assert props["model"].get("enum", offered if len(offered) > MAX_MODEL_ENUM else None) == offered, g.name
        for p in g.params:
            specs = [s for m in models for f in p.fields if (s := m.spec(f)) is not None]
            if not specs or p.schema is not None or p.media:
                continue
            s = props[p.name]
            if "enum" in s:  # exactly the values some model allows
                assert sorted(map(str, s["enum"])) == sorted({str(v) for sp in specs for v in values(sp)}), (g.name, p.name)
                checked_enum += 1
            if "minimum" in s:  # the widest bounds every model states
                assert s["minimum"] == min(sp["min"] for sp in specs) and s["maximum"] == max(sp["max"] for sp in specs)
                checked_range += 1
    assert checked_enum and checked_range


# Each wrong call: the tool, its arguments, and what the error must name.
WRONG = [
    ("generate_video_text_to_video", {}, "prompt_text: required"),
    ("generate_video_text_to_video", {"prompt_text": "x", "wait_for_completion": "yes"}, "wait_for_completion: expected boolean"),
    ("generate_video_text_to_video", {"prompt_text": "x", "max_wait_seconds": True}, "max_wait_seconds: expected number"),
    ("generate_video_text_to_video", {"prompt_text": "x", "options": ["audio"]}, "options: expected an object"),
    ("generate_audio", {"prompt_text": "x", "kind": "song"}, 'kind: expected one of "speech", "sound_effect"'),
    ("generate_audio", {"prompt_text": "x", "voice": 7}, "voice: expected text"),
    ("animate_character", {"character": ["a.png"], "reference_video": "https://example.com/v.mp4"}, "character: expected text"),
    # A parameter filling a Runway field: the core checks it against the model's spec, and names both.
    ("generate_video_text_to_video", {"prompt_text": 42, "model": "gen4.5"}, "promptText is the tool parameter prompt_text"),
    # Not coerced: "5" is not a duration.
    ("generate_video_text_to_video", {"prompt_text": "x", "duration": "5", "model": "gen4.5"}, "duration"),
    ("generate_video_text_to_video", {"prompt_text": "x", "model": "no_such_model"}, "model: 'no_such_model'"),
]


@pytest.mark.parametrize("tool,arguments,says", WRONG, ids=[f"{t}-{s.split(':')[0]}" for t, _, s in WRONG])
async def test_a_wrong_argument_is_refused_by_name_before_anything_is_sent(sim, tmp_path, tool, arguments, says):
    async with mcp(sim, tmp_path) as c:
        r = await c.call_tool(tool, arguments)
    assert r.is_error and says in text(r), text(r)
    assert api_requests(sim) == [], "nothing may reach Runway"


async def test_a_batch_item_gets_the_same_check(sim, tmp_path):
    items = [{"tool": "generate_audio", "arguments": {"prompt_text": "x", "kind": "song"}},
             {"tool": "generate_video_text_to_video", "arguments": {"prompt_text": "waves", "model": "gen4.5"}}]
    async with mcp(sim, tmp_path) as c:
        r = await c.call_tool("batch_generate_videos", {"items": items})
    entries = data(r)["items"]
    assert entries[0]["status"] == "NOT_SENT" and 'kind: expected one of "speech", "sound_effect"' in entries[0]["error"]
    assert entries[1]["status"] == "SUCCEEDED", entries[1]
    assert [x["path"] for x in api_requests(sim, "POST")] == ["/v1/text_to_video"]


async def test_a_right_call_reaches_runway_with_its_arguments_unchanged(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        r = await c.call_tool("generate_video_text_to_video", {"prompt_text": "waves", "model": "gen4.5", "duration": 5,
                                                               "seed": 7, "wait_for_completion": False})
    assert not r.is_error and data(r)["status"] == "SUBMITTED", text(r)
    [post] = api_requests(sim, "POST")
    assert {k: post["body"][k] for k in ("promptText", "model", "duration", "seed")} == {
        "promptText": "waves", "model": "gen4.5", "duration": 5, "seed": 7}


def test_a_model_added_to_the_data_alone_reaches_the_tools(monkeypatch):
    """Adding a model is one data edit: the tools' model choice, request and cost text follow the
    catalogue. Prices are worded by the core from its own data, so the tool descriptions' price for
    an added model is checked there (a_model_added_to_the_data_alone_is_served in Rust); here the
    added row carries its price in words as the core's export does."""
    data = copy.deepcopy(cat.data())
    new = copy.deepcopy(next(m for m in data["models"] if (m["endpoint"], m["model"]) == ("text_to_video", "gen4.5")))
    new |= {"model": "gen9_preview", "title": "Gen-9 Preview", "cost": {"unit": "second", "credits": 99, "source": "test"},
            "cost_text": "99 credits/s"}
    data["models"].append(new)
    caches = (cat.all_models, cat.fingerprint, schema_of)
    monkeypatch.setattr(cat, "data", lambda: data)
    for c in caches:
        c.cache_clear()
    try:
        g = generator("generate_video_text_to_video")
        found = cat.find("gen9_preview", g.endpoints)
        assert found is not None and tools.tools_for(found) == [g.name] and found.cost_text == "99 credits/s"
        endpoint, m, body, _ = assemble(g, cat.select(g.endpoints, g.tag), {"prompt_text": "x", "model": "gen9_preview"})
        assert (endpoint, m.name, body["model"]) == ("text_to_video", "gen9_preview", "gen9_preview")
    finally:
        for c in caches:
            c.cache_clear()
