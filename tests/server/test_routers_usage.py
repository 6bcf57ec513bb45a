"""Generation by goal through Runway's model routers, router management, and the usage report,
end to end through the SDK's in-process client against the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.elicitation import AcceptedElicitation

import runway_core
from runway_mcp_server import catalogue as cat
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings
from runway_mcp_server.tools.routing import slug_for

from conftest import FAST_POLL, api_requests, data, text


@pytest.fixture
def sim():
    s = runway_core.Simulator(task_seconds=0.4)
    yield s
    s.close()


def server(sim: runway_core.Simulator, tmp_path: Path, **kw: Any) -> Client:
    settings = Settings(toolsets=("all",), api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"),
                        journal=str(tmp_path / "journal.sqlite3"), max_wait=30, poll=FAST_POLL)
    return Client(build(settings), **kw)


async def test_a_video_by_goal_says_which_model_runway_chose(sim, tmp_path):
    async with server(sim, tmp_path) as c:
        r = await c.call_tool("generate_by_goal", {"kind": "video", "prompt_text": "a fox in snow",
                                                    "optimize_for": "cost", "max_credits": 200})
        assert not r.is_error, text(r)
        result = data(r)
        video_models = {m.name for m in cat.all_models() if m.output == "video" and not m.fixed}
        assert result["status"] == "SUCCEEDED" and result["model"] in video_models
        assert text(r).startswith(f"Runway's router ({slug_for('video', 'cost', 200)}) chose {result['model']}")
        assert Path(result["files"][0]["path"]).suffix == ".mp4"
        # The same settings again reuse the router; other settings make another.
        await c.call_tool("generate_by_goal", {"kind": "video", "prompt_text": "a hare in snow", "max_credits": 200})
        await c.call_tool("generate_by_goal", {"kind": "image", "prompt_text": "a hare", "optimize_for": "quality"})
        listed = data(await c.call_tool("routers", {}))["routers"]
        assert sorted(r["slug"] for r in listed) == sorted([slug_for("video", "cost", 200), slug_for("image", "quality", None)])
        video = next(r for r in listed if r["slug"] == slug_for("video", "cost", 200))
        history = data(await c.call_tool("routers", {"action": "history", "router": video["id"]}))["history"]
        assert len(history) == 2 and all(h["status"] == "routed" for h in history)
    assert len(api_requests(sim, "POST", "/v1/routers")) == 2


async def test_bad_input_by_goal_is_refused_before_any_router_or_task(sim, tmp_path):
    async with server(sim, tmp_path) as c:
        for args, says in (({"kind": "video", "prompt_text": "x", "max_credits": -5}, "max_credits"),
                           ({"kind": "video", "prompt_text": "x", "options": {"aspectRatio": "7:3"}}, "options.aspectRatio"),
                           ({"kind": "video", "prompt_text": "x", "options": {"colour": 1}}, "options.colour"),
                           ({"kind": "sculpture", "prompt_text": "x"}, "kind")):
            r = await c.call_tool("generate_by_goal", args)
            assert r.is_error and says in text(r), (args, text(r))
    assert api_requests(sim, "POST") == []


async def test_a_router_is_made_changed_and_deleted_only_with_the_users_yes(sim, tmp_path):
    answers: list[Any] = []

    async def elicit(ctx: Any, params: Any) -> Any:
        from mcp.types import ElicitResult
        return ElicitResult(action="accept", content={"delete": answers.pop(0)})

    async with server(sim, tmp_path, elicitation_callback=elicit) as c:
        made = data(await c.call_tool("routers", {"action": "create", "slug": "drafts",
                                                  "settings": {"optimizeFor": "latency"}}))["routers"][0]
        changed = data(await c.call_tool("routers", {"action": "update", "router": made["id"],
                                                     "settings": {"optimizeFor": "quality"}}))["routers"][0]
        assert changed["settings"]["optimizeFor"] == "quality" and changed["version"] > made["version"]
        answers.append(False)
        r = await c.call_tool("delete_router", {"router": made["id"]})
        assert r.is_error and "declined" in text(r)
        answers.append(True)
        r = await c.call_tool("delete_router", {"router": made["id"]})
        assert not r.is_error, text(r)
        assert data(await c.call_tool("routers", {}))["routers"] == []
    async with server(sim, tmp_path) as c:  # no elicitation: refused, nothing deleted
        made = data(await c.call_tool("routers", {"action": "create", "slug": "kept"}))["routers"][0]
        r = await c.call_tool("delete_router", {"router": made["id"]})
        assert r.is_error and "cannot ask" in text(r), text(r)
    assert len(api_requests(sim, "DELETE", "/v1/routers")) == 1


async def test_usage_after_two_generations(sim, tmp_path):
    async with server(sim, tmp_path) as c:
        for prompt in ("a red fox", "a grey wolf"):
            r = await c.call_tool("generate_video_text_to_video", {"prompt_text": prompt, "model": "gen4.5",
                                                                   "duration": 5, "ratio": "1280:720"})
            assert not r.is_error, text(r)
        r = await c.call_tool("usage_report", {})
        assert not r.is_error, text(r)
        u = data(r)
        gen = cat.find("gen4.5", ("text_to_video",))
        assert gen is not None and gen.cost is not None
        spent = 2 * 5 * gen.cost["credits"]
        assert u["by_model"]["gen4.5"] == spent == u["journal_by_model"]["gen4.5"]
        assert f"gen4.5: {spent:g}; {spent:g}" in text(r)
        r = await c.call_tool("usage_report", {"start_date": "2026-13-01"})
        assert r.is_error and "start_date" in text(r)
