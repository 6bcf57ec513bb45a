"""batch_generate_videos through the MCP SDK's own client, in process, against the simulator: valid,
invalid and failing items in one batch; the per-model concurrency limit from /v1/organization;
progress over the whole batch; each item journaled; the budget guard over the batch's total."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Optional

from mcp import Client

import runway_core
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

import conftest
from conftest import FAST_POLL, api_requests, text

T2V = "generate_video_text_to_video"


def video(prompt: str, **more: Any) -> dict[str, Any]:
    return {"tool": T2V, "arguments": {"prompt_text": prompt, "model": "gen4.5", "duration": 5, **more}}


@asynccontextmanager
async def mcp(sim: runway_core.Simulator, tmp_path: Path, asker: Any = None, **settings: Any) -> AsyncIterator[Client]:
    s = Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"), max_wait=30,
                 poll=FAST_POLL, journal=str(tmp_path / "journal.sqlite3"), **settings)
    async with Client(build(s), elicitation_callback=asker) as c:
        yield c



def creates(sim: runway_core.Simulator) -> list[dict[str, Any]]:
    return [r for r in api_requests(sim, "POST") if r["path"] != "/v1/uploads"]


async def test_one_bad_or_failing_item_does_not_sink_the_others(tmp_path):
    sim = runway_core.Simulator(task_seconds=0.6)
    try:
        items = [
            video("a fox in snow"),
            video("a fox in rain", duration=99),  # out of range: not sent
            {"tool": "make_coffee", "arguments": {}},  # no such tool
            {"tool": T2V, "args": {"prompt_text": "a fox"}},  # not {tool, arguments}
            video("a fox [sim:fail=SAFETY.INPUT.TEXT]"),  # Runway fails it
            {"tool": "generate_image_gen4", "arguments": {"prompt_text": "a fox portrait", "ratio": "1280:720"}},
        ]
        seen: list[tuple[float, Optional[str]]] = []

        async def on_progress(progress: float, total: Optional[float], message: Optional[str]) -> None:
            seen.append((progress, message))

        async with mcp(sim, tmp_path) as c:
            r = await c.call_tool("batch_generate_videos", {"items": items}, progress_callback=on_progress)
            listed = (await c.call_tool("list_tasks", {})).structured_content["tasks"]
        assert not r.is_error, text(r)
        out = r.structured_content["items"]
        assert [e["index"] for e in out] == list(range(6))
        assert [e["status"] for e in out] == ["SUCCEEDED", "NOT_SENT", "NOT_SENT", "NOT_SENT", "FAILED", "SUCCEEDED"]
        assert "duration" in out[1]["error"] and "99" in out[1]["error"]
        assert "make_coffee" in out[2]["error"] and "{tool, arguments}" in out[3]["error"]
        assert out[4]["failure_code"] == "SAFETY.INPUT.TEXT" and out[4]["task_id"]
        for e in (out[0], out[5]):
            assert e["files"] and Path(e["files"][0]["path"]).exists()
            assert e["task_id"] and e["model"] and e["estimated_cost_credits"] is not None
        # Only the three valid items were sent.
        assert sorted(p["body"]["promptText"] for p in creates(sim)) == ["a fox [sim:fail=SAFETY.INPUT.TEXT]",
                                                                        "a fox in snow", "a fox portrait"]
        # Each item is its own journaled task, under its own tool.
        tools = {t["task_id"]: t["tool"] for t in listed}
        assert tools[out[0]["task_id"]] == T2V and tools[out[5]["task_id"]] == "generate_image_gen4"
        assert tools[out[4]["task_id"]] == T2V
        # Progress covers the whole batch, increasing to the end.
        values = [p for p, _ in seen]
        assert values == sorted(values) and len(set(values)) == len(values)
        assert values[-1] == 100 and seen[-1][1] == "batch: 6/6 done"
        assert "#1 generate_video_text_to_video" in text(r) and "not sent" in text(r)
    finally:
        sim.close()


async def test_all_items_bad_is_an_error_and_sends_nothing(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        r = await c.call_tool("batch_generate_videos", {"items": [video("x", ratio="1:1"), video("y", seed=-1)]})
        empty = await c.call_tool("batch_generate_videos", {"items": []})
        per_item_wait = await c.call_tool("batch_generate_videos", {"items": [video("z", wait_for_completion=False)]})
    assert r.is_error and [e["status"] for e in r.structured_content["items"]] == ["NOT_SENT", "NOT_SENT"]
    assert "ratio" in text(r) and "seed" in text(r)
    assert empty.is_error and "items: give 1 to 50" in text(empty)
    assert per_item_wait.is_error and "for the whole batch" in text(per_item_wait)
    assert creates(sim) == []


def _order(sim: runway_core.Simulator) -> list[str]:
    """The simulator's log as 'create' and 'get <task>' in order."""
    out = []
    for r in api_requests(sim):
        if r["method"] == "POST" and r["path"].startswith("/v1/text_to_video"):
            out.append("create")
        elif r["method"] == "GET" and r["path"].startswith("/v1/tasks/"):
            out.append("get")
    return out


