"""The simulator is faithful enough that Runway's OFFICIAL Python SDK (runwayml, a dev dependency)
works against it unchanged: task creation, every status shape, outputs that download, error
classes and bodies, deletion, the organization, the SDK's own waiting and its retries.

The SDK client runs with `_strict_response_validation=True`, so every answer the simulator gives
is validated against the SDK's pydantic models (a missing or mistyped field fails the test)
instead of being constructed leniently as the SDK does by default.
"""

from __future__ import annotations

import asyncio
import base64
import struct
import time
import typing
import urllib.parse
import uuid
import zlib
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest
import runwayml
from pydantic import TypeAdapter
from runwayml.types.task_retrieve_response import Pending, Running, Succeeded, TaskRetrieveResponse

import runway_core

TASK_SECONDS = 1.0


async def create_fox(sdk: runwayml.AsyncRunwayML) -> Any:
    """A valid gen4.5 text_to_video task (typed Any: the SDK types the answer as the base class,
    without the `estimated_cost` the concrete response model has)."""
    return await sdk.text_to_video.create(model="gen4.5", prompt_text="a red fox in snow", ratio="1280:720", duration=5)


@pytest.fixture
def sim() -> Iterator[runway_core.Simulator]:
    s = runway_core.Simulator(task_seconds=TASK_SECONDS)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
async def sdk(sim: runway_core.Simulator) -> AsyncIterator[runwayml.AsyncRunwayML]:
    async with runwayml.AsyncRunwayML(
        api_key=sim.api_key, base_url=sim.base_url, _strict_response_validation=True
    ) as client:
        yield client


