"""The MCP server's resume after a restart follows a journaled workflow invocation like a task: read
at /v1/workflow_invocations/{id} (never as a task), waited to its end, its outputs saved."""

from __future__ import annotations

from pathlib import Path

import runway_core
from runway_mcp_server.service import RunwayService
from runway_mcp_server.settings import Settings

from conftest import FAST_POLL


async def test_resume_follows_an_invocation_and_saves_its_outputs(tmp_path: Path) -> None:
    journal, out = str(tmp_path / "j.sqlite3"), tmp_path / "out"
    with runway_core.Simulator(task_seconds=1.0) as sim:
        # A process ran a workflow and stopped before it finished.
        async with runway_core.Client(sim.api_key, sim.base_url, poll=FAST_POLL, journal=journal) as c:
            listed = await c.api.workflows.list()
            wid = next(w["versions"][0]["id"] for w in listed["data"] if w["name"] == "Trailer")
            run = await c.run_workflow(wid, {"script": {"value": {"type": "primitive", "value": "orphan"}}})
            await c.lease_task(run, 0)  # its creator is gone: no lease left to wait out
        settings = Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(out), poll=FAST_POLL,
                            journal=journal, save_outputs=True)
        svc = RunwayService(settings)
        try:
            await svc.resume()
            saved = sorted(p.name for p in out.iterdir())
            assert len(saved) == 2 and all(run.id in name for name in saved), saved
            row = await svc.client().journal_entry(run.id)
            assert row is not None and row["status"] == "SUCCEEDED" and len(row["files"]) == 2 and row["cost"] == 20
            assert not any(r["path"] == f"/v1/tasks/{run.id}" for r in sim.requests())
        finally:
            await svc.client().lease_tasks([run.id], 0)
            svc.close()
