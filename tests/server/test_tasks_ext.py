"""The MCP tasks extension (SEP-2663) through the SDK's own client on 2026-07-28: a generation
answered with a task (the MCP task id is Runway's task id) and followed with tasks/get to the
result the tool would have given; tasks/cancel cancels Runway's task; a task followed by a new
server on the same journal; each key sees only its own tasks; a client that does not declare the
extension keeps the capped wait with progress; status notifications (notifications/tasks) on a
subscriptions/listen stream that names task ids."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, ClassVar, Literal, Optional

import pytest
from pydantic import BaseModel, ConfigDict, TypeAdapter
from mcp import Client
from mcp.client import advertise
from mcp.client.extension import ClaimContext, ClientExtension, NotificationBinding, ResultClaim
from mcp.server.subscriptions import SUBSCRIPTION_ID_META_KEY
from mcp.shared.exceptions import MCPError
from mcp.types import (
    CallToolResult,
    LoggingMessageNotification,
    ProgressNotification,
    Request,
    RequestParams,
    Result,
    SubscriptionFilter,
    SubscriptionsAcknowledgedNotification,
    SubscriptionsListenRequest,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
)
from mcp_types import HEADER_MISMATCH, INVALID_PARAMS, MISSING_REQUIRED_CLIENT_CAPABILITY, METHOD_NOT_FOUND

import runway_core
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings
from runway_mcp_server.tasks_ext import ID

from conftest import FAST_POLL, api_requests, text

MODERN = "2026-07-28"
IMAGE = ("generate_image_gen4", {"prompt_text": "a lighthouse at dawn", "ratio": "1280:720"})


class CreateTaskResult(Result):
    """SEP-2663's CreateTaskResult, as a claim the SDK client parses (the SDK has no tasks types)."""

    result_type: Literal["task"] = "task"
    task_id: str
    status: str
    status_message: Optional[str] = None
    created_at: str
    last_updated_at: str
    ttl_ms: Optional[int]
    poll_interval_ms: Optional[int] = None


async def _resolve(result: CreateTaskResult, ctx: ClaimContext) -> CallToolResult:
    """What a tasks-aware client does with a task: poll tasks/get, then take the inlined result."""
    while True:
        t = await ctx.session.send_request(
            TaskRequest(method="tasks/get", params=TaskParams(task_id=result.task_id)), AS_DICT)
        if t["status"] == "completed":
            return CallToolResult.model_validate(t["result"])
        assert t["status"] == "working", t
        await asyncio.sleep(t["pollIntervalMs"] / 1000)


class TaskNote(BaseModel):
    """notifications/tasks' params: a DetailedTask (kept whole, as sent)."""

    model_config = ConfigDict(extra="allow")


class Tasks(ClientExtension):
    """The client side of the extension: declares it, resolves a task into its result (used by
    `call_tool`; the tests that look at the task itself pass allow_claimed=True), and keeps the
    notifications/tasks it hears (the SDK hands a vendor notification to its extension's binding)."""

    identifier = ID

    def __init__(self) -> None:
        self.resolved: list[str] = []
        self.notes: list[dict[str, Any]] = []

    def notifications(self) -> list[NotificationBinding[Any]]:
        async def heard(note: TaskNote) -> None:
            self.notes.append(note.model_dump())

        return [NotificationBinding(method="notifications/tasks", params_type=TaskNote, handler=heard)]

    def claims(self) -> list[ResultClaim[Any]]:
        async def resolve(result: CreateTaskResult, ctx: ClaimContext) -> CallToolResult:
            self.resolved.append(result.task_id)
            return await _resolve(result, ctx)

        return [ResultClaim(result_type="task", model=CreateTaskResult, resolve=resolve)]


def settings(sim: runway_core.Simulator, tmp_path: Path, **kw: Any) -> Settings:
    return Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"), max_wait=30,
                    poll=FAST_POLL, journal=str(tmp_path / "journal.sqlite3"), progress_interval=0.2, **kw)


