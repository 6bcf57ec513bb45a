"""The multi-user HTTP mode end to end: real server processes on free ports, driven by the MCP SDK's
client over streamable HTTP, against a simulator with two accounts. Each user's key in
`Authorization`; users see only their own tasks and outputs; the refusal to serve beyond loopback
without credentials; the access token; /healthz and /readyz; two replicas sharing one journal;
the JSON log lines; a graceful stop on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, Optional

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

import runway_core

from conftest import api_requests, text
from fixtures.pg import pg_server, pg_url  # noqa: F401  (fixtures)

ALICE = "key_" + "a1" * 64
BOB = "key_" + "b2" * 64


@pytest.fixture
def sim():
    s = runway_core.Simulator(task_seconds=1.0, extra_keys=[ALICE, BOB])
    yield s
    s.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, headers: Optional[dict[str, str]] = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_ready(base: str, p: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if get(f"{base}/readyz")[0] == 200:
                return
        except OSError:
            pass
        assert p.poll() is None, p.stderr.read() if p.stderr else ""
        assert time.monotonic() < deadline, "the server did not get ready"
        time.sleep(0.1)


@contextmanager
def server(sim: runway_core.Simulator, tmp: Path, *args: str, host: str = "127.0.0.1", **env: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    full_env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "RUNWAYML_BASE_URL": sim.base_url,
                "RUNWAY_MCP_JOURNAL": str(tmp / "journal.sqlite3"), "RUNWAY_MCP_PROGRESS_INTERVAL": "0.5", **env}
    p = subprocess.Popen([sys.executable, "-m", "runway_mcp_server", "--transport", "streamable-http", "--host", host,
                          "--port", str(port), *args], env=full_env, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, p)
        yield base, p
    finally:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=10)


@asynccontextmanager
async def user(base: str, key: Optional[str] = None, **headers: str) -> AsyncIterator[Client]:
    h = dict(headers)
    if key:
        h["Authorization"] = f"Bearer {key}"
    http = httpx2.AsyncClient(headers=h, timeout=60)
    async with Client(streamable_http_client(f"{base}/mcp", http_client=http)) as c:
        yield c



async def test_each_user_sees_only_their_own_tasks_and_outputs(sim, tmp_path):
    with server(sim, tmp_path, "--require-key") as (base, proc):
        async with user(base, ALICE) as alice, user(base, BOB) as bob:
            made = await alice.call_tool("generate_image_gen4", {"prompt_text": "alice's cat", "ratio": "1280:720"})
            assert not made.is_error, text(made)
            task_id = made.structured_content["task_id"]
            links = [b.uri for b in made.content if b.type == "resource_link"]
            assert links == [f"runway://task/{task_id}/output/0.png"]
            # Saving on the server's disk is off over HTTP: the client reads the output instead.
            assert made.structured_content["files"] == [] and not (tmp_path / "runway-mcp-outputs").exists()
            read = await alice.read_resource(links[0])
            blob = read.contents[0]
            assert blob.mime_type == "image/png" and blob.blob
            # Bob cannot see Alice's task, its output, or her journal.
            status = await bob.call_tool("get_task_status", {"task_id": task_id})
            assert status.is_error and "404" in text(status)
            with pytest.raises(Exception):
                await bob.read_resource(links[0])
            assert (await bob.call_tool("list_tasks", {})).structured_content["tasks"] == []
            mine = (await alice.call_tool("list_tasks", {})).structured_content["tasks"]
            assert [t["task_id"] for t in mine] == [task_id]
        # A request without a key is refused before MCP sees it.
        status_code, body = get(f"{base}/mcp", {"Accept": "application/json"})
        assert status_code == 401 and "Runway key" in body["error"]
    # Each key spent only its own: the simulator saw Alice's create with Alice's key.
    creates = [r for r in api_requests(sim, "POST")]
    assert len(creates) == 1
    log = proc.stderr.read() if proc.stderr else ""
    lines = [json.loads(x) for x in log.splitlines() if x.startswith("{")]
    made_line = next(x for x in lines if x.get("tool") == "generate_image_gen4")
    assert made_line["task_id"] == task_id and made_line["key"] and made_line["ms"] > 0
    assert ALICE not in log and BOB not in log and "alice's cat" not in log


def test_beyond_loopback_needs_keys_or_a_token(sim, tmp_path):
    p = subprocess.run([sys.executable, "-m", "runway_mcp_server", "--http", "--host", "0.0.0.0", "--port",
                        str(free_port())], capture_output=True, text=True, timeout=60,
                       env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "RUNWAYML_API_SECRET": sim.api_key})
    assert p.returncode == 1
    assert "refusing to serve on 0.0.0.0" in p.stderr and "--require-key" in p.stderr
    assert "RUNWAY_MCP_ACCESS_TOKEN" in p.stderr
    with server(sim, tmp_path, "--require-key", host="0.0.0.0") as (base, _):
        assert get(f"{base}/healthz") == (200, {"ok": True})


async def test_access_token_guards_the_servers_own_key(sim, tmp_path):
    with server(sim, tmp_path, host="0.0.0.0", RUNWAY_MCP_ACCESS_TOKEN="team-secret",
                RUNWAYML_API_SECRET=sim.api_key) as (base, _):
        assert get(f"{base}/mcp", {"Authorization": "Bearer wrong"})[0] == 401
        async with user(base, "team-secret") as c:
            r = await c.call_tool("generate_image_gen4", {"prompt_text": "a team cat", "ratio": "1280:720",
                                                          "wait_for_completion": False})
        assert not r.is_error, text(r)
        # With the token, a member may still bring their own key.
        async with user(base, "team-secret", **{"X-Runway-Key": BOB}) as c:
            mine = await c.call_tool("list_tasks", {})
        assert mine.structured_content["tasks"] == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_two_replicas_share_one_journal(sim, tmp_path, backend, request):
    journal = request.getfixturevalue("pg_url") if backend == "postgresql" else str(tmp_path / "journal.sqlite3")
    with server(sim, tmp_path, "--require-key", RUNWAY_MCP_JOURNAL=journal) as (a, _), \
            server(sim, tmp_path, "--require-key", RUNWAY_MCP_JOURNAL=journal) as (b, _):
        async with user(a, ALICE) as on_a:
            made = await on_a.call_tool("generate_video_text_to_video", {"prompt_text": "a fox", "model": "gen4.5",
                                                                         "duration": 5, "wait_for_completion": False})
        task_id = made.structured_content["task_id"]
        async with user(b, ALICE) as on_b:
            listed = (await on_b.call_tool("list_tasks", {})).structured_content["tasks"]
            assert [t["task_id"] for t in listed] == [task_id]
            assert listed[0]["tool"] == "generate_video_text_to_video"
            done = await on_b.call_tool("wait_for_task", {"task_id": task_id})
            again = await on_b.call_tool("generate_video_text_to_video", {"prompt_text": "a fox", "model": "gen4.5",
                                                                          "duration": 5, "wait_for_completion": False})
        assert done.structured_content["status"] == "SUCCEEDED"
        # Finished, so the identical request on the other replica makes a new task (no reattach).
        assert again.structured_content["task_id"] != task_id and not again.structured_content["reattached"]


async def test_sigterm_lets_calls_in_flight_finish(sim, tmp_path):
    with server(sim, tmp_path, "--require-key", RUNWAY_MCP_GRACE_SECONDS="20") as (base, proc):
        async with user(base, ALICE) as c, user(base, BOB) as late:
            call = asyncio.ensure_future(c.call_tool("generate_video_text_to_video", {
                "prompt_text": "a slow fox [sim:seconds=2]", "model": "gen4.5", "duration": 5}))
            await asyncio.sleep(0.7)
            proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            # Stopping: the load balancer is told, and a new call is refused with what to do.
            assert get(f"{base}/readyz") == (503, {"ok": False, "error": "shutting down"})
            refused = await late.call_tool("generate_image_gen4", {"prompt_text": "too late"})
            assert refused.is_error and "shutting down" in text(refused) and "call again" in text(refused)
            r = await call
        assert not r.is_error and r.structured_content["status"] == "SUCCEEDED", text(r)
        assert proc.wait(timeout=30) == 0
        with pytest.raises(OSError):
            get(f"{base}/healthz")
    assert len(api_requests(sim, "POST")) == 1  # the refused call sent nothing


def test_pool_gives_each_key_its_own_service_bounded(monkeypatch):
    from mcp.server.mcpserver.exceptions import ToolError

    from runway_mcp_server.auth import Refused, request_key
    from runway_mcp_server.pool import Pool
    from runway_mcp_server.settings import Settings

    pool = Pool(Settings(remote=True, require_key=True, journal=None))
    try:
        a, b = pool.service(ALICE), pool.service(BOB)
        assert a is not b and pool.service(ALICE) is a
        assert a.settings.api_key == ALICE and b.settings.api_key == BOB
        with pytest.raises(ToolError, match="needs your Runway key"):
            pool.service(None)  # the server's own key is never used for a keyless request
        monkeypatch.setattr(Pool, "MAX_KEYS", 2)
        pool.service("key_c")
        assert list(pool.keyed) == [pool_id(ALICE), pool_id("key_c")]  # Bob, least recently used, dropped
        monkeypatch.setattr(Pool, "IDLE_SECONDS", 0.0)
        pool.service("key_d")
        assert list(pool.keyed) == [pool_id("key_d")]  # the idle ones went
    finally:
        pool.close()
    settings = Settings(remote=True, access_token="t0ken")
    assert request_key({"authorization": "Bearer t0ken"}, settings) is None
    assert request_key({"authorization": "Bearer t0ken", "x-runway-key": BOB}, settings) == BOB
    for bad in ({}, {"authorization": "Bearer t0ke"}, {"authorization": "Basic t0ken"}):
        with pytest.raises(Refused, match="access token"):
            request_key(bad, settings)
    assert request_key({"authorization": f"Bearer {ALICE}"}, Settings(remote=True)) == ALICE
    assert request_key(None, Settings(remote=True, require_key=True)) is None  # stdio: no headers


def pool_id(key: str) -> str:
    from runway_mcp_server.auth import pool_key

    return pool_key(key)


async def test_budget_question_over_stateless_http(sim, tmp_path):
    """2026-07-28 clients are asked through input_required rounds (no back-channel needed); a
    handshake-era client over stateless HTTP cannot be asked, so it gets the refusal and figures."""
    from mcp.types import ElicitResult

    asked = []

    async def yes(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"spend": True})

    call = {"prompt_text": "a costly cat", "ratio": "1280:720", "wait_for_completion": False}
    with server(sim, tmp_path, "--require-key", RUNWAY_MCP_MAX_CREDITS="1") as (base, _):
        for mode in ("legacy", "2026-07-28"):
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {ALICE}"}, timeout=60)
            async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=mode,
                              elicitation_callback=yes) as c:
                r = await c.call_tool("generate_image_gen4", call)
            if mode == "legacy":
                assert r.is_error and "RUNWAY_MCP_MAX_CREDITS=1" in text(r) and not asked
            else:
                assert not r.is_error, text(r)
                assert len(asked) == 1 and "5 credits ($0.05)" in asked[0]
    assert len(api_requests(sim, "POST")) == 1


async def test_only_one_replica_resumes_and_saves_a_task(sim, tmp_path, pg_url):
    """A task journaled but not awaited (its server died); two replicas start on the same key and
    journal: the lease lets exactly one follow it and save its outputs."""
    c = runway_core.Client(ALICE, sim.base_url, journal=pg_url)
    try:
        task = await c.create_task("text_to_video", {"model": "gen4.5", "promptText": "orphan [sim:seconds=3]",
                                                     "ratio": "1280:720", "duration": 5}, tool="generate_video_text_to_video")
    finally:
        c.close()
    sim.clear_requests()
    outs = [tmp_path / "out-a", tmp_path / "out-b"]
    local = sim.base_url.replace("127.0.0.1", "localhost")  # tells the replicas apart in the simulator's log
    with server(sim, tmp_path, RUNWAY_MCP_JOURNAL=pg_url, RUNWAYML_API_SECRET=ALICE, RUNWAY_MCP_SAVE_OUTPUTS="1",
                RUNWAY_MCP_OUTPUT_DIR=str(outs[0])), \
            server(sim, tmp_path, RUNWAY_MCP_JOURNAL=pg_url, RUNWAYML_API_SECRET=ALICE, RUNWAY_MCP_SAVE_OUTPUTS="1",
                   RUNWAY_MCP_OUTPUT_DIR=str(outs[1]), RUNWAYML_BASE_URL=local):
        deadline = time.monotonic() + 30
        while not any(o.exists() and any(o.iterdir()) for o in outs):
            assert time.monotonic() < deadline, "no replica saved the orphaned task's output"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # a second saver, if there were one, would show by now
    saved = [sorted(p.name for p in o.iterdir()) if o.exists() else [] for o in outs]
    assert sorted(map(len, saved)) == [0, 1], saved
    assert task.id in (saved[0] + saved[1])[0]
    polled_by = {r["host"].split(":")[0] for r in api_requests(sim, "GET") if r["path"] == f"/v1/tasks/{task.id}"}
    assert len(polled_by) == 1, polled_by


def test_the_deploy_guides_unit_starts_a_ready_replica(sim, tmp_path, pg_url):
    """docs/deploy.md's systemd unit, run as written (its journal, port and binary swapped for the
    test's): the replica becomes ready on PostgreSQL and refuses a keyless call."""
    import re as _re

    doc = (Path(__file__).resolve().parents[2] / "docs/deploy.md").read_text()
    unit = _re.search(r"```ini\n(.*?)```", doc, _re.S).group(1)  # type: ignore[union-attr]
    env = dict(_re.findall(r"^Environment=(\w+)=(.*)$", unit, _re.M))
    assert env["RUNWAY_MCP_JOURNAL"].startswith("postgresql://") and env["RUNWAY_MCP_REQUIRE_KEY"] == "1"
    args = _re.search(r"^ExecStart=\S+ (.*)$", unit, _re.M).group(1).split()  # type: ignore[union-attr]
    port = free_port()
    args = [a.replace("%i", str(port)) for a in args]
    env.update(RUNWAY_MCP_JOURNAL=pg_url, RUNWAYML_BASE_URL=sim.base_url, PATH=os.environ["PATH"], HOME=str(tmp_path))
    p = subprocess.Popen([sys.executable, "-m", "runway_mcp_server", *args], env=env, stderr=subprocess.PIPE)
    try:
        wait_ready(f"http://127.0.0.1:{port}", p)
        assert get(f"http://127.0.0.1:{port}/mcp")[0] == 401
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0


