"""Following a task by its resource, through the SDK's client: `subscriptions/listen` on 2026-07-28,
`resources/subscribe` on handshake-era versions, and across two replicas over HTTP whose events
travel through a real PostgreSQL (LISTEN/NOTIFY); what is announced and when; a stop with streams
open."""

from __future__ import annotations

import asyncio
import json
import signal
import warnings
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ResourceUpdated, ToolsListChanged
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.types import ResourceUpdatedNotification

import runway_core
from runway_mcp_server import events, pgbus
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

from conftest import FAST_POLL
from fixtures.pg import pg_server, pg_url  # noqa: F401  (fixtures)
from test_http import ALICE, BOB, server, user

# Bounds waits that end at once when things work, so a regression fails instead of hanging.
HANG = 60


@pytest.fixture
def sim():
    s = runway_core.Simulator(task_seconds=1.0, extra_keys=[ALICE, BOB])
    yield s
    s.close()


def settings(sim: runway_core.Simulator, tmp_path: Path) -> Settings:
    return Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"),
                    journal=str(tmp_path / "journal.sqlite3"), max_wait=30, poll=FAST_POLL)


async def make(c: Client, prompt: str) -> str:
    r = await c.call_tool("generate_image_gen4", {"prompt_text": prompt, "ratio": "1280:720", "wait_for_completion": False})
    assert not r.is_error, r
    return str(r.structured_content["task_id"])  # type: ignore[index]


async def state(c: Client, task_id: str) -> dict[str, Any]:
    read = await c.read_resource(f"runway://task/{task_id}")
    assert read.contents[0].mime_type == "application/json"
    return json.loads(read.contents[0].text)  # type: ignore[union-attr]


async def follow(c: Client, task_id: str, sub: Any) -> list[str]:
    """The states read on each event, until the task has finished."""
    seen: list[str] = []
    async with asyncio.timeout(HANG):
        async for event in sub:
            assert event == ResourceUpdated(uri=f"runway://task/{task_id}")
            seen.append((await state(c, task_id))["status"])
            if seen[-1] in runway_core.FINAL_TASK_STATES:
                return seen
    raise AssertionError(f"the stream ended before the task finished: {seen}")


async def test_listen_delivers_a_followed_tasks_changes_on_the_2026_protocol(sim, tmp_path):
    async with Client(build(settings(sim, tmp_path)), mode="auto") as c:
        assert c.protocol_version == "2026-07-28"
        assert c.server_capabilities.resources and c.server_capabilities.resources.subscribe
        task_id, other = await make(c, "a followed fox [sim:seconds=3]"), await make(c, "an unfollowed fox")
        async with c.listen(resource_subscriptions=[f"runway://task/{task_id}"]) as sub:
            assert sub.honored.resource_subscriptions == [f"runway://task/{task_id}"]
            # Both are followed to their end by the server; only the subscribed one is heard of.
            waiting = asyncio.gather(c.call_tool("wait_for_task", {"task_id": other}),
                                     c.call_tool("wait_for_task", {"task_id": task_id}))
            seen = await follow(c, task_id, sub)
            assert seen[-1] == "SUCCEEDED"
            await waiting


async def test_subscribe_on_a_handshake_era_session_and_unsubscribe(sim, tmp_path):
    heard: list[str] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            heard.append(message.params.uri)

    async with Client(build(settings(sim, tmp_path)), mode="legacy", message_handler=on_message) as c:
        assert c.protocol_version != "2026-07-28"
        assert c.server_capabilities.resources and c.server_capabilities.resources.subscribe
        kept, dropped = await make(c, "a kept fox"), await make(c, "a dropped fox")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)  # the SDK marks them as handshake-era only
            for t in (kept, dropped):
                await c.subscribe_resource(f"runway://task/{t}")
            await c.unsubscribe_resource(f"runway://task/{dropped}")
        # The dropped one finishes first: had it been heard, it would be before the kept one's end.
        assert (await c.call_tool("wait_for_task", {"task_id": dropped})).structured_content["status"] == "SUCCEEDED"  # type: ignore[index]
        assert (await c.call_tool("wait_for_task", {"task_id": kept})).structured_content["status"] == "SUCCEEDED"  # type: ignore[index]
        async with asyncio.timeout(HANG):
            while not heard:
                await asyncio.sleep(0.05)
        assert set(heard) == {f"runway://task/{kept}"}