@asynccontextmanager
async def mcp(s: Settings, declare: bool = True, mode: str = MODERN, tasks: Optional[Tasks] = None,
              **kw: Any) -> AsyncIterator[Client]:
    ext = tasks or Tasks()
    async with Client(build(s), mode=mode, extensions=[ext] if declare else None, **kw) as c:  # type: ignore[arg-type]
        yield c


AS_DICT = TypeAdapter(dict[str, Any])


class TaskParams(RequestParams):
    task_id: str


class TaskRequest(Request[TaskParams, str]):
    """tasks/get, tasks/update, tasks/cancel: the SDK has no tasks API, its generic request path sends them."""

    name_param: ClassVar[Optional[str]] = "taskId"  # Mcp-Name over HTTP, as SEP-2663 asks


async def request(c: Client, method: str, task_id: str) -> dict[str, Any]:
    return await c.session.send_request(TaskRequest(method=method, params=TaskParams(task_id=task_id)), AS_DICT)


async def create(c: Client, name: str, args: dict[str, Any]) -> CreateTaskResult:
    r = await c.session.call_tool(name, args, allow_claimed=True)
    assert isinstance(r, CreateTaskResult), r
    return r


async def follow(c: Client, task_id: str) -> dict[str, Any]:
    while True:
        t = await request(c, "tasks/get", task_id)
        assert t["taskId"] == task_id and t["resultType"] == "complete"
        if t["status"] in ("completed", "failed", "cancelled"):
            return t
        assert t["status"] == "working" and "result" not in t and "error" not in t
        await asyncio.sleep(t["pollIntervalMs"] / 1000)


def unsigned(result: dict[str, Any]) -> str:
    """A result without its output URLs' signatures (each look at a task signs them afresh)."""
    return re.sub(r"\?exp=[^\"' )]*", "", json.dumps(result, sort_keys=True))


def journal(sim: runway_core.Simulator, tmp_path: Path, key: Optional[str] = None) -> runway_core.Client:
    return runway_core.Client(key or sim.api_key, sim.base_url, journal=str(tmp_path / "journal.sqlite3"))


async def test_generation_answers_with_a_task_followed_to_the_tools_result(sim, tmp_path):
    async with mcp(settings(sim, tmp_path)) as c:
        assert ID in (await c.session.send_discover(MODERN))["capabilities"]["extensions"]
        created = await create(c, *IMAGE)
        # At once: before the image exists, one task was made at Runway, and the journal has it.
        assert created.status == "working" and created.ttl_ms is None and created.poll_interval_ms
        posts = api_requests(sim, "POST")
        assert len(posts) == 1 and posts[0]["path"] == "/v1/text_to_image"
        row = await journal(sim, tmp_path).journal_entry(created.task_id)
        assert row is not None and row["tool"] == "generate_image_gen4"
        assert created.created_at == row["created_at"]
        done = await follow(c, created.task_id)
        # The same call made without the extension, for the result the tool gives.
        async with mcp(settings(sim, tmp_path), declare=False) as plain:
            direct = await plain.call_tool(*IMAGE)
    assert done["status"] == "completed" and "error" not in done
    result = CallToolResult.model_validate(done["result"])
    assert not result.is_error
    s, d = result.structured_content, direct.structured_content
    assert s["task_id"] == created.task_id and s["status"] == "SUCCEEDED" == d["status"]
    assert set(s) == set(d) and len(s["files"]) == len(d["files"]) == 1
    assert Path(s["files"][0]["path"]).is_file(), "the output is saved as the tool saves it"
    assert [b.type for b in result.content] == [b.type for b in direct.content]
    assert created.task_id in text(result)
    assert len(api_requests(sim, "POST")) == 2, "one task per call: following it made none"


