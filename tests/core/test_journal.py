"""The task journal through the library: rows from create to saved files, reattaching an identical
in-flight request, list filters, unfinished tasks, spend, and two clients (as two processes would
be) writing one journal at once."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

import runway_core
from runway_core import Client

from conftest import FAST_POLL, api_requests, video_body


def journaled(sim: runway_core.Simulator, path: str) -> Client:
    return Client(sim.api_key, sim.base_url, poll=FAST_POLL, journal=path)


async def test_rows_from_create_to_files(sim, tmp_path):
    path = str(tmp_path / "journal.sqlite3")
    async with journaled(sim, path) as c:
        assert c.has_journal
        t = await c.create_task("text_to_video", video_body("a heron"), tool="my_script")
        row = await c.journal_entry(t.id)
        assert row is not None and row["tool"] == "my_script" and row["status"] is None
        assert row["estimated_cost"] == 60 and row["prompt"] == "a heron" and row["params"]["ratio"] == "1280:720"
        assert "key_fp" not in row and row["created_at"].endswith("Z")
        done = await c.wait_for_task(t.id, timeout=20)
        files = await c.save_outputs(done, str(tmp_path), "heron")
        row = await c.journal_entry(t)
        assert row is not None and row["status"] == "SUCCEEDED" and row["cost"] == 60
        assert row["files"][0]["path"] == files[0]["path"] and row["outputs"] == done.output
        assert [r["id"] for r in await c.list_tasks(text="HERON")] == [row["id"]]
        assert await c.list_tasks(model="veo3.1") == [] and await c.list_tasks(status="running") == []
        assert len(await c.list_tasks(status="succeeded", since_ms=int(time.time() * 1000) - 60_000)) == 1
        assert await c.spent_since(0) == 60
        assert await c.unfinished_tasks() == []
    # Another client with no journal has none of this.
    async with Client(sim.api_key, sim.base_url) as plain:
        assert not plain.has_journal


async def test_reattach_instead_of_paying_twice(tmp_path):
    path = str(tmp_path / "journal.sqlite3")
    # Tasks of 6 s: on a loaded machine 2 s tasks could finish before the checks of "still running".
    with runway_core.Simulator(task_seconds=6.0) as sim:
        async with journaled(sim, path) as c:
            first = await c.create_task("text_to_video", video_body("surf"))
            second = await c.create_task("text_to_video", video_body("surf"))
            assert second.id == first.id and second.reattached and not first.reattached
            assert len(api_requests(sim, "POST", "/v1/text_to_video")) == 1
            forced = await c.create_task("text_to_video", video_body("surf"), force_new=True)
            assert forced.id != first.id and not forced.reattached
            # Still running: both are unfinished, ready to resume after a restart.
            assert {r["task_id"] for r in await c.unfinished_tasks()} == {first.id, forced.id}
            await c.wait_for_task(first.id, timeout=20)
            third = await c.create_task("text_to_video", video_body("surf"))
            assert third.id not in (first.id, forced.id) and not third.reattached
            assert len(api_requests(sim, "POST", "/v1/text_to_video")) == 3


async def test_in_flight_and_reattach_only(tmp_path):
    with runway_core.Simulator(task_seconds=2.0) as sim:
        async with journaled(sim, str(tmp_path / "journal.sqlite3")) as c:
            assert await c.in_flight("text_to_video", video_body("tide")) is None
            with pytest.raises(runway_core.RunwayError, match="nothing spent"):
                await c.create_task("text_to_video", video_body("tide"), reattach_only=True)
            assert api_requests(sim, "POST", "/v1/text_to_video") == []
            first = await c.create_task("text_to_video", video_body("tide"))
            seen = await c.in_flight("/v1/text_to_video", video_body("tide"))
            assert seen is not None and seen.id == first.id and seen.reattached and seen.status in ("PENDING", "RUNNING")
            again = await c.create_task("text_to_video", video_body("tide"), reattach_only=True)
            assert again.id == first.id and again.reattached
            assert len(api_requests(sim, "POST", "/v1/text_to_video")) == 1
        async with Client(sim.api_key, sim.base_url) as plain:  # no journal: nothing to reattach to
            assert await plain.in_flight("text_to_video", video_body("tide")) is None


async def test_two_clients_write_one_journal_at_once(tmp_path):
    # Two clients each open the file (as two server processes would) and create at the same time.
    # Each client's prompts are its own: an identical request whose task is still running would be
    # reattached (one task, one row) when the other client's row is already there.
    path = str(tmp_path / "journal.sqlite3")
    with runway_core.Simulator(task_seconds=0.3) as sim:
        async with journaled(sim, path) as a, journaled(sim, path) as b:
            made = await asyncio.gather(*(c.create_task("text_to_video", video_body(f"clip {i} by {n}"))
                                          for i in range(40) for n, c in (("a", a), ("b", b))))
            # The same request from both at once: one task (the journal's claim), the other reattaches.
            twins = await asyncio.gather(*(c.create_task("text_to_video", video_body("twins")) for c in (a, b)))
            assert twins[0].id == twins[1].id and sorted(t.reattached for t in twins) == [False, True]
            made.append(twins[0])
            await asyncio.gather(*(c.wait_for_task(t.id, timeout=30) for t, c in zip(made, [a, b] * 41)))
        # Closing a client writes the looks it has not journaled yet (they wait up to 250 ms to
        # share a transaction): a third client sees every finish.
        async with journaled(sim, path) as c:
            rows = await c.list_tasks(limit=1000)
    assert len(rows) == 81 == len({t.id for t in made})
    assert {r["task_id"] for r in rows} == {t.id for t in made}
    assert all(r["status"] == "SUCCEEDED" for r in rows)
    # The file is a plain SQLite database in WAL mode, readable by other tools.
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
