"""runway_core.Client against the simulator: every method, errors, retries, waiting."""

import asyncio
import inspect
from urllib.parse import urlsplit

import pytest

import runway_core
from runway_core import (
    ApiError,
    AuthenticationError,
    Client,
    NotFoundError,
    RateLimitError,
    RunwayError,
    TaskFailedError,
    TaskTimeoutError,
    TransportError,
    ValidationError,
)

from conftest import api_requests, video_body

UNKNOWN_ID = "0f2c6f80-1111-4222-8333-444455556666"


def test_methods_are_real_coroutine_functions():
    for name in ("create_task", "get_task", "cancel_task", "wait_for_task", "organization", "aclose"):
        assert inspect.iscoroutinefunction(getattr(Client, name)), name


def test_exceptions_form_one_hierarchy():
    assert issubclass(AuthenticationError, ApiError) and issubclass(NotFoundError, ApiError)
    assert issubclass(RateLimitError, ApiError) and issubclass(ApiError, RunwayError)
    for cls in (ValidationError, TaskFailedError, TaskTimeoutError, TransportError):
        assert issubclass(cls, RunwayError)
        assert cls.__module__ == "runway_core"


async def test_create_wait_and_read_task(sim, client):
    task = await client.create_task("text_to_video", video_body())
    assert task.status is None and task.estimated_cost == 60
    got = await client.get_task(task.id)
    assert got.id == task.id and got.status in ("PENDING", "RUNNING")
    assert got.created_at.endswith("Z")
    done = await client.wait_for_task(task, timeout=10)
    assert done.status == "SUCCEEDED" and done.is_terminal
    assert done.cost == 60 and done.failure is None and done.failure_code is None
    assert len(done.output) == 1 and urlsplit(done.output[0]).path.endswith(".mp4")
    assert done.raw["output"] == done.output and done.raw["cost"] == {"credits": 60}
    # Output URLs carry their expiry in ms: two GETs within one ms (a release build on an idle
    # core) would rightly sign the same URL.
    await asyncio.sleep(0.005)
    again = await client.get_task(task.id)
    assert (again.id, again.status, again.cost) == (done.id, done.status, done.cost)
    assert again.output != done.output, "each GET signs fresh output URLs"
    assert again == again and again != done


async def test_endpoint_may_be_a_path_and_image_models_work(client):
    task = await client.create_task("/v1/text_to_image", {"model": "gen4_image", "promptText": "a cat", "ratio": "1280:720"})
    done = await client.wait_for_task(task.id, timeout=10)
    assert urlsplit(done.output[0]).path.endswith(".png")
    assert task.estimated_cost == 5


async def test_async_with_and_closed_client(sim):
    async with Client(sim.api_key, sim.base_url) as c:
        assert not c.closed
        assert (await c.organization())["creditBalance"] == 100000
    assert c.closed
    with pytest.raises(RunwayError, match="closed"):
        await c.organization()