async def test_a_tasks_aware_client_gets_the_result_through_its_extension(sim, tmp_path):
    tasks = Tasks()
    async with Client(build(settings(sim, tmp_path)), mode=MODERN, extensions=[tasks]) as c:
        r = await c.call_tool(*IMAGE)  # the SDK's claim machinery calls Tasks' resolver
    assert not r.is_error and r.structured_content["status"] == "SUCCEEDED"
    assert tasks.resolved == [r.structured_content["task_id"]], "answered with a task, resolved by tasks/get"
    assert Path(r.structured_content["files"][0]["path"]).is_file()


def listen_request(task_ids: list[str]) -> SubscriptionsListenRequest:
    """subscriptions/listen with the extension's taskIds (the SDK's listen() has no such argument;
    its filter type keeps extensions' keys)."""
    return SubscriptionsListenRequest(params=SubscriptionsListenRequestParams(
        notifications=SubscriptionFilter.model_validate({"taskIds": task_ids})))


class Heard:
    """The notifications a client's message_handler gets (the stream's acknowledgement among them)."""

    def __init__(self) -> None:
        self.all: list[Any] = []

    async def __call__(self, message: Any) -> None:
        self.all.append(message)

    def acks(self) -> list[SubscriptionsAcknowledgedNotification]:
        return [m for m in self.all if isinstance(m, SubscriptionsAcknowledgedNotification)]


@asynccontextmanager
async def listening(c: Client, heard: Heard, task_ids: list[str]) -> AsyncIterator[dict[str, Any]]:
    """Opens a listen stream for `task_ids`; yields its acknowledged filter (as sent)."""
    stream = asyncio.ensure_future(c.session.send_request(listen_request(task_ids), SubscriptionsListenResult))
    try:
        async with asyncio.timeout(HANG):
            while not heard.acks() and not stream.done():
                await asyncio.sleep(0.02)
        if stream.done():
            stream.result()  # raises the server's refusal
        yield heard.acks()[-1].params.notifications.model_dump(by_alias=True, exclude_none=True)
    finally:
        stream.cancel()


async def until_finished(tasks: Tasks, task_id: str) -> dict[str, Any]:
    async with asyncio.timeout(HANG):
        while True:
            ends = [n for n in tasks.notes if n["taskId"] == task_id and n["status"] != "working"]
            if ends:
                return ends[0]
            await asyncio.sleep(0.02)


def state_of(note: dict[str, Any]) -> tuple[str, str]:
    return note["status"], note["statusMessage"]


HANG = 60  # bounds waits that end at once when things work


async def test_a_listen_stream_with_task_ids_carries_notifications_tasks_to_the_result(sim, tmp_path):
    tasks, heard = Tasks(), Heard()
    sim_slow = runway_core.Simulator(task_seconds=2.0)
    try:
        async with mcp(settings(sim_slow, tmp_path), tasks=tasks, message_handler=heard) as c:
            created = await create(c, *IMAGE)
            other = await create(c, *IMAGE)
            async with listening(c, heard, [created.task_id, "not-a-task"]) as honored:
                assert honored == {"taskIds": [created.task_id]}, "a task of this key's own; nothing else"
                end = await until_finished(tasks, created.task_id)
                got = await request(c, "tasks/get", created.task_id)
                await follow(c, other.task_id)
        notes = [n for n in tasks.notes if n["taskId"] == created.task_id]
        assert {n["taskId"] for n in tasks.notes} == {created.task_id}, "only the task listened for"
        assert end["status"] == "completed" and state_of(end) == state_of(got)
        # The very DetailedTask tasks/get answers: the same fields, the same result.
        assert set(end) - {"_meta"} == set(got) - {"_meta", "resultType"}
        assert unsigned(end["result"]) == unsigned(got["result"])
        assert CallToolResult.model_validate(end["result"]).structured_content["status"] == "SUCCEEDED"
        assert all(n["_meta"][SUBSCRIPTION_ID_META_KEY] == heard.acks()[0].params.meta[SUBSCRIPTION_ID_META_KEY]
                   for n in notes), "each stamped with its stream"
        # One notification per state: a repeat of an event (progress quarters, saved outputs) sends none.
        assert len({state_of(n) for n in notes}) == len(notes)
        assert all(n["status"] == "working" and "result" not in n for n in notes if n is not end)
        # Neither progress nor log messages ride the stream (nor reach this client otherwise).
        assert not [m for m in heard.all if isinstance(m, (ProgressNotification, LoggingMessageNotification))]
    finally:
        sim_slow.close()


