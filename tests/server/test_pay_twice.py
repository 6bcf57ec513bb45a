"""Never paying twice without being told: a create whose answer was lost (or whose server process
died before journaling it) may have made a task at Runway. The identical request later is refused
with when and what, sending nothing; a client that can ask puts "pay again?" to the user (on the
handshake-era protocol and on 2026-07-28's input_required flow), and force_new pays again on the
agent's word. Single tools and batches, through the MCP SDK's client in process, against the
simulator."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, Optional

import pytest
from mcp import Client

import runway_core
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

from conftest import FAST_POLL, text
from test_budget import Asker, creates

PROMPT = "a lighthouse at dusk"
CALL = {"prompt_text": PROMPT, "model": "gen4.5", "wait_for_completion": False}
TOOL = "generate_video_text_to_video"
DOUBT = "may already have created a task at Runway"


@pytest.fixture
def sim() -> Iterator[runway_core.Simulator]:
    # Tasks outlive the test's calls, so that an identical request would reattach to them.
    s = runway_core.Simulator(task_seconds=60.0)
    yield s
    s.close()


@asynccontextmanager
async def mcp(sim: runway_core.Simulator, tmp_path: Path, asker: Optional[Asker] = None, mode: str = "legacy",
              **settings: Any) -> AsyncIterator[Client]:
    s = Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"), max_wait=30,
                 poll=FAST_POLL, journal=str(tmp_path / "journal.sqlite3"), **settings)
    async with Client(build(s), elicitation_callback=asker, mode=mode) as c:  # type: ignore[arg-type]
        yield c


def lose_next_create(sim: runway_core.Simulator) -> None:
    """Runway makes the task, and its answer never arrives."""
    sim.inject_fault("lost_response", method="POST", path="/v1/text_to_video")


async def lost(c: Client, sim: runway_core.Simulator, args: dict[str, Any] = CALL) -> None:
    lose_next_create(sim)
    r = await c.call_tool(TOOL, args)
    assert r.is_error and "may have created" in text(r), text(r)


async def test_the_identical_request_is_refused_until_force_new(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        await lost(c, sim)
        first = (await c.call_tool("list_tasks", {"status": "ambiguous"})).structured_content["tasks"]
        assert len(first) == 1
        for _ in range(2):
            r = await c.call_tool(TOOL, CALL)
            assert r.is_error
            msg = text(r)
            assert "Not sent, nothing spent: an identical request" in msg and DOUBT in msg, msg
            assert f'"{PROMPT}"' in msg and first[0]["created_at"] in msg and "force_new" in msg
        assert len(creates(sim)) == 1, "nothing sent again"
        forced = await c.call_tool(TOOL, {**CALL, "force_new": True})
        assert not forced.is_error, text(forced)
        assert len(creates(sim)) == 2
        again = await c.call_tool(TOOL, CALL)
        assert not again.is_error, text(again)
        assert again.structured_content["reattached"]
        assert again.structured_content["task_id"] == forced.structured_content["task_id"]
        # The ambiguous create stays listed: the user may still find it on the dashboard.
        assert len((await c.call_tool("list_tasks", {"status": "ambiguous"})).structured_content["tasks"]) == 1
    assert len(creates(sim)) == 2


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_the_user_is_asked_and_pays_again(sim, tmp_path, mode):
    asker = Asker("accept", spend=True)
    async with mcp(sim, tmp_path, asker, mode=mode) as c:
        await lost(c, sim)
        assert asker.asked == [], "no question before there is a doubt"
        r = await c.call_tool(TOOL, CALL)
        assert not r.is_error, text(r)
        assert len(asker.asked) == 1
        assert DOUBT in asker.asked[0] and f'"{PROMPT}"' in asker.asked[0] and "Pay again" in asker.asked[0]
        assert len(creates(sim)) == 2
        # The choice is kept: the same call now reattaches to the task it paid for, unasked.
        again = await c.call_tool(TOOL, CALL)
        assert again.structured_content["task_id"] == r.structured_content["task_id"]
        assert again.structured_content["reattached"] and len(asker.asked) == 1
    assert len(creates(sim)) == 2


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
@pytest.mark.parametrize("answer", [("decline", True), ("cancel", True), ("accept", False)])
async def test_the_user_declines_and_nothing_is_sent(sim, tmp_path, mode, answer):
    asker = Asker(*answer)
    async with mcp(sim, tmp_path, asker, mode=mode) as c:
        await lost(c, sim)
        r = await c.call_tool(TOOL, CALL)
        assert r.is_error and "declined" in text(r) and DOUBT in text(r), text(r)
        assert len(asker.asked) == 1
    assert len(creates(sim)) == 1


async def test_force_new_from_the_agent_is_not_asked_about(sim, tmp_path):
    asker = Asker("decline")
    async with mcp(sim, tmp_path, asker) as c:
        await lost(c, sim)
        r = await c.call_tool(TOOL, {**CALL, "force_new": True})
        assert not r.is_error, text(r)
    assert asker.asked == [] and len(creates(sim)) == 2


async def test_over_the_budget_too_is_one_question(sim, tmp_path):
    asker = Asker("accept", spend=True)
    async with mcp(sim, tmp_path, asker, max_credits=10) as c:
        lose_next_create(sim)
        # The first call is over the budget: asked, and its answer is lost.
        r = await c.call_tool(TOOL, CALL)
        assert r.is_error and "may have created" in text(r)
        assert len(asker.asked) == 1 and DOUBT not in asker.asked[0]
        r = await c.call_tool(TOOL, CALL)
        assert not r.is_error, text(r)
        assert len(asker.asked) == 2
        assert DOUBT in asker.asked[1] and "RUNWAY_MCP_MAX_CREDITS=10" in asker.asked[1]
    assert len(creates(sim)) == 2


async def test_a_request_that_differs_is_not_in_doubt(sim, tmp_path):
    asker = Asker("decline")
    async with mcp(sim, tmp_path, asker) as c:
        await lost(c, sim)
        r = await c.call_tool(TOOL, {**CALL, "prompt_text": "another lighthouse"})
        assert not r.is_error, text(r)
    assert asker.asked == [] and len(creates(sim)) == 2


def batch(*prompts: str) -> dict[str, Any]:
    items = [{"tool": TOOL, "arguments": {k: v for k, v in CALL.items() if k != "wait_for_completion"}
              | {"prompt_text": p}} for p in prompts]
    return {"items": items, "wait_for_completion": False}


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_batch_asks_once_for_the_items_in_doubt(sim, tmp_path, mode):
    asker = Asker("accept", spend=True)
    async with mcp(sim, tmp_path, asker, mode=mode) as c:
        lose_next_create(sim)
        first = await c.call_tool("batch_generate_videos", batch("lost one"))
        assert "may have created" in text(first)
        r = await c.call_tool("batch_generate_videos", batch("fresh one", "lost one"))
        assert not r.is_error, text(r)
        assert len(asker.asked) == 1
        assert asker.asked[0].startswith("#1: an identical request") and '"lost one"' in asker.asked[0]
        assert "#0" not in asker.asked[0]
        items = r.structured_content["items"]
        assert [i["status"] for i in items] == ["SUBMITTED", "SUBMITTED"]
    assert len(creates(sim)) == 3


async def test_a_batch_that_cannot_ask_sends_the_rest(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        lose_next_create(sim)
        await c.call_tool("batch_generate_videos", batch("lost one"))
        r = await c.call_tool("batch_generate_videos", batch("fresh one", "lost one"))
        items = r.structured_content["items"]
        assert items[0]["status"] == "SUBMITTED"
        assert items[1]["status"] == "NOT_SENT"
        assert "Not sent" in items[1]["error"] and DOUBT in items[1]["error"] and "force_new" in items[1]["error"]
    assert len(creates(sim)) == 2
