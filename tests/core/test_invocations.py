"""Workflow runs through runway_core, journaled like tasks: run, wait and save the outputs of an
invocation; reattach to an identical run still going; a failed node named on a SUCCEEDED run; a new
client on the same journal resuming a run it never saw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import runway_core
from runway_core import Client

from conftest import FAST_POLL, api_requests


async def trailer(c: Client) -> str:
    """The id of the simulator's seeded "Trailer" workflow (text input `script`; outputs `cut`, `soundtrack`)."""
    listed = await c.api.workflows.list()
    return next(w["versions"][0]["id"] for w in listed["data"] if w["name"] == "Trailer")


def script(text: str) -> dict[str, Any]:
    return {"script": {"value": {"type": "primitive", "value": text}}}


async def test_run_wait_and_save_outputs(tmp_path: Path) -> None:
    with runway_core.Simulator(task_seconds=1.0) as sim:
        async with Client(sim.api_key, sim.base_url, poll=FAST_POLL, journal=str(tmp_path / "j.sqlite3")) as c:
            wid = await trailer(c)
            run = await c.run_workflow(wid, script("a storm at sea"), tool="my_script")
            assert run.kind == "workflow_invocation" and run.status is None and not run.reattached
            row = await c.journal_entry(run)
            assert row is not None and row["endpoint"] == f"workflows/{wid}" and row["model"] == wid
            assert row["tool"] == "my_script" and row["prompt"] == "a storm at sea"
            # The same run while it goes: the same invocation, nothing sent again.
            again = await c.call("workflows.run", {"id": wid}, None, {"nodeOutputs": script("a storm at sea")})
            assert isinstance(again, runway_core.Task) and again.id == run.id and again.reattached
            assert len(api_requests(sim, "POST", "/v1/workflows/")) == 1
            seen: list[str] = []
            done = await c.wait_for_task(run, timeout=20, on_progress=lambda t: seen.append(t.status or ""))
            assert done.status == "SUCCEEDED" and done.kind == "workflow_invocation" and "SUCCEEDED" in seen
            assert len(done.output) == 2 and set(done.raw["output"]) == {"cut", "soundtrack"}
            assert done.cost == 20 and done.failure is None
            files = await c.save_outputs(done, str(tmp_path), "trailer")
            assert len(files) == 2 and all(Path(f["path"]).stat().st_size == f["bytes"] > 0 for f in files)
            row = await c.journal_entry(run.id)
            assert row is not None and row["status"] == "SUCCEEDED" and row["cost"] == 20
            assert [f["path"] for f in row["files"]] == [f["path"] for f in files]
            assert await c.unfinished_tasks() == [] and await c.spent_since(0) == 20
            # Runway's API has no way to cancel one.
            with pytest.raises(runway_core.RunwayError, match="workflow invocation"):
                await c.cancel_task(run)
            # The typed API answers the same way, journaled all the same.
            answer = await c.api.workflows.run(wid, nodeOutputs=script("another"))
            assert answer.kind == "workflow_invocation" and (await c.journal_entry(answer.id)) is not None


async def test_a_failed_node_is_named_on_a_succeeded_run(tmp_path: Path) -> None:
    with runway_core.Simulator(task_seconds=0.4) as sim:
        async with Client(sim.api_key, sim.base_url, poll=FAST_POLL, journal=str(tmp_path / "j.sqlite3")) as c:
            run = await c.run_workflow(await trailer(c), script("fail:soundtrack"))
            done = await c.wait_for_task(run, timeout=20)
            assert done.status == "SUCCEEDED" and len(done.output) == 1
            assert done.failure is not None and "soundtrack" in done.failure
            assert "soundtrack" in done.raw["nodeErrors"]
            files = await c.save_outputs(run.id, str(tmp_path), "partial")  # by id: looked up first
            assert len(files) == 1
            failed = await c.run_workflow(await trailer(c), script("fail"))
            with pytest.raises(runway_core.TaskFailedError) as e:
                await c.wait_for_task(failed, timeout=20)
            assert e.value.task.status == "FAILED" and e.value.task.kind == "workflow_invocation"


async def test_a_new_client_resumes_a_run_it_never_saw(tmp_path: Path) -> None:
    path = str(tmp_path / "j.sqlite3")
    with runway_core.Simulator(task_seconds=1.0) as sim:
        async with Client(sim.api_key, sim.base_url, poll=FAST_POLL, journal=path) as first:
            run = await first.run_workflow(await trailer(first), script("resume me"))
        # As after a restart: a new client, nothing in memory but the journal.
        async with Client(sim.api_key, sim.base_url, poll=FAST_POLL, journal=path) as c:
            rows = await c.unfinished_tasks()
            assert [r["task_id"] for r in rows] == [run.id] and rows[0]["endpoint"].startswith("workflows/")
            done = await c.wait_for_task(rows[0]["task_id"], timeout=20)
            assert done.status == "SUCCEEDED" and done.kind == "workflow_invocation"
            assert not any(r["path"] == f"/v1/tasks/{run.id}" for r in sim.requests()), "polled as an invocation"
            await c.save_outputs(done, str(tmp_path), "resumed")
            assert await c.unfinished_tasks() == []