async def test_a_task_is_announced_once_per_state_and_quarter_of_progress():
    bus = InMemorySubscriptionBus()
    heard: list[Any] = []
    bus.subscribe(heard.append)
    ev = events.TaskEvents(bus)
    steps = [("SUBMITTED", None, False), ("PENDING", None, False), ("PENDING", None, False),
             ("RUNNING", 0.1, False), ("RUNNING", 0.2, False), ("RUNNING", 0.3, False), ("RUNNING", 0.8, False),
             ("RUNNING", 1.0, False), ("SUCCEEDED", 1.0, False), ("SUCCEEDED", None, True),
             ("SUCCEEDED", None, False), ("SUCCEEDED", None, True)]
    for status, progress, saved in steps:
        await ev.task_changed("t1", status, progress=progress, saved=saved)
    await ev.task_changed("t2", "RUNNING")
    # SUBMITTED, PENDING, RUNNING 0-25%, 25-50%, 75-100%, SUCCEEDED, saved; then t2.
    assert heard == [ResourceUpdated(uri="runway://task/t1")] * 7 + [ResourceUpdated(uri="runway://task/t2")]
    await events.TaskEvents().task_changed("t3", "RUNNING")  # no bus: nothing, no error


def test_events_cross_replicas_as_small_payloads():
    event = ResourceUpdated(uri="runway://task/0f2c6f80-1111-4222-8333-444455556666")
    assert pgbus.decode(pgbus.encode(event, "me") or "") == ("me", event)
    assert len(pgbus.encode(event, "x" * 32) or "") < 200
    tools = ToolsListChanged()
    assert pgbus.decode(pgbus.encode(tools, "me") or "") == ("me", tools)
    for junk in ("", "[1]", "{}", '{"o": 1, "list": "nope"}', "not json"):
        assert pgbus.decode(junk)[1] is None, junk


async def test_an_event_about_a_task_on_one_replica_reaches_a_listener_on_another(sim, tmp_path, pg_url):
    with server(sim, tmp_path, "--require-key", RUNWAY_MCP_JOURNAL=pg_url) as (a, _), \
            server(sim, tmp_path, "--require-key", RUNWAY_MCP_JOURNAL=pg_url) as (b, _):
        async with user(a, ALICE) as on_a, user(b, ALICE) as on_b:
            assert on_a.protocol_version == "2026-07-28"
            task_id = await make(on_b, "a fox made on b [sim:seconds=3]")
            async with on_a.listen(resource_subscriptions=[f"runway://task/{task_id}"]) as sub:
                # Only replica b follows the task; the listener is on a.
                waiting = asyncio.ensure_future(on_b.call_tool("wait_for_task", {"task_id": task_id}))
                seen = await follow(on_a, task_id, sub)
                done = await waiting
        assert seen[-1] == "SUCCEEDED" and done.structured_content["status"] == "SUCCEEDED"  # type: ignore[index]


async def test_over_http_only_the_key_that_made_a_task_follows_it(sim, tmp_path):
    with server(sim, tmp_path, "--require-key") as (base, _):
        async with user(base, ALICE) as alice, user(base, BOB) as bob:
            uri = f"runway://task/{await make(alice, 'alice fox')}"
            async with alice.listen(resource_subscriptions=[uri]) as mine:
                assert mine.honored.resource_subscriptions == [uri]
            async with bob.listen(resource_subscriptions=[uri, "test://anything"]) as theirs:
                assert theirs.honored.resource_subscriptions == ["test://anything"]
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {BOB}"}, timeout=60)
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode="legacy") as bob:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MCPDeprecationWarning)
                with pytest.raises(MCPError) as refused:
                    await bob.subscribe_resource(uri)
                # A URI that is no task is honored (it never fires), as the conformance suite asks.
                await bob.subscribe_resource("test://watched-resource")
                await bob.unsubscribe_resource("test://watched-resource")
            assert "no such task" in str(refused.value)