def tiny_png() -> bytes:
    """A valid 1×1 RGB PNG, built by hand (no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1×1, 8-bit, truecolour
    idat = zlib.compress(b"\x00\xff\x80\x00")  # filter byte + one orange pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


async def fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(url)


async def retrieve_validated(sdk: runwayml.AsyncRunwayML, task_id: str) -> Any:
    """tasks.retrieve, plus an independent strict pydantic validation of the raw JSON."""
    raw = await sdk.tasks.with_raw_response.retrieve(task_id)
    TypeAdapter(TaskRetrieveResponse).validate_python(raw.http_response.json())
    return await raw.parse()


async def test_text_to_video_lifecycle_and_output(sim: runway_core.Simulator, sdk: runwayml.AsyncRunwayML) -> None:
    created = await create_fox(sdk)
    uuid.UUID(created.id)  # a real UUID
    assert created.estimated_cost.credits == 60  # gen4.5: 12 credits/s × 5 s

    # The first look comes within the PENDING window (min(0.5, 1/16) s after creation).
    seen: list[Any] = [await retrieve_validated(sdk, created.id)]
    deadline = time.monotonic() + TASK_SECONDS + 5
    while seen[-1].status != "SUCCEEDED":
        assert time.monotonic() < deadline, f"task never succeeded: {[t.status for t in seen]}"
        await asyncio.sleep(0.05)
        seen.append(await retrieve_validated(sdk, created.id))

    statuses = [t.status for t in seen]
    assert statuses[0] == "PENDING", statuses
    assert "RUNNING" in statuses, statuses
    # Monotonic order: PENDING* RUNNING* SUCCEEDED.
    order = {"PENDING": 0, "RUNNING": 1, "SUCCEEDED": 2}
    assert [order[s] for s in statuses] == sorted(order[s] for s in statuses), statuses

    for t in seen:
        assert t.id == created.id
        kind = {"PENDING": Pending, "RUNNING": Running, "SUCCEEDED": Succeeded}[t.status]
        assert isinstance(t, kind), (t.status, type(t).__mro__)
        assert t.created_at.tzinfo is not None  # parsed as an aware datetime
    pending = [t for t in seen if t.status == "PENDING"]
    assert all(t.estimated_cost.credits == 60 for t in pending)
    running = [t for t in seen if t.status == "RUNNING"]
    progress = [t.progress for t in running]
    assert all(0.0 <= p < 1.0 for p in progress), progress
    assert progress == sorted(progress), progress
    assert all(t.estimated_cost.credits == 60 for t in running)

    done = seen[-1]
    assert isinstance(done.cost.credits, int) and done.cost.credits == 60
    assert len(done.output) == 1
    resp = await fetch(done.output[0])
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "video/mp4"
    assert resp.content[4:8] == b"ftyp", resp.content[:16]


async def test_text_to_image_gen4_image(sdk: runwayml.AsyncRunwayML) -> None:
    created: Any = await sdk.text_to_image.create(model="gen4_image", prompt_text="a lighthouse at dusk", ratio="1920:1080")
    assert created.id and created.estimated_cost.credits == 8
    await asyncio.sleep(TASK_SECONDS + 0.1)
    done = await retrieve_validated(sdk, created.id)
    assert isinstance(done, Succeeded)
    resp = await fetch(done.output[0])
    assert resp.headers["content-type"] == "image/png"
    assert resp.content[:8] == b"\x89PNG\r\n\x1a\n"


async def test_image_to_video_gen4_turbo_with_data_uri(sdk: runwayml.AsyncRunwayML) -> None:
    data_uri = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
    created: Any = await sdk.image_to_video.create(
        model="gen4_turbo", prompt_image=data_uri, ratio="1280:720", duration=5, prompt_text="the pixel drifts"
    )
    assert created.id and created.estimated_cost.credits == 25  # 5 credits/s × 5 s
    # The array form with a position is accepted too.
    created2: Any = await sdk.image_to_video.create(
        model="gen4_turbo", prompt_image=[{"uri": data_uri, "position": "first"}], ratio="960:960"
    )
    assert created2.estimated_cost.credits == 50  # default duration 10 s
    await asyncio.sleep(TASK_SECONDS + 0.1)
    done = await retrieve_validated(sdk, created.id)
    assert isinstance(done, Succeeded)
    assert urllib.parse.urlsplit(done.output[0]).path.endswith(".mp4"), done.output  # signed URLs carry a query
    resp = await fetch(done.output[0])
    assert resp.status_code == 200 and resp.headers["content-type"] == "video/mp4"


async def test_invalid_body_is_a_bad_request_with_runway_error_body(sdk: runwayml.AsyncRunwayML) -> None:
    with pytest.raises(runwayml.BadRequestError) as info:
        await sdk.text_to_video.create(model="gen4.5", prompt_text="a fox", ratio="1:1", duration=5)  # type: ignore[call-overload]
    err = info.value
    assert err.status_code == 400
    body = err.body
    assert isinstance(body, dict), body
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["docUrl"], str) and body["docUrl"].startswith("https://")
    issues = body["issues"]
    assert isinstance(issues, list) and issues
    assert any(i["path"] == ["ratio"] for i in issues), issues
    assert all(isinstance(i["message"], str) for i in issues), issues


async def test_wrong_key_is_an_authentication_error(sim: runway_core.Simulator) -> None:
    async with runwayml.AsyncRunwayML(api_key="key_" + "0" * 128, base_url=sim.base_url) as bad:
        with pytest.raises(runwayml.AuthenticationError) as info:
            await bad.organization.retrieve()
        assert info.value.status_code == 401
        with pytest.raises(runwayml.AuthenticationError):
            await create_fox(bad)
    assert sim.tasks_created == 0
    # The simulator saw the version header the SDK sends and flagged the key as wrong.
    reqs = sim.requests()
    assert reqs and all(r["version"] == "2024-11-06" and r["authorized"] is False for r in reqs), reqs


async def test_unknown_task_is_not_found(sdk: runwayml.AsyncRunwayML) -> None:
    with pytest.raises(runwayml.NotFoundError) as info:
        await sdk.tasks.retrieve(str(uuid.uuid4()))
    assert info.value.status_code == 404


async def test_delete_then_retrieve_is_not_found(sdk: runwayml.AsyncRunwayML) -> None:
    created = await create_fox(sdk)
    await sdk.tasks.delete(created.id)  # 204, no body (the SDK returns None)
    with pytest.raises(runwayml.NotFoundError):
        await sdk.tasks.retrieve(created.id)
    with pytest.raises(runwayml.NotFoundError):
        await sdk.tasks.delete(created.id)


async def test_organization_parses(sdk: runwayml.AsyncRunwayML) -> None:
    await create_fox(sdk)
    org = await sdk.organization.retrieve()
    assert isinstance(org.credit_balance, int)
    assert org.credit_balance == 100_000  # nothing finished yet, nothing spent
    assert isinstance(org.tier.max_monthly_credit_spend, int)
    assert "gen4.5" in org.tier.models
    assert org.usage.models["gen4.5"].daily_generations == 1


async def test_wait_for_task_output(sim: runway_core.Simulator, sdk: runwayml.AsyncRunwayML) -> None:
    # The one slow test: the SDK sleeps 4.5–7.5 s before its first poll, whatever the task.
    created = await create_fox(sdk)
    done = await created.wait_for_task_output(timeout=60)
    assert isinstance(done, Succeeded)
    assert done.id == created.id and len(done.output) == 1
    gets = [r for r in sim.requests() if r["method"] == "GET" and r["path"] == f"/v1/tasks/{created.id}"]
    assert len(gets) == 1, gets  # the first poll (≥ 4.5 s) already finds the 1-second task done


async def test_sdk_retries_a_503_on_retrieve(sim: runway_core.Simulator, sdk: runwayml.AsyncRunwayML) -> None:
    created = await create_fox(sdk)
    sim.clear_requests()
    sim.inject_fault("status", status=503, method="GET", path="/v1/tasks/")
    task = await sdk.tasks.retrieve(created.id)
    assert task.id == created.id and task.status in ("PENDING", "RUNNING", "SUCCEEDED")
    gets = [r for r in sim.requests() if r["method"] == "GET" and r["path"] == f"/v1/tasks/{created.id}"]
    assert len(gets) == 2, gets  # the 503, then the retry that succeeded
    assert gets[1]["at_ms"] > gets[0]["at_ms"]  # the SDK backed off (≈0.4–0.5 s) in between


def test_task_states_are_the_sdks() -> None:
    """The one list of task states (runway_core.TASK_STATES, from the core) is the SDK's: every
    status its task response union allows; the final ones are those its wait_for_task_output
    stops on (runwayml/lib/polling.py: SUCCEEDED returns, FAILED and CANCELLED raise)."""
    union = typing.get_args(TaskRetrieveResponse)[0]
    sdk = {typing.get_args(v.model_fields["status"].annotation)[0]: v for v in typing.get_args(union)}
    assert set(runway_core.TASK_STATES) == set(sdk)
    assert len(runway_core.TASK_STATES) == len(sdk)
    assert runway_core.FINAL_TASK_STATES == {"SUCCEEDED", "FAILED", "CANCELLED"} & set(sdk)
    assert runway_core.FINAL_TASK_STATES <= set(runway_core.TASK_STATES)
    # The states come in a task's order: the final ones last.
    assert set(runway_core.TASK_STATES[-len(runway_core.FINAL_TASK_STATES):]) == runway_core.FINAL_TASK_STATES