async def test_a_listen_stream_opened_after_the_end_says_so_at_once(sim, tmp_path):
    tasks, heard = Tasks(), Heard()
    async with mcp(settings(sim, tmp_path), tasks=tasks, message_handler=heard) as c:
        created = await create(c, *IMAGE)
        done = await follow(c, created.task_id)
        async with listening(c, heard, [created.task_id]):
            end = await until_finished(tasks, created.task_id)
    assert state_of(end) == state_of(done) and unsigned(end["result"]) == unsigned(done["result"])


async def test_task_ids_on_listen_need_the_extension(sim, tmp_path):
    async with mcp(settings(sim, tmp_path)) as c:
        created = await create(c, *IMAGE)
    async with mcp(settings(sim, tmp_path), declare=False) as plain:
        with pytest.raises(MCPError) as e:
            await plain.session.send_request(listen_request([created.task_id]), SubscriptionsListenResult)
        async with plain.listen(resource_subscriptions=[f"runway://task/{created.task_id}"]) as sub:
            assert sub.honored.resource_subscriptions == [f"runway://task/{created.task_id}"], "without taskIds: as ever"
    assert e.value.error.code == MISSING_REQUIRED_CLIENT_CAPABILITY == -32021
    assert e.value.error.data == {"requiredCapabilities": {"extensions": {ID: {}}}}


async def test_a_failed_generation_completes_with_the_tools_error(sim, tmp_path):
    args = {"prompt_text": "x [sim:fail=SAFETY.INPUT.TEXT]", "model": "gen4.5"}
    async with mcp(settings(sim, tmp_path)) as c:
        created = await create(c, "generate_video_text_to_video", args)
        done = await follow(c, created.task_id)
    # Runway's failure is the tool's own error result (the task ran): "completed", not "failed".
    assert done["status"] == "completed" and "error" not in done
    r = CallToolResult.model_validate(done["result"])
    assert r.is_error and r.structured_content["status"] == "FAILED"
    assert r.structured_content["failure_code"] == "SAFETY.INPUT.TEXT" and created.task_id in text(r)


async def test_tasks_cancel_cancels_runways_task(sim, tmp_path):
    sim_slow = runway_core.Simulator(task_seconds=30)
    try:
        async with mcp(settings(sim_slow, tmp_path)) as c:
            created = await create(c, "generate_video_text_to_video", {"prompt_text": "waves", "model": "gen4.5"})
            ack = await request(c, "tasks/cancel", created.task_id)
            assert ack == {"resultType": "complete", "_meta": ack.get("_meta")}
            done = await follow(c, created.task_id)
            again = await request(c, "tasks/cancel", created.task_id)  # idempotent
        assert done["status"] == "cancelled" and "result" not in done
        assert again["resultType"] == "complete"
        deletes = api_requests(sim_slow, "DELETE")
        assert [d["path"] for d in deletes] == [f"/v1/tasks/{created.task_id}"], "one DELETE: the running task's"
        with pytest.raises(runway_core.NotFoundError):
            await journal(sim_slow, tmp_path).get_task(created.task_id)
    finally:
        sim_slow.close()


async def test_tasks_cancel_leaves_a_finished_task_alone(sim, tmp_path):
    async with mcp(settings(sim, tmp_path)) as c:
        created = await create(c, *IMAGE)
        assert (await follow(c, created.task_id))["status"] == "completed"
        await request(c, "tasks/cancel", created.task_id)
        after = await follow(c, created.task_id)
    assert after["status"] == "completed", "cancelling a finished task would delete it: deleting asks first"
    assert api_requests(sim, "DELETE") == []


