"""The journal in PostgreSQL through the library: two clients with their own connections, as two
replicas on two machines would be, share one journal (and two processes on one SQLite file): a task created through one is listed,
awaited, reattached and saved through the other, and a lease has one holder at a time."""

from __future__ import annotations

import asyncio

import pytest

import runway_core
from runway_core import Client

from conftest import FAST_POLL, api_requests, video_body
from fixtures.pg import pg_server, pg_url  # noqa: F401  (fixtures)


def replica(sim: runway_core.Simulator, url: str) -> Client:
    return Client(sim.api_key, sim.base_url, poll=FAST_POLL, journal=url)


@pytest.fixture(params=["sqlite", "postgres"])
def shared_journal(request: pytest.FixtureRequest, tmp_path) -> str:
    """A journal two clients open: a SQLite file, or the PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "shared.sqlite3")
    return str(request.getfixturevalue("pg_url"))


async def test_two_replicas_share_one_journal(sim, shared_journal, tmp_path):
    one, two = replica(sim, shared_journal), replica(sim, shared_journal)
    async with one, two:
        assert one.has_journal and two.has_journal
        t = await one.create_task("text_to_video", video_body("a shared heron"), tool="replica_one")
        rows = await two.list_tasks(text="SHARED HERON")
        assert [r["task_id"] for r in rows] == [t.id] and rows[0]["tool"] == "replica_one"
        assert [r["task_id"] for r in await two.unfinished_tasks()] == [t.id]
        # Reattached through the other replica: one create only.
        again = await two.create_task("text_to_video", video_body("a shared heron"))
        assert again.id == t.id and again.reattached
        assert len(api_requests(sim, "POST", "/v1/text_to_video")) == 1
        # Its creator holds its lease from the create; once released, the other replica takes it
        # and the first is refused.
        assert not await two.lease_task(t.id, 60)
        assert await one.lease_tasks([t.id], 0) == [t.id]
        assert await two.lease_tasks([t.id, "not-a-task-here", t.id], 60) == [t.id, "not-a-task-here"]
        assert not await one.lease_task(t, 60)
        done = await two.wait_for_task(t.id, timeout=20)
        files = await two.save_outputs(done, str(tmp_path), "heron")
        assert await two.lease_task(t.id, 0)  # released
        # The other replica sees the finish and the files once they are written (their batch
        # waits up to 250 ms for others to share its transaction).
        for _ in range(50):
            row = await one.journal_entry(t.id)
            if row is not None and row["files"]:
                break
            await asyncio.sleep(0.1)
        assert row is not None and row["status"] == "SUCCEEDED" and row["files"][0]["path"] == files[0]["path"]
        assert await one.unfinished_tasks() == []
        assert await one.spent_since(0) == 60
        assert await one.lease_task(t.id, 60)


async def test_racing_leases_have_one_winner(sim, pg_url):
    clients = [replica(sim, pg_url) for _ in range(6)]
    try:
        for n in range(5):
            got = await asyncio.gather(*(c.lease_task(f"task-{n}", 30) for c in clients))
            assert sum(got) == 1, got
    finally:
        for c in clients:
            c.close()


def test_a_bad_url_names_the_server_but_never_the_password():
    with pytest.raises(runway_core.RunwayError) as err:
        Client("key_" + "a" * 60, "http://127.0.0.1:9", journal="postgresql://me:hunter2@127.0.0.1:1/j?connect_timeout=2")
    assert "hunter2" not in str(err.value) and "127.0.0.1:1" in str(err.value)