async def test_the_per_model_concurrency_limit_is_respected(tmp_path):
    # Runway's limit for every model is 2: the batch of 4 sends the third only when one is done.
    sim = runway_core.Simulator(task_seconds=0.6, max_concurrency=2)
    try:
        async with mcp(sim, tmp_path) as c:
            r = await c.call_tool("batch_generate_videos", {"items": [video(f"fox {i}") for i in range(4)]})
        assert not r.is_error, text(r)
        assert [e["status"] for e in r.structured_content["items"]] == ["SUCCEEDED"] * 4
        order = _order(sim)
        assert order.count("create") == 4
        assert order[:2] == ["create", "create"] and order[2] == "get"
        # Never 3 in flight: the third create follows a wait that saw an earlier task end.
    finally:
        sim.close()


async def test_without_waiting_every_item_is_created_at_once(tmp_path):
    # Not waiting, every item gets its task id now; Runway queues those over the limit (THROTTLED).
    sim = runway_core.Simulator(task_seconds=30, max_concurrency=1)
    try:
        async with mcp(sim, tmp_path) as c:
            r = await c.call_tool("batch_generate_videos", {"items": [video(f"owl {i}") for i in range(3)],
                                                           "wait_for_completion": False})
            ids = [e["task_id"] for e in r.structured_content["items"]]
            third = await c.call_tool("get_task_status", {"task_id": ids[2]})
        assert [e["status"] for e in r.structured_content["items"]] == ["SUBMITTED"] * 3
        assert len(set(ids)) == 3 and len(creates(sim)) == 3
        assert third.structured_content["status"] == "THROTTLED"
        assert "wait_for_task" in text(r)
    finally:
        sim.close()


async def test_identical_items_make_one_task(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        r = await c.call_tool("batch_generate_videos", {"items": [video("same fox"), video("same fox")],
                                                       "wait_for_completion": False})
    a, b = r.structured_content["items"]
    assert a["task_id"] == b["task_id"] and [a["reattached"], b["reattached"]].count(True) == 1
    assert len(creates(sim)) == 1


def Asker(spend: bool) -> conftest.Asker:
    return conftest.Asker("spend", answer=spend)


async def test_the_budget_guard_prices_the_whole_batch(sim, tmp_path):
    # gen4.5 at 12 credits/s: 60 credits per 5 s video; two make 120, above a daily 100.
    items = [video("heron 1"), video("heron 2")]
    no = Asker(spend=False)
    async with mcp(sim, tmp_path, no, daily_credits=100) as c:
        r = await c.call_tool("batch_generate_videos", {"items": items})
    assert r.is_error and "declined" in text(r) and creates(sim) == []
    assert len(no.asked) == 1 and "120 more makes 120" in no.asked[0]
    yes = Asker(spend=True)
    async with mcp(sim, tmp_path, yes, daily_credits=100) as c:
        r = await c.call_tool("batch_generate_videos", {"items": items, "wait_for_completion": False})
    assert not r.is_error and len(yes.asked) == 1 and len(creates(sim)) == 2
    async with mcp(sim, tmp_path, None, max_credits=50) as c:
        r = await c.call_tool("batch_generate_videos", {"items": [video("heron 3")]})
    assert r.is_error and "#0 generate_video_text_to_video with gen4.5 may cost 60 credits" in text(r)
    assert len(creates(sim)) == 2