async def test_a_replica_killed_mid_wait_loses_nothing(sim, tmp_path, pg_url):
    with server(sim, tmp_path, "--require-key", RUNWAY_MCP_JOURNAL=pg_url) as (a, proc_a), \
            server(sim, tmp_path, "--require-key", RUNWAY_MCP_JOURNAL=pg_url) as (b, _):
        with pytest.raises(BaseException):  # the call dies with its replica
            async with user(a, ALICE) as on_a:
                waiting = asyncio.ensure_future(on_a.call_tool("generate_video_text_to_video", {
                    "prompt_text": "a fox [sim:seconds=3]", "model": "gen4.5", "duration": 5}))
                await asyncio.sleep(1.0)
                proc_a.kill()  # SIGKILL mid-wait: no goodbye
                await waiting
        async with user(b, ALICE) as on_b:
            rows = (await on_b.call_tool("list_tasks", {})).structured_content["tasks"]
            assert len(rows) == 1 and rows[0]["tool"] == "generate_video_text_to_video"
            done = await on_b.call_tool("wait_for_task", {"task_id": rows[0]["task_id"]})
        assert done.structured_content["status"] == "SUCCEEDED", text(done)
        assert done.structured_content["model"] == "gen4.5"  # from the journal: Runway's task has no model
    assert len(api_requests(sim, "POST")) == 1