async def test_a_task_followed_across_a_server_restart(tmp_path):
    sim = runway_core.Simulator(task_seconds=2.0)
    try:
        s = settings(sim, tmp_path)
        async with mcp(s) as c:
            created = await create(c, *IMAGE)
            first = await request(c, "tasks/get", created.task_id)
        assert first["status"] == "working"
        # A new server (another process, or another replica) on the same journal.
        async with mcp(s) as c:
            done = await follow(c, created.task_id)
        assert done["status"] == "completed" and done["result"]["structuredContent"]["task_id"] == created.task_id
        assert len(api_requests(sim, "POST")) == 1
    finally:
        sim.close()


async def test_each_key_finds_only_its_own_tasks(tmp_path):
    sim = runway_core.Simulator(task_seconds=0.8, extra_keys=["key_bob_0123456789abcdef"])
    try:
        async with mcp(settings(sim, tmp_path)) as alice:
            created = await create(alice, *IMAGE)
        bob = dataclasses.replace(settings(sim, tmp_path), api_key="key_bob_0123456789abcdef")
        async with mcp(bob) as c:
            for method in ("tasks/get", "tasks/cancel", "tasks/update"):
                with pytest.raises(MCPError) as e:
                    await request(c, method, created.task_id)
                assert e.value.error.code == INVALID_PARAMS, method
            with pytest.raises(MCPError) as e:
                await request(c, "tasks/get", "not-a-task-id")
            assert e.value.error.code == INVALID_PARAMS
        assert api_requests(sim, "DELETE") == []
    finally:
        sim.close()


async def test_the_tasks_surface_is_gated_and_has_no_list(sim, tmp_path):
    async with mcp(settings(sim, tmp_path)) as c:
        created = await create(c, *IMAGE)
        for method in ("tasks/list", "tasks/result"):  # removed by SEP-2663
            with pytest.raises(MCPError) as e:
                await request(c, method, created.task_id)
            assert e.value.error.code == METHOD_NOT_FOUND, method
        # A tool that is not a generation answers as always.
        listed = await c.session.call_tool("list_tasks", {}, allow_claimed=True)
        assert isinstance(listed, CallToolResult) and created.task_id in text(listed)
    async with mcp(settings(sim, tmp_path), declare=False) as c:
        for method in ("tasks/get", "tasks/update", "tasks/cancel"):
            with pytest.raises(MCPError) as e:
                await request(c, method, created.task_id)
            assert e.value.error.code == MISSING_REQUIRED_CLIENT_CAPABILITY, method
            assert e.value.error.data == {"requiredCapabilities": {"extensions": {ID: {}}}}


@pytest.mark.parametrize("mode", ["legacy", MODERN])
async def test_a_client_without_the_extension_keeps_the_capped_wait(tmp_path, mode):
    sim = runway_core.Simulator(task_seconds=1.5)
    seen: list[str] = []

    async def progress(value: float, total: Optional[float], message: Optional[str]) -> None:
        seen.append(message or "")

    try:
        # Declaring the extension on the handshake-era protocol offers nothing: tasks are 2026-07-28's.
        async with mcp(settings(sim, tmp_path), declare=mode == "legacy", mode=mode) as c:
            r = await c.session.call_tool(*IMAGE, progress_callback=progress)
            capped = await c.session.call_tool("generate_video_text_to_video",
                                               {"prompt_text": "waves", "model": "gen4.5", "max_wait_seconds": 0.3})
        assert isinstance(r, CallToolResult) and r.structured_content["status"] == "SUCCEEDED"
        task_id = r.structured_content["task_id"]
        assert seen and all(task_id in m for m in seen), "progress while waiting, naming the task"
        assert isinstance(capped, CallToolResult) and not capped.is_error
        assert capped.structured_content["status"] in ("PENDING", "RUNNING", "THROTTLED")
        assert "wait_for_task" in text(capped)
    finally:
        sim.close()


