"""The journal through the MCP server. Over stdio with real server processes: kill -9 the server
mid-wait and get the task and its output back after a restart; a task that finished while the
server was down has its output saved on restart; two servers writing one journal at once. In
process: reattaching an identical in-flight call (one POST), never after it finished, force_new,
and list_tasks."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import pytest
from mcp import Client, StdioServerParameters

import runway_core
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

from conftest import FAST_POLL, api_requests, data, text




def env_for(sim: runway_core.Simulator, journal: Path, out: Path, marker: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "RUNWAYML_API_SECRET": sim.api_key,
            "RUNWAYML_BASE_URL": sim.base_url, "RUNWAY_MCP_JOURNAL": str(journal), "RUNWAY_MCP_OUTPUT_DIR": str(out),
            "RUNWAY_MCP_PROGRESS_INTERVAL": "0.5", "RUNWAY_MCP_TEST_MARKER": marker}


@asynccontextmanager
async def stdio_server(env: dict[str, str]) -> AsyncIterator[Client]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "runway_mcp_server"], env=env)
    async with Client(params, mode="legacy") as c:
        yield c


def pids_with(marker: str) -> list[int]:
    """Processes whose environment carries this marker (the server a test started)."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if f"RUNWAY_MCP_TEST_MARKER={marker}".encode() in (d / "environ").read_bytes():
                    found.append(int(d.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the server process through /proc")
async def test_kill_9_mid_wait_then_restart_recovers_task_and_output(tmp_path):
    journal, out = tmp_path / "journal.sqlite3", tmp_path / "out"
    with runway_core.Simulator(task_seconds=6.0) as sim:
        marker = uuid.uuid4().hex
        seen: list[str] = []

        async def progress(p: float, total: float | None, message: str | None) -> None:
            seen.append(message or "")

        with pytest.raises(BaseException):
            async with stdio_server(env_for(sim, journal, out, marker)) as c:
                call = asyncio.ensure_future(c.call_tool(
                    "generate_video_text_to_video", {"prompt_text": "a lighthouse in a storm", "model": "gen4.5"},
                    progress_callback=progress))
                # The first notification names the task: it exists, and the call is waiting on it.
                while not seen:
                    await asyncio.sleep(0.05)
                assert "SUBMITTED" in seen[0]
                for pid in pids_with(marker):
                    os.kill(pid, signal.SIGKILL)
                await call
        assert len(api_requests(sim, "POST", "/v1/text_to_video")) == 1
        assert not any(out.glob("*")) if out.exists() else True
        # A new server on the same journal knows the task, follows it, and saves its output.
        async with stdio_server(env_for(sim, journal, out, uuid.uuid4().hex)) as c:
            listed = data(await c.call_tool("list_tasks", {}))["tasks"]
            assert len(listed) == 1 and listed[0]["tool"] == "generate_video_text_to_video"
            assert listed[0]["model"] == "gen4.5" and listed[0]["prompt"] == "a lighthouse in a storm"
            task_id = listed[0]["task_id"]
            r = await c.call_tool("wait_for_task", {"task_id": task_id, "max_wait_seconds": 20})
            d = data(r)
            assert not r.is_error and d["status"] == "SUCCEEDED" and d["model"] == "gen4.5", text(r)
            assert d["estimated_cost_credits"] == 60 and Path(d["files"][0]["path"]).exists()
            assert d["files"][0]["path"].startswith(str(out)) and "generate_video_text_to_video" in d["files"][0]["path"]
            listed = data(await c.call_tool("list_tasks", {"status": "finished"}))["tasks"]
            assert listed[0]["files"] == [d["files"][0]["path"]] and listed[0]["cost"] == 60
        assert len(api_requests(sim, "POST", "/v1/text_to_video")) == 1


async def test_task_that_finished_while_down_is_saved_on_restart(tmp_path):
    journal, out = tmp_path / "journal.sqlite3", tmp_path / "out"
    with runway_core.Simulator(task_seconds=1.0) as sim:
        async with stdio_server(env_for(sim, journal, out, uuid.uuid4().hex)) as c:
            r = await c.call_tool("generate_image_gen4", {"prompt_text": "a red kite", "wait_for_completion": False})
            task_id = data(r)["task_id"]
        await asyncio.sleep(1.5)  # it finishes while no server runs
        assert not out.exists() or not any(out.iterdir())
        async with stdio_server(env_for(sim, journal, out, uuid.uuid4().hex)) as c:
            # Nobody asks about it: the server saves it in the background on start.
            for _ in range(100):
                rows = data(await c.call_tool("list_tasks", {}))["tasks"]
                if rows[0]["files"]:
                    break
                await asyncio.sleep(0.1)
            assert rows[0]["task_id"] == task_id and rows[0]["status"] == "SUCCEEDED"
            saved = Path(rows[0]["files"][0])
            assert saved.exists() and saved.parent == out and saved.read_bytes().startswith(b"\x89PNG")


async def test_two_servers_write_one_journal(tmp_path):
    journal = tmp_path / "journal.sqlite3"
    with runway_core.Simulator(task_seconds=0.5) as sim:
        async with stdio_server(env_for(sim, journal, tmp_path / "a", uuid.uuid4().hex)) as a, \
                stdio_server(env_for(sim, journal, tmp_path / "b", uuid.uuid4().hex)) as b:
            calls = [(s, {"prompt_text": f"clip {i} from {name}", "model": "gen4.5", "wait_for_completion": False})
                     for i in range(15) for s, name in ((a, "a"), (b, "b"))]
            results = await asyncio.gather(*(s.call_tool("generate_video_text_to_video", args) for s, args in calls))
            ids = {data(r)["task_id"] for r in results}
            rows_a = data(await a.call_tool("list_tasks", {"limit": 100}))["tasks"]
            rows_b = data(await b.call_tool("list_tasks", {"limit": 100}))["tasks"]
    assert len(ids) == 30
    assert {r["task_id"] for r in rows_a} == ids == {r["task_id"] for r in rows_b}


# ---- in process ----

@asynccontextmanager
async def server(sim: runway_core.Simulator, tmp_path: Path) -> AsyncIterator[Client]:
    settings = Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"),
                        progress_interval=0.5, max_wait=30, poll=FAST_POLL, journal=str(tmp_path / "j.sqlite3"))
    async with Client(build(settings)) as c:
        yield c


async def test_identical_call_reattaches_instead_of_paying_twice(tmp_path):
    with runway_core.Simulator(task_seconds=1.5) as sim:
        async with server(sim, tmp_path) as c:
            args = {"prompt_text": "a slow pan over dunes", "model": "gen4.5", "wait_for_completion": False}
            first = data(await c.call_tool("generate_video_text_to_video", args))
            assert first["reattached"] is False
            # The agent's call timed out and it calls again: the same task, no new POST.
            r = await c.call_tool("generate_video_text_to_video", {**args, "wait_for_completion": True})
            again = data(r)
            assert again["task_id"] == first["task_id"] and again["reattached"] is True
            assert again["status"] == "SUCCEEDED" and "force_new" in again["next_step"], text(r)
            assert len(api_requests(sim, "POST", "/v1/text_to_video")) == 1
            # Finished: the same call now makes a new task.
            third = data(await c.call_tool("generate_video_text_to_video", args))
            assert third["task_id"] != first["task_id"] and third["reattached"] is False
            # force_new pays for another while one runs.
            forced = data(await c.call_tool("generate_video_text_to_video", {**args, "force_new": True}))
            assert forced["task_id"] not in (first["task_id"], third["task_id"]) and not forced["reattached"]
            assert len(api_requests(sim, "POST", "/v1/text_to_video")) == 3
            rows = data(await c.call_tool("list_tasks", {"text": "dunes"}))["tasks"]
            assert {r["task_id"] for r in rows} == {first["task_id"], third["task_id"], forced["task_id"]}
            running = data(await c.call_tool("list_tasks", {"status": "running"}))["tasks"]
            assert {r["task_id"] for r in running} <= {third["task_id"], forced["task_id"]}
            r = await c.call_tool("list_tasks", {"since": "yesterday"})
            assert r.is_error and "since" in text(r)
            assert data(await c.call_tool("list_tasks", {"since": "2999-01-01"}))["tasks"] == []


async def test_list_tasks_without_a_journal(tmp_path):
    with runway_core.Simulator(task_seconds=0.3) as sim:
        settings = Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path), journal=None)
        async with Client(build(settings)) as c:
            r = await c.call_tool("list_tasks", {})
    assert r.is_error and "RUNWAY_MCP_JOURNAL" in text(r)


async def test_get_credits_adds_what_the_journal_spent(tmp_path):
    with runway_core.Simulator(task_seconds=0.3) as sim:
        async with server(sim, tmp_path) as c:
            before = data(await c.call_tool("get_credits", {}))
            assert before["spent_today"] == 0 and before["spent_last_7_days"] == 0
            r = await c.call_tool("generate_video_text_to_video", {"prompt_text": "x", "model": "gen4.5", "duration": 4})
            assert not r.is_error, text(r)
            after = data(await c.call_tool("get_credits", {}))
    assert after["spent_today"] == 48 == after["spent_last_7_days"]
    assert before["credit_balance"] - after["credit_balance"] == 48
