"""Prompts for the common jobs and completions of what a user types, through the SDK's client."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from mcp.types import PromptReference, ResourceTemplateReference

import runway_core
from runway_mcp_server import catalogue as cat
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

from conftest import FAST_POLL, data


@pytest.fixture
def sim():
    s = runway_core.Simulator(task_seconds=0.3)
    yield s
    s.close()


def server(sim: runway_core.Simulator, tmp_path: Path, **kw: object) -> Client:
    settings = Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"),
                        journal=str(tmp_path / "journal.sqlite3"), max_wait=30, poll=FAST_POLL, **kw)  # type: ignore[arg-type]
    return Client(build(settings))


def tools_named(text: str, names: set[str]) -> set[str]:
    return {n for n in names if n in text}


async def test_every_prompt_is_listed_fetched_and_names_tools_the_server_has(sim, tmp_path):
    async with server(sim, tmp_path, toolsets=("all",)) as c:
        prompts = (await c.list_prompts()).prompts
        tools = {t.name for t in (await c.list_tools()).tools}
        assert {p.name for p in prompts} == {"storyboard_to_video", "product_ad_from_photos", "dub_video", "voice_over"}
        for p in prompts:
            args = {a.name: "x" for a in p.arguments or [] if a.required}
            got = await c.get_prompt(p.name, args)
            text = got.messages[0].content.text  # type: ignore[union-attr]
            assert got.messages[0].role == "user" and tools_named(text, tools), p.name
        dub = await c.get_prompt("dub_video", {"video": "talk.mp4", "target_language": "ja"})
        assert "talk.mp4" in dub.messages[0].content.text and "process_audio" in dub.messages[0].content.text  # type: ignore[union-attr]


async def test_prompt_arguments_complete_from_the_catalogue(sim, tmp_path):
    langs = sorted({str(v) for m in cat.select(("voice_dubbing",)) for v in (m.spec("targetLang") or {}).get("values", [])})
    assert langs
    async with server(sim, tmp_path) as c:
        r = await c.complete(PromptReference(type="ref/prompt", name="dub_video"),
                             {"name": "target_language", "value": langs[0][:1]})
        assert langs[0] in r.completion.values and all(v.lower().startswith(langs[0][:1].lower()) for v in r.completion.values)
        r = await c.complete(PromptReference(type="ref/prompt", name="voice_over"), {"name": "voice", "value": "ma"})
        assert "Maya" in r.completion.values
        r = await c.complete(PromptReference(type="ref/prompt", name="voice_over"), {"name": "script", "value": "a"})
        assert r.completion.values == []


async def test_task_ids_complete_from_the_journal_of_this_server(sim, tmp_path):
    async with server(sim, tmp_path) as c:
        made = data(await c.call_tool("generate_image_gen4", {"prompt_text": "a lighthouse"}))["task_id"]
        ref = ResourceTemplateReference(type="ref/resource", uri="runway://task/{task_id}/output/{name}")
        r = await c.complete(ref, {"name": "task_id", "value": made[:4]})
        assert r.completion.values == [made]
        r = await c.complete(ref, {"name": "task_id", "value": "zzzz"})
        assert r.completion.values == []
    async with server(sim, tmp_path, remote=True) as c:  # over HTTP: no key to tell whose tasks, so none
        r = await c.complete(ref, {"name": "task_id", "value": made[:4]})
        assert r.completion.values == []
