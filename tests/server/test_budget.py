"""The budget guard through the MCP SDK's own client, in process: RUNWAY_MCP_MAX_CREDITS and
RUNWAY_MCP_DAILY_CREDITS, the question put to the user by elicitation (accepted, declined, on the
handshake-era protocol and on 2026-07-28's input_required flow), and the refusal with the figures
when the client cannot ask; no question for a call that reattaches to its running task. Nothing
over budget reaches the simulator."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Optional

import pytest
from mcp import Client

import runway_core
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

import conftest
from conftest import FAST_POLL, api_requests, text

# veo3.1 text-to-video, 8 s with audio: 40 credits/s.
VEO = {"prompt_text": "a lighthouse at dusk", "duration": 8, "audio": True, "wait_for_completion": False}
VEO_COST = 320.0
# gen4_image at 720p: 5 credits.
IMAGE = {"prompt_text": "a red kite", "ratio": "1280:720", "wait_for_completion": False}


def Asker(action: str = "accept", spend: bool = True) -> conftest.Asker:
    return conftest.Asker("spend", action, spend)


@asynccontextmanager
async def mcp(sim: runway_core.Simulator, tmp_path: Path, asker: Optional[Asker] = None, mode: str = "legacy",
              **limits: Any) -> AsyncIterator[Client]:
    settings = Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"),
                        max_wait=30, poll=FAST_POLL, journal=str(tmp_path / "journal.sqlite3"), **limits)
    async with Client(build(settings), elicitation_callback=asker, mode=mode) as c:  # type: ignore[arg-type]
        yield c



def creates(sim: runway_core.Simulator) -> list[dict[str, Any]]:
    return [r for r in api_requests(sim, "POST") if not r["path"].startswith("/v1/uploads")]


async def test_estimate_matches_the_figure_the_guard_uses(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        r = await c.call_tool("estimate_cost", {"tool": "generate_video_text_to_video",
                                                "arguments": {k: v for k, v in VEO.items() if k != "wait_for_completion"}})
    assert r.structured_content["estimated_credits"] == VEO_COST


async def test_no_limits_no_question(sim, tmp_path):
    asker = Asker()
    async with mcp(sim, tmp_path, asker) as c:
        r = await c.call_tool("generate_video_text_to_video", VEO)
    assert not r.is_error, text(r)
    assert asker.asked == [] and len(creates(sim)) == 1


async def test_within_the_limit_no_question(sim, tmp_path):
    asker = Asker()
    async with mcp(sim, tmp_path, asker, max_credits=VEO_COST) as c:
        r = await c.call_tool("generate_video_text_to_video", VEO)
    assert not r.is_error, text(r)
    assert asker.asked == [] and len(creates(sim)) == 1


async def test_over_the_task_limit_without_elicitation_is_refused_with_the_figures(sim, tmp_path):
    async with mcp(sim, tmp_path, None, max_credits=100) as c:
        r = await c.call_tool("generate_video_text_to_video", VEO)
    assert r.is_error
    msg = text(r)
    assert "Not sent, nothing spent" in msg and "320 credits ($3.20)" in msg
    assert "RUNWAY_MCP_MAX_CREDITS=100" in msg and "elicitation" in msg
    assert creates(sim) == []


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_over_the_limit_the_user_is_asked_and_accepts(sim, tmp_path, mode):
    asker = Asker("accept", spend=True)
    async with mcp(sim, tmp_path, asker, mode=mode, max_credits=100) as c:
        r = await c.call_tool("generate_video_text_to_video", VEO)
    assert not r.is_error, text(r)
    assert r.structured_content["task_id"]
    assert len(asker.asked) == 1
    assert "320 credits ($3.20)" in asker.asked[0] and "RUNWAY_MCP_MAX_CREDITS=100" in asker.asked[0]
    posted = creates(sim)
    assert len(posted) == 1 and posted[0]["body"]["model"] == "veo3.1"


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
@pytest.mark.parametrize("answer", [("decline", True), ("cancel", True), ("accept", False)])
async def test_over_the_limit_the_user_declines(sim, tmp_path, mode, answer):
    asker = Asker(*answer)
    async with mcp(sim, tmp_path, asker, mode=mode, max_credits=100) as c:
        r = await c.call_tool("generate_video_text_to_video", VEO)
    assert r.is_error
    assert len(asker.asked) == 1
    assert "declined" in text(r) and "320 credits" in text(r)
    assert creates(sim) == []


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_call_that_reattaches_spends_nothing_and_is_not_asked_about(tmp_path, mode):
    """The same call again while its task runs reattaches for free: no question. force_new would
    pay again, and a call after the task finished makes a new one: both are asked."""
    sim = runway_core.Simulator(task_seconds=3.0)
    try:
        asker = Asker("accept", spend=True)
        async with mcp(sim, tmp_path, asker, mode=mode, max_credits=100) as c:
            first = (await c.call_tool("generate_video_text_to_video", VEO)).structured_content
            again = await c.call_tool("generate_video_text_to_video", VEO)
            assert not again.is_error, text(again)
            assert again.structured_content["task_id"] == first["task_id"] and again.structured_content["reattached"]
            assert len(asker.asked) == 1 and len(creates(sim)) == 1
            forced = (await c.call_tool("generate_video_text_to_video", {**VEO, "force_new": True})).structured_content
            assert forced["task_id"] != first["task_id"] and len(asker.asked) == 2 and len(creates(sim)) == 2
            for t in (first, forced):
                done = await c.call_tool("wait_for_task", {"task_id": t["task_id"], "max_wait_seconds": 20})
                assert done.structured_content["status"] == "SUCCEEDED"
            later = (await c.call_tool("generate_video_text_to_video", VEO)).structured_content
            assert later["task_id"] not in (first["task_id"], forced["task_id"]) and not later["reattached"]
            assert len(asker.asked) == 3 and len(creates(sim)) == 3
    finally:
        sim.close()


async def test_let_through_to_reattach_but_the_task_finished_spends_nothing(sim, tmp_path, monkeypatch):
    """The guard saw an identical task running, which finished before the create: no new task is
    made without the question."""
    from runway_mcp_server.service import RunwayService

    async def running(self: RunwayService, endpoint: str, body: dict[str, Any]) -> bool:
        return True

    monkeypatch.setattr(RunwayService, "in_flight", running)
    asker = Asker()
    async with mcp(sim, tmp_path, asker, max_credits=100) as c:
        r = await c.call_tool("generate_video_text_to_video", VEO)
        assert r.is_error and "nothing spent" in text(r) and "call again" in text(r)
        assert asker.asked == [] and creates(sim) == []
        rows = await c.call_tool("list_tasks", {})
    assert rows.structured_content["tasks"] == []


async def test_daily_limit_counts_todays_journaled_tasks(sim, tmp_path):
    async with mcp(sim, tmp_path, None, daily_credits=VEO_COST + 10) as c:
        first = await c.call_tool("generate_video_text_to_video", VEO)
        assert not first.is_error, text(first)
        # 320 spent (estimated) today: another 320 would make 640, above 330.
        second = await c.call_tool("generate_video_text_to_video", {**VEO, "prompt_text": "another lighthouse"})
        # A cheap task still fits: 320 + 5 <= 330.
        third = await c.call_tool("generate_image_gen4", IMAGE)
    assert second.is_error
    assert "today's tasks may have cost 320 credits; 320 more makes 640" in text(second)
    assert "RUNWAY_MCP_DAILY_CREDITS=330" in text(second)
    assert not third.is_error, text(third)
    assert [p["body"]["model"] for p in creates(sim)] == ["veo3.1", "gen4_image"]


async def test_a_wrong_input_is_reported_not_priced(sim, tmp_path):
    asker = Asker()
    async with mcp(sim, tmp_path, asker, max_credits=1) as c:
        r = await c.call_tool("generate_video_text_to_video", {**VEO, "duration": 99})
    assert r.is_error and "duration" in text(r)
    assert asker.asked == [] and creates(sim) == []


async def test_the_model_cannot_approve_for_the_user(sim, tmp_path):
    async with mcp(sim, tmp_path, None, max_credits=100) as c:
        tool = next(t for t in (await c.list_tools()).tools if t.name == "generate_video_text_to_video")
        assert "approval" not in tool.input_schema["properties"]
        r = await c.call_tool("generate_video_text_to_video", {**VEO, "approval": {"spend": True}})
    assert r.is_error and "approval" in text(r)
    assert creates(sim) == []


@pytest.mark.parametrize("env, error", [
    ({"RUNWAY_MCP_MAX_CREDITS": "lots"}, "RUNWAY_MCP_MAX_CREDITS must be a number of credits"),
    ({"RUNWAY_MCP_MAX_CREDITS": "-5"}, "RUNWAY_MCP_MAX_CREDITS must be a number of credits"),
    ({"RUNWAY_MCP_DAILY_CREDITS": "500", "RUNWAY_MCP_JOURNAL": "off"}, "RUNWAY_MCP_DAILY_CREDITS counts today's spending"),
])
def test_settings_refuse_a_bad_budget(env, error):
    with pytest.raises(SystemExit, match=error):
        Settings.from_env(env=env)


def test_settings_read_the_budget(tmp_path):
    s = Settings.from_env(env={"RUNWAY_MCP_MAX_CREDITS": "250", "RUNWAY_MCP_DAILY_CREDITS": "1000",
                               "RUNWAY_MCP_JOURNAL": str(tmp_path / "j.sqlite3")})
    assert (s.max_credits, s.daily_credits) == (250.0, 1000.0)
