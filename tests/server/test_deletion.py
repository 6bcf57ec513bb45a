"""cancel_task deletes a finished task only with the user's yes: asked through elicitation (on the
handshake-era protocol and on 2026-07-28's input_required flow), refused with what would be deleted
when the client cannot ask. A running task is cancelled without a question. No DELETE reaches the
simulator for a finished task the user did not confirm."""

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


def Asker(action: str = "accept", delete: bool = True) -> conftest.Asker:
    return conftest.Asker("delete", action, delete)


@asynccontextmanager
async def mcp(sim: runway_core.Simulator, tmp_path: Path, asker: Optional[Asker] = None,
              mode: str = "legacy") -> AsyncIterator[Client]:
    settings = Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"),
                        max_wait=30, poll=FAST_POLL, journal=str(tmp_path / "journal.sqlite3"))
    async with Client(build(settings), elicitation_callback=asker, mode=mode) as c:  # type: ignore[arg-type]
        yield c


def deletes(sim: runway_core.Simulator) -> list[dict[str, Any]]:
    return api_requests(sim, "DELETE")


async def finished_image(c: Client) -> tuple[str, list[str]]:
    r = await c.call_tool("generate_image_gen4", {"prompt_text": "a red kite", "ratio": "1280:720"})
    assert r.structured_content["status"] == "SUCCEEDED", text(r)
    return r.structured_content["task_id"], [f["path"] for f in r.structured_content["files"]]


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_deleting_a_finished_task_asks_and_goes_on_yes(sim, tmp_path, mode):
    asker = Asker("accept", delete=True)
    async with mcp(sim, tmp_path, asker, mode=mode) as c:
        task_id, files = await finished_image(c)
        r = await c.call_tool("cancel_task", {"task_id": task_id})
        assert not r.is_error, text(r)
        assert r.structured_content["action"] == "deleted" and r.structured_content["previous_status"] == "SUCCEEDED"
        gone = await c.call_tool("get_task_status", {"task_id": task_id})
    assert len(asker.asked) == 1
    question = asker.asked[0]
    assert task_id in question and "SUCCEEDED" in question and "gen4_image" in question, question
    assert files and all(f in question for f in files), "the question says which saved files stay"
    assert [d["path"] for d in deletes(sim)] == [f"/v1/tasks/{task_id}"]
    assert gone.is_error and "404" in text(gone)
    assert all(Path(f).exists() for f in files), "the local copies are the user's; deleting at Runway keeps them"


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
@pytest.mark.parametrize("answer", [("decline", True), ("cancel", True), ("accept", False)])
async def test_the_user_says_no_and_nothing_is_deleted(sim, tmp_path, mode, answer):
    asker = Asker(*answer)
    async with mcp(sim, tmp_path, asker, mode=mode) as c:
        task_id, _ = await finished_image(c)
        r = await c.call_tool("cancel_task", {"task_id": task_id})
        still = await c.call_tool("get_task_status", {"task_id": task_id})
    assert r.is_error and "Not deleted" in text(r) and "declined" in text(r) and task_id in text(r), text(r)
    assert len(asker.asked) == 1 and deletes(sim) == []
    assert still.structured_content["status"] == "SUCCEEDED"


async def test_a_client_that_cannot_ask_is_told_what_would_be_deleted(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        task_id, files = await finished_image(c)
        r = await c.call_tool("cancel_task", {"task_id": task_id})
    assert r.is_error and "Not deleted, nothing changed" in text(r), text(r)
    assert task_id in text(r) and "SUCCEEDED" in text(r) and "elicitation" in text(r)
    assert all(f in text(r) for f in files)
    assert deletes(sim) == []


@pytest.mark.parametrize("asker", [None, Asker("decline")])
async def test_a_running_task_is_cancelled_without_a_question(tmp_path, asker):
    sim = runway_core.Simulator(task_seconds=30.0)
    try:
        async with mcp(sim, tmp_path, asker) as c:
            r = await c.call_tool("generate_video_text_to_video", {"prompt_text": "a slow fox", "model": "gen4.5",
                                                                   "duration": 5, "wait_for_completion": False})
            task_id = r.structured_content["task_id"]
            r = await c.call_tool("cancel_task", {"task_id": task_id})
            assert not r.is_error, text(r)
            assert r.structured_content["action"] == "cancelled"
            again = await c.call_tool("cancel_task", {"task_id": task_id})
        # Runway answers a cancelled task with 404 (the reference, §1.2): the repeat is a no-op.
        assert not again.is_error and again.structured_content["action"] == "already_gone", text(again)
        assert asker is None or asker.asked == []
    finally:
        sim.close()
