"""Log notifications through the SDK's client, on both protocol generations: what a user follows a
task by (created, reattached, retried, saved, failed), at and above the level set and none below,
and never a key."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Optional

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import LoggingLevel, LoggingMessageNotificationParams

import runway_core
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

from conftest import FAST_POLL, data

LEVELS: tuple[str, ...] = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
KEY = "key_" + "c3" * 64


@pytest.fixture
def sim():
    s = runway_core.Simulator(task_seconds=0.3, api_key=KEY)
    yield s
    s.close()


class Heard:
    """The log notifications a client got."""

    def __init__(self) -> None:
        self.got: list[LoggingMessageNotificationParams] = []

    async def __call__(self, params: LoggingMessageNotificationParams) -> None:
        self.got.append(params)

    def take(self) -> list[tuple[str, str]]:
        out = [(p.level, p.data["event"]) for p in self.got]
        self.got.clear()
        return out


def client(sim: runway_core.Simulator, tmp_path: Path, heard: Heard, mode: str, level: Optional[LoggingLevel] = None) -> Client:
    settings = Settings(api_key=KEY, base_url=sim.base_url, output_dir=str(tmp_path / "out"),
                        journal=str(tmp_path / "journal.sqlite3"), max_wait=30, poll=FAST_POLL)
    return Client(build(settings), mode=mode, logging_callback=heard, log_level=level)  # type: ignore[arg-type]


async def made_and_failed(c: Client, n: int) -> tuple[str, str]:
    ok = data(await c.call_tool("generate_image_gen4", {"prompt_text": f"a lighthouse {n}"}))["task_id"]
    bad = await c.call_tool("generate_image_gen4", {"prompt_text": f"a cat {n} [sim:fail=SAFETY.INPUT.TEXT]"})
    assert bad.is_error
    return ok, data(bad)["task_id"]


async def set_level(c: Client, level: LoggingLevel) -> None:
    with warnings.catch_warnings():  # deprecated at 2026-07-28, and what handshake-era clients use
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        await c.set_logging_level(level)


async def test_handshake_era_notices_follow_logging_set_level(sim, tmp_path):
    heard = Heard()
    async with client(sim, tmp_path, heard, "legacy") as c:
        assert c.server_capabilities is not None and c.server_capabilities.logging is not None
        # No level set yet: info and above, what a person follows a task by.
        ok, bad = await made_and_failed(c, 1)
        events = [(p.level, p.data["event"], p.data.get("task_id")) for p in heard.got]
        assert events == [("info", "created", ok), ("info", "saved", ok), ("info", "created", bad), ("error", "failed", bad)]
        created, saved, _, failed = heard.got
        assert created.data["model"] == "gen4_image" and created.data["estimated_cost_credits"] == 8
        assert ok in created.data["message"] and "8 credits" in created.data["message"]
        path = saved.data["paths"][0]
        assert Path(path).is_file() and path.startswith(str(tmp_path / "out")) and path in saved.data["message"]
        assert failed.data["failure_code"] == "SAFETY.INPUT.TEXT" and "moderation" in failed.data["message"]
        assert {p.logger for p in heard.got} == {"runway"}
        heard.got.clear()

        await set_level(c, "warning")  # the info ones stop, the error goes on
        await made_and_failed(c, 2)
        assert heard.take() == [("error", "failed")]

        await set_level(c, "critical")  # above everything told: nothing
        await made_and_failed(c, 3)
        assert heard.take() == []

        await set_level(c, "debug")
        await made_and_failed(c, 4)
        assert heard.take() == [("info", "created"), ("info", "saved"), ("info", "created"), ("error", "failed")]


@pytest.mark.parametrize("level", [None, "info", "error", "emergency"])
async def test_2026_notices_follow_the_request_level(sim, tmp_path, level):
    heard = Heard()
    async with client(sim, tmp_path, heard, "2026-07-28", level) as c:
        await made_and_failed(c, 1)
    everything = [("info", "created"), ("info", "saved"), ("info", "created"), ("error", "failed")]
    if level is None:  # no opt-in on the request: none at all (the 2026 rule)
        assert heard.take() == []
    else:
        assert heard.take() == [e for e in everything if LEVELS.index(e[0]) >= LEVELS.index(level)]


async def test_a_second_identical_call_is_told_reattached(sim, tmp_path):
    heard = Heard()
    async with client(sim, tmp_path, heard, "legacy") as c:
        args = {"prompt_text": "a slow fox [sim:seconds=30]", "wait_for_completion": False}
        first = data(await c.call_tool("generate_image_gen4", args))["task_id"]
        again = data(await c.call_tool("generate_image_gen4", args))["task_id"]
    assert first == again
    assert [(p.data["event"], p.data["task_id"]) for p in heard.got] == [("created", first), ("reattached", first)]


async def test_no_notice_carries_the_key(sim, tmp_path):
    heard = Heard()
    async with client(sim, tmp_path, heard, "legacy") as c:
        await made_and_failed(c, 1)
        args = {"prompt_text": "a slow fox [sim:seconds=30]", "wait_for_completion": False}
        await c.call_tool("generate_image_gen4", args)
        await c.call_tool("generate_image_gen4", args)
        # A key in what the call was given is not repeated either.
        await c.call_tool("generate_image_gen4", {"prompt_text": f"a cat {KEY} [sim:fail=SAFETY.INPUT.TEXT]"})
    events = {p.data["event"] for p in heard.got}
    assert {"created", "saved", "failed", "reattached"} <= events
    for p in heard.got:
        assert KEY not in repr(p.model_dump()) and KEY[4:20] not in repr(p.model_dump()), p


async def test_a_retried_poll_is_told_with_its_task_id(sim, tmp_path, caplog):
    """Runway fails a status request once; the core retries it on its own, and the call waiting on
    the task is told (a "notice"), unless its level is set above that."""
    heard = Heard()
    async with client(sim, tmp_path, heard, "legacy") as c:
        await set_level(c, "notice")
        args = {"prompt_text": "a heron", "wait_for_completion": False}
        task_id = data(await c.call_tool("generate_image_gen4", args))["task_id"]
        heard.got.clear()
        sim.inject_fault("status", status=503, method="GET", path="/v1/tasks/")
        done = await c.call_tool("wait_for_task", {"task_id": task_id})
        assert not done.is_error and data(done)["status"] == "SUCCEEDED"
        # "saved" is info, below the level set.
        assert [(p.level, p.data["event"], p.data["task_id"]) for p in heard.got] == [("notice", "retried", task_id)]
        retried = heard.got[0].data
        assert (retried["method"], retried["path"], retried["status"], retried["attempt"]) == (
            "GET", f"/v1/tasks/{task_id}", 503, 1)
        assert "error" not in retried  # Runway answered: a status, no transport failure
        assert task_id in retried["message"] and "503" in retried["message"]
        assert KEY not in repr(retried) and sim.base_url not in repr(retried)
        heard.got.clear()

        await set_level(c, "warning")  # below the level set: not told
        task_id = data(await c.call_tool("generate_image_gen4", {**args, "prompt_text": "a crane"}))["task_id"]
        sim.inject_fault("status", status=429, retry_after=0, method="GET", path="/v1/tasks/")
        with caplog.at_level(logging.INFO, logger="runway_mcp_server"):
            done = await c.call_tool("wait_for_task", {"task_id": task_id})
        assert not done.is_error and data(done)["status"] == "SUCCEEDED"
        assert heard.take() == []
        # It was retried (the server's own log has it), just not told to this client.
        assert any(task_id in r.getMessage() and "HTTP 429" in r.getMessage() for r in caplog.records)


def test_a_key_in_runways_words_is_redacted():
    from runway_mcp_server import notices

    assert KEY not in notices.scrub(f"bad request for {KEY}: no") and "key_[redacted]" in notices.scrub(KEY)
    assert notices.scrub("task 0f2c6f80 keyframes") == "task 0f2c6f80 keyframes"


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_over_http_notices_ride_the_call_and_carry_no_key(tmp_path, mode):
    """A real server process over streamable HTTP, each user's key in Authorization."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client
    from test_http import ALICE, server

    sim = runway_core.Simulator(task_seconds=0.3, extra_keys=[ALICE])
    try:
        with server(sim, tmp_path, "--require-key") as (base, proc):
            heard = Heard()
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {ALICE}"}, timeout=60)
            level = "info" if mode != "legacy" else None
            async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=mode,
                              logging_callback=heard, log_level=level) as c:
                ok, bad = await made_and_failed(c, 1)
                got = [(p.level, p.data["event"], p.data["task_id"]) for p in heard.got]
                # Over HTTP outputs are read as resources, not saved on the server's disk: no "saved".
                assert got == [("info", "created", ok), ("info", "created", bad), ("error", "failed", bad)]
                heard.got.clear()
                if mode == "legacy":
                    # Stateless HTTP (any replica answers): a level set lasts for its own request only.
                    await set_level(c, "error")
                    await made_and_failed(c, 2)
                    assert heard.take() == [("info", "created"), ("info", "created"), ("error", "failed")]
            for p in heard.got:
                assert ALICE not in repr(p.model_dump())
    finally:
        sim.close()