def _memory(pid: int) -> dict[str, int]:
    """This process's resident memory and its peak since the last reset, in bytes."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {k: int(fields[k].split()[0]) * 1024 for k in ("VmRSS", "VmHWM")}


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_large_output_is_read_without_holding_it_in_memory(sim, tmp_path, mode):
    """Reading a 48 MiB output as a resource: the client gets exactly Runway's bytes, while the
    server's memory rises by a small part of the file (the SDK's own path held about 5x it), and
    the downloaded copy is gone from the server's disk afterwards."""
    import base64

    size = 48 << 20
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    with server(sim, tmp_path, "--require-key", TMPDIR=str(tmp)) as (base, proc):
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {ALICE}"}, timeout=120)
        # The legacy answer is one SSE event; the SDK's client takes at most 1 MiB in one unless told.
        transport = streamable_http_client(f"{base}/mcp", http_client=http, max_sse_event_size=None)
        async with Client(transport, mode=mode) as c:
            made = await c.call_tool("generate_video_text_to_video", {
                "prompt_text": f"a long cat [sim:output_bytes={size}]", "model": "gen4.5", "ratio": "1280:720",
                "duration": 5})
            assert not made.is_error, text(made)
            uri = next(b.uri for b in made.content if b.type == "resource_link")
            Path(f"/proc/{proc.pid}/clear_refs").write_text("5")  # restart the peak from here
            before = _memory(proc.pid)
            read = await c.read_resource(uri)
            after = _memory(proc.pid)
        blob = read.contents[0]
        assert blob.mime_type == "video/mp4"
        got = base64.b64decode(blob.blob)
        with urllib.request.urlopen(made.structured_content["outputs"][0], timeout=30) as r:
            assert got == r.read() and len(got) >= size
        rise = after["VmHWM"] - before["VmRSS"]
        assert rise < size // 4, f"the server's memory rose by {rise >> 20} MiB reading a {size >> 20} MiB file"
        assert list(tmp.iterdir()) == [], "the downloaded copy is deleted"
        # A small one, and a second read of the same, still arrive whole.
        async with user(base, ALICE) as c:
            again = await c.read_resource(uri)
        assert again.contents[0].blob == blob.blob