async def test_the_postgresql_bus_delivers_to_the_other_replica_once_and_not_back(pg_url):
    a, b = pgbus.PgSubscriptionBus(pg_url), pgbus.PgSubscriptionBus(pg_url)
    on_a: list[Any] = []
    on_b: list[Any] = []
    a.subscribe(on_a.append)
    b.subscribe(on_b.append)
    await a.start()
    await b.start()
    try:
        first, second = ResourceUpdated(uri="runway://task/first"), ResourceUpdated(uri="runway://task/second")
        await a.publish(first)
        assert on_a == [first]  # at once, locally
        async with asyncio.timeout(HANG):
            while not on_b:
                await asyncio.sleep(0.02)
            await b.publish(second)
            while len(on_a) < 2:
                await asyncio.sleep(0.02)
        # a's own NOTIFY came back to a before b's (it was sent first) and was skipped.
        assert on_a == [first, second] and on_b == [first, second]
    finally:
        await a.stop()
        await b.stop()


async def test_the_postgresql_bus_serves_locally_when_the_database_is_away(caplog):
    bus = pgbus.PgSubscriptionBus("postgresql://runway:s3cret@127.0.0.1:1/nowhere?connect_timeout=2")
    heard: list[Any] = []
    bus.subscribe(heard.append)
    await bus.start()  # logged, retried in the background
    try:
        await bus.publish(ResourceUpdated(uri="runway://task/x"))
        assert heard == [ResourceUpdated(uri="runway://task/x")]
        async with asyncio.timeout(HANG):
            while "did not reach the other replicas" not in caplog.text:
                await asyncio.sleep(0.02)
    finally:
        await bus.stop()
    assert "127.0.0.1:1" in caplog.text and "s3cret" not in caplog.text


async def test_sigterm_ends_listen_streams_so_the_stop_does_not_wait_for_them(sim, tmp_path):
    # A grace period far beyond the wait below: an open stream holding the stop would fail the test.
    with server(sim, tmp_path, "--require-key", RUNWAY_MCP_GRACE_SECONDS="600") as (base, proc):
        async with user(base, ALICE) as alice:
            task_id = await make(alice, "a fox")
            async with alice.listen(resource_subscriptions=[f"runway://task/{task_id}"]) as sub:
                proc.send_signal(signal.SIGTERM)
                async with asyncio.timeout(HANG):
                    async for _ in sub:  # events until the server ends the stream, gracefully
                        pass
        assert proc.wait(timeout=HANG) == 0


async def test_a_task_answered_through_the_tasks_extension_is_heard_while_the_server_follows_it(sim, tmp_path):
    from test_tasks_ext import Tasks, create

    async with Client(build(settings(sim, tmp_path)), mode="2026-07-28", extensions=[Tasks()]) as c:  # type: ignore[arg-type]
        created = await create(c, "generate_image_gen4", {"prompt_text": "a lighthouse [sim:seconds=3]",
                                                          "ratio": "1280:720"})
        async with c.listen(resource_subscriptions=[f"runway://task/{created.task_id}"]) as sub:
            # Nobody waits: the extension follows the task, and its changes reach the stream.
            seen = await follow(c, created.task_id, sub)
        assert seen[-1] == "SUCCEEDED"


async def test_task_status_notifications_reach_a_listener_on_another_replica(sim, tmp_path, pg_url):
    from test_tasks_ext import Heard, Tasks, create, http_user, listening, request, unsigned, until_finished

    tasks, heard = Tasks(), Heard()
    with server(sim, tmp_path, "--require-key", RUNWAY_MCP_JOURNAL=pg_url) as (a, _), \
            server(sim, tmp_path, "--require-key", RUNWAY_MCP_JOURNAL=pg_url) as (b, _):
        async with http_user(a, ALICE, tasks=tasks, message_handler=heard) as on_a, http_user(b, ALICE) as on_b:
            # Made (and so followed) on b; listened for on a, which hears of it only through the database.
            created = await create(on_b, "generate_image_gen4", {"prompt_text": "a fox made on b [sim:seconds=3]",
                                                                 "ratio": "1280:720"})
            async with listening(on_a, heard, [created.task_id]) as honored:
                assert honored == {"taskIds": [created.task_id]}
                end = await until_finished(tasks, created.task_id)
                got = await request(on_a, "tasks/get", created.task_id)
    statuses = [n["status"] for n in tasks.notes]
    assert "working" in statuses and statuses.count("completed") == 1
    assert end["status"] == "completed" and unsigned(end["result"]) == unsigned(got["result"])