def test_key_and_base_url_from_environment(sim, monkeypatch):
    for var in ("RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "runway_api_key", "RUNWAYML_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(RunwayError, match="RUNWAYML_API_SECRET"):
        Client()
    monkeypatch.setenv("RUNWAYML_BASE_URL", sim.base_url)
    for var in ("runway_api_key", "RUNWAY_API_KEY", "RUNWAYML_API_SECRET"):
        monkeypatch.setenv(var, sim.api_key)
        c = Client()
        assert c.base_url == sim.base_url
        assert asyncio.run(c.organization())["creditBalance"] == 100000
    # The first variable wins over the others.
    monkeypatch.setenv("RUNWAY_API_KEY", "key_other_but_long")
    assert asyncio.run(Client().organization())["creditBalance"] == 100000
    assert Client(base_url="https://example.test/").base_url == "https://example.test"
    assert Client().base_url == sim.base_url


async def test_every_request_has_auth_and_version_headers(sim, client):
    t = await client.create_task("text_to_video", video_body())
    await client.get_task(t.id)
    await client.organization()
    await client.cancel_task(t.id)
    reqs = api_requests(sim)
    assert [r["method"] for r in reqs] == ["POST", "GET", "GET", "DELETE"]
    assert all(r["authorized"] and r["version"] == "2024-11-06" for r in reqs)


async def test_progress_callbacks_plain_and_async(client):
    seen = []

    async def on_progress_async(t):
        await asyncio.sleep(0)
        seen.append(("async", t.status))

    t = await client.create_task("text_to_video", video_body())
    await client.wait_for_task(t.id, timeout=10, on_progress=lambda s: seen.append(("plain", s.status)))
    t2 = await client.create_task("text_to_video", video_body())
    await client.wait_for_task(t2.id, timeout=10, on_progress=on_progress_async)
    assert ("plain", "SUCCEEDED") in seen and ("async", "SUCCEEDED") in seen


async def test_progress_callback_exception_propagates_unchanged(client):
    class Boom(Exception):
        pass

    def explode(task):
        raise Boom(task.id)

    t = await client.create_task("text_to_video", video_body())
    with pytest.raises(Boom, match=t.id):
        await client.wait_for_task(t.id, timeout=10, on_progress=explode)


async def test_validation_error_before_any_request(sim, client):
    with pytest.raises(ValidationError) as ei:
        await client.create_task("text_to_video", video_body(ratio="1920:1080", duration=11, extra="x"))
    msg = str(ei.value)
    assert "ratio: '1920:1080' is not allowed; allowed: 1280:720, 720:1280" in msg
    assert "duration: 11 is out of range; allowed from 2 to 10" in msg
    assert "extra: not accepted here" in msg
    assert {tuple(i["path"]) for i in ei.value.issues} == {("ratio",), ("duration",), ("extra",)}
    with pytest.raises(ValidationError, match="validate=False"):
        await client.create_task("text_to_video", {"model": "gen9", "promptText": "x"})
    with pytest.raises(ValidationError, match="not a Runway task id"):
        await client.get_task("../organization")
    with pytest.raises(ValidationError, match="not a JSON value"):
        await client.create_task("text_to_video", {"model": "gen4.5", "promptText": object()})
    assert api_requests(sim) == []


async def test_runway_error_body_reaches_the_user_intact(sim, client):
    with pytest.raises(ApiError) as ei:
        await client.create_task("text_to_video", video_body(ratio="1:1"), validate=False)
    e = ei.value
    assert e.status == 400 and e.method == "POST" and e.path == "/v1/text_to_video"
    assert e.body["error"] == "Invalid parameter 'ratio'"
    assert e.body["issues"][0]["path"] == ["ratio"]
    assert e.body["docUrl"].startswith("https://")
    assert "Invalid parameter 'ratio'" in str(e) and e.body["docUrl"] in str(e)
    assert e.may_have_created is False
    assert len(api_requests(sim, "POST")) == 1


async def test_status_errors_map_to_classes(sim):
    c = Client(sim.api_key, sim.base_url, max_retries=0)
    with pytest.raises(NotFoundError) as ei:
        await c.get_task(UNKNOWN_ID)
    assert ei.value.status == 404 and ei.value.task_id == UNKNOWN_ID and UNKNOWN_ID in str(ei.value)
    with pytest.raises(AuthenticationError):
        await Client("key_not_the_right_one", sim.base_url).organization()
    sim.inject_fault("status", status=429, method="GET", path="/v1/organization")
    with pytest.raises(RateLimitError):
        await c.organization()


async def test_daily_quota_429_is_a_rate_limit_error():
    with runway_core.Simulator(daily_limit=1) as sim:
        c = Client(sim.api_key, sim.base_url, max_retries=1)
        await c.create_task("text_to_video", video_body())
        with pytest.raises(RateLimitError, match="daily task limit"):
            await c.create_task("text_to_video", video_body())
        assert sim.tasks_created == 1


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_reads_retry_each_retryable_status(sim, client, status):
    t = await client.create_task("text_to_video", video_body())
    sim.inject_fault("status", status=status, method="GET", path="/v1/tasks/", count=2)
    assert (await client.get_task(t.id)).id == t.id
    assert len(api_requests(sim, "GET", "/v1/tasks/")) == 3


async def test_a_wait_hears_of_each_retried_poll_in_its_own_context(sim, client):
    import contextvars

    mine: contextvars.ContextVar[str] = contextvars.ContextVar("mine", default="elsewhere")
    mine.set("this wait")
    t = await client.create_task("text_to_video", video_body())
    sim.inject_fault("status", status=502, method="GET", path="/v1/tasks/")
    sim.inject_fault("reset", method="GET", path="/v1/tasks/")
    heard: list[tuple[runway_core.Retry, str]] = []
    done = await client.wait_for_task(t.id, on_retry=lambda r: heard.append((r, mine.get())))
    assert done.status == "SUCCEEDED"
    assert [(r["method"], r["path"], r["status"], r["attempt"], where) for r, where in heard] == [
        ("GET", f"/v1/tasks/{t.id}", 502, 1, "this wait"), ("GET", f"/v1/tasks/{t.id}", None, 2, "this wait")]
    assert heard[0][0]["error"] is None and heard[1][0]["error"] in ("broken", "connect")
    assert all(r["delay"] >= 0 for r, _ in heard)


async def test_retry_after_header_is_used(sim, client):
    sim.inject_fault("status", status=429, retry_after=1, method="GET", path="/v1/organization")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await client.organization()
    assert loop.time() - t0 >= 0.95
    # A wait longer than the cap is not slept through: the error says when to come back.
    sim.inject_fault("status", status=429, retry_after=7200, method="GET", path="/v1/organization")
    with pytest.raises(RateLimitError) as ei:
        await client.organization()
    assert ei.value.retry_after == 7200


async def test_reads_retry_resets_and_slow_answers(sim):
    c = Client(sim.api_key, sim.base_url, timeout=0.5, max_retries=2)
    sim.inject_fault("reset", method="GET", path="/v1/organization")
    sim.inject_fault("slow", seconds=2, method="GET", path="/v1/organization")
    assert "creditBalance" in await c.organization()
    assert len(api_requests(sim, "GET", "/v1/organization")) == 3
    sim.inject_fault("reset", method="GET", path="/v1/organization", count=5)
    with pytest.raises(TransportError) as ei:
        await c.organization()
    assert ei.value.kind == "broken" and ei.value.may_have_created is False


async def test_create_is_never_retried_when_runway_may_have_it(sim):
    c = Client(sim.api_key, sim.base_url, timeout=0.5, max_retries=3)
    sim.inject_fault("status", status=503, method="POST")
    with pytest.raises(ApiError) as ei:
        await c.create_task("text_to_video", video_body())
    assert ei.value.status == 503 and ei.value.may_have_created
    assert "may have created" in str(ei.value) and "dailyGenerations" in str(ei.value)
    sim.inject_fault("lost_response", method="POST")
    with pytest.raises(TransportError) as ei:
        await c.create_task("text_to_video", video_body())
    assert ei.value.may_have_created and ei.value.kind == "broken"
    sim.inject_fault("slow", seconds=2, method="POST")
    with pytest.raises(TransportError) as ei:
        await c.create_task("text_to_video", video_body())
    assert ei.value.kind == "timeout" and ei.value.may_have_created
    sim.inject_fault("reset", method="POST")
    with pytest.raises(TransportError):
        await c.create_task("text_to_video", video_body())
    # One POST each, never a second: lost_response and slow made real tasks, and only one each.
    assert len(api_requests(sim, "POST")) == 4
    assert sim.tasks_created == 2


async def test_create_retries_when_certainly_not_started(sim, client):
    sim.inject_fault("status", status=429, method="POST", count=2)
    t = await client.create_task("text_to_video", video_body())
    assert t.id and len(api_requests(sim, "POST")) == 3 and sim.tasks_created == 1
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again on exit: nothing listens there
    c = Client("key_x_long_enough", f"http://127.0.0.1:{port}", max_retries=2)
    with pytest.raises(TransportError) as ei:
        await c.create_task("text_to_video", video_body())
    assert ei.value.kind == "connect" and ei.value.may_have_created is False


async def test_failed_and_cancelled_tasks_raise_task_failed(client):
    t = await client.create_task("text_to_video", video_body("x [sim:fail=SAFETY.INPUT.TEXT]"))
    with pytest.raises(TaskFailedError) as ei:
        await client.wait_for_task(t.id, timeout=10)
    task = ei.value.task
    assert task.id == t.id == ei.value.task_id and task.status == "FAILED"
    assert task.failure_code == "SAFETY.INPUT.TEXT" and "moderation" in task.failure
    assert "SAFETY.INPUT.TEXT" in str(ei.value) and t.id in str(ei.value)
    t = await client.create_task("text_to_video", video_body("x [sim:cancelled]"))
    with pytest.raises(TaskFailedError) as ei:
        await client.wait_for_task(t.id, timeout=10)
    assert ei.value.task.status == "CANCELLED"


async def test_timeout_carries_the_last_snapshot(client):
    t = await client.create_task("text_to_video", video_body("long [sim:seconds=60]"))
    with pytest.raises(TaskTimeoutError) as ei:
        await client.wait_for_task(t.id, timeout=0.6)
    e = ei.value
    assert e.task_id == t.id and e.task.id == t.id and e.task.status == "RUNNING"
    assert 0.5 <= e.waited < 5 and t.id in str(e)
    # The task is not lost: wait again, then cancel it.
    assert (await client.get_task(t.id)).status == "RUNNING"
    assert await client.cancel_task(t.id) is True


async def test_cancel_then_delete_semantics(sim, client):
    t = await client.create_task("text_to_video", video_body())
    assert await client.cancel_task(t.id) is True
    assert await client.cancel_task(t.id) is False  # a repeat is success, reported as already gone
    with pytest.raises(NotFoundError):
        await client.get_task(t.id)
    done = await client.create_task("text_to_video", video_body("quick [sim:seconds=0.1]"))
    await client.wait_for_task(done.id, timeout=10)
    assert await client.cancel_task(done) is True  # deletes a finished task
    assert [r["method"] for r in api_requests(sim, "DELETE")] == ["DELETE"] * 3


async def test_cancelling_the_awaitable_stops_polling(sim, client):
    t = await client.create_task("text_to_video", video_body("long [sim:seconds=60]"))
    waiter = asyncio.ensure_future(client.wait_for_task(t.id))
    await asyncio.sleep(0.6)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    polls = len(api_requests(sim, "GET", "/v1/tasks/"))
    assert polls >= 1
    await asyncio.sleep(0.8)
    assert len(api_requests(sim, "GET", "/v1/tasks/")) == polls, "the Rust side kept polling"


async def test_cancelling_aborts_a_request_in_flight(sim, client):
    sim.inject_fault("slow", seconds=3, method="GET", path="/v1/organization")
    pending = asyncio.ensure_future(client.organization())
    await asyncio.sleep(0.3)
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    # The client stays usable, and no retry of the abandoned request follows.
    assert "creditBalance" in await client.organization()
    assert len(api_requests(sim, "GET", "/v1/organization")) == 2


async def test_fifty_concurrent_calls(sim, client):
    tasks = [await client.create_task("text_to_video", video_body()) for _ in range(5)]
    got = await asyncio.gather(*(client.get_task(tasks[i % 5].id) for i in range(50)))
    assert [g.id for g in got] == [tasks[i % 5].id for i in range(50)]


async def test_the_key_never_appears_in_any_error(sim):
    key = sim.api_key
    wrong = "key_" + "ab" * 64
    errors = []

    async def capture(coro):
        try:
            await coro
        except RunwayError as e:
            errors.append(e)

    c = Client(key, sim.base_url, timeout=0.5, max_retries=0)
    await capture(Client(wrong, sim.base_url).organization())
    await capture(c.create_task("text_to_video", video_body(ratio="1:1")))
    await capture(c.create_task("text_to_video", video_body(ratio="1:1"), validate=False))
    await capture(c.get_task(UNKNOWN_ID))
    # A server that echoes the key back in an error body.
    sim.inject_fault("status", status=500, method="GET", body={"error": f"bad token {key}"})
    await capture(c.organization())
    sim.inject_fault("slow", seconds=2, method="GET")
    await capture(c.organization())
    t = await c.create_task("text_to_video", video_body("x [sim:seconds=30]"))
    await capture(c.wait_for_task(t.id, timeout=0.3))
    assert len(errors) == 7
    for e in errors:
        for text in (str(e), repr(e), repr(e.args), repr(getattr(e, "body", ""))):
            assert key not in text and wrong not in text, text
    assert "[redacted]" in str(errors[4])
    assert key not in repr(c) and sim.base_url in repr(c)


def test_catalogue_helpers():
    names = {(m["endpoint"], m["model"]) for m in runway_core.models()}
    assert ("text_to_video", "veo3.1") in names and ("video_upscale", "magnific_video_upscaler_creative") in names
    images = {m["model"] for m in runway_core.models("/v1/text_to_image")}
    assert {"gen4_image", "gen4_image_turbo", "gemini_2.5_flash", "gpt_image_2", "recraft_v4_1_vector"} <= images
    assert images == {m["model"] for m in runway_core.catalogue()["models"] if m["endpoint"] == "text_to_image"}
    for form in ("text_to_image", "/v1/text_to_image", "v1/text_to_image", "/v1/text_to_image/"):
        assert runway_core.endpoint_name(form) == "text_to_image"
        assert {m["model"] for m in runway_core.models(form)} == images
    veo = next(m for m in runway_core.models("text_to_video") if m["model"] == "veo3.1")
    assert veo["fields"]["duration"]["values"] == [4, 6, 8]
    assert runway_core.estimate_cost("text_to_video", {"model": "veo3.1", "promptText": "x", "ratio": "1280:720"}) == 320
    assert runway_core.estimate_cost("video_to_video", {"model": "aleph2", "videoUri": "https://example.com/v.mp4"}) is None
    runway_core.validate("image_to_video", {"model": "gen4_turbo", "promptImage": "https://example.com/a.png", "ratio": "960:960"})
    with pytest.raises(ValidationError, match="promptImage"):
        runway_core.validate("image_to_video", {"model": "gen4_turbo", "promptImage": "http://example.com/a.png", "ratio": "960:960"})