@asynccontextmanager
async def http_user(base: str, key: str, declare: bool = True, tasks: Optional[Tasks] = None,
                    message_handler: Any = None, **headers: str) -> AsyncIterator[Client]:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}", **headers}, timeout=60)
    async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=MODERN,
                      extensions=[tasks or Tasks()] if declare else None, message_handler=message_handler) as c:
        yield c


async def test_over_http_any_replica_answers_for_the_keys_own_tasks(tmp_path):
    from test_http import ALICE, BOB, server

    sim = runway_core.Simulator(task_seconds=1.5, extra_keys=[ALICE, BOB])
    try:
        # Two replicas on one journal: the task is made on one and followed on the other.
        with server(sim, tmp_path, "--require-key") as (one, _), server(sim, tmp_path, "--require-key") as (two, _):
            async with http_user(one, ALICE) as alice:
                created = await create(alice, *IMAGE)
            async with http_user(two, ALICE) as alice, http_user(two, BOB) as bob:
                done = await follow(alice, created.task_id)  # Mcp-Name: the task id, as SEP-2663 asks
                with pytest.raises(MCPError) as e:
                    await request(bob, "tasks/get", created.task_id)
                assert e.value.error.code == INVALID_PARAMS, "another key's task is not found"
            # A request whose Mcp-Name names another task than its body is refused (a plain Request
            # sends no Mcp-Name of its own: the client's header stands).
            async with http_user(two, ALICE, **{"Mcp-Name": "some-other-task"}) as alice:
                with pytest.raises(MCPError) as e:
                    await alice.session.send_request(
                        Request(method="tasks/get", params=TaskParams(task_id=created.task_id)), AS_DICT)
                assert e.value.error.code == HEADER_MISMATCH
        assert done["status"] == "completed" and done["result"]["structuredContent"]["task_id"] == created.task_id
        assert [r["path"] for r in api_requests(sim, "POST")] == ["/v1/text_to_image"]
    finally:
        sim.close()


async def test_without_a_journal_a_generation_answers_the_old_way(sim, tmp_path):
    # No journal: a task could not be found again (nor from another replica), so none is offered.
    async with mcp(dataclasses.replace(settings(sim, tmp_path), journal=None)) as c:
        r = await c.session.call_tool(*IMAGE, allow_claimed=True)
        assert isinstance(r, CallToolResult) and r.structured_content["status"] == "SUCCEEDED"
        with pytest.raises(MCPError) as e:
            await request(c, "tasks/get", r.structured_content["task_id"])
        assert e.value.error.code == INVALID_PARAMS


async def test_over_http_a_listen_stream_follows_only_the_keys_own_tasks(tmp_path):
    from test_http import ALICE, BOB, server

    sim = runway_core.Simulator(task_seconds=1.5, extra_keys=[ALICE, BOB])
    tasks, heard = Tasks(), Heard()
    try:
        with server(sim, tmp_path, "--require-key") as (base, _):
            async with http_user(base, ALICE, tasks=tasks, message_handler=heard) as alice, \
                    http_user(base, BOB) as bob:
                mine, theirs = await create(alice, *IMAGE), await create(bob, *IMAGE)
                async with listening(alice, heard, [theirs.task_id, mine.task_id]) as honored:
                    assert honored == {"taskIds": [mine.task_id]}, "another key's task is left out"
                    end = await until_finished(tasks, mine.task_id)
                    got = await request(alice, "tasks/get", mine.task_id)
                    await follow(bob, theirs.task_id)
        assert {n["taskId"] for n in tasks.notes} == {mine.task_id}
        assert end["status"] == "completed" and unsigned(end["result"]) == unsigned(got["result"])
    finally:
        sim.close()
