"""The team server probed as a team would deploy it and as an attacker would: behind the reverse
proxy of docs/deploy.md (Debian's nginx, on loopback), Host and Origin allow-lists, two keys that
collide on a short hash prefix, the server's own files, repeated credential headers, what
get_api_info shows, one key's load against another's calls, many keys on one journal and HTTP
pool, and a server killed with SIGKILL in
the middle of 50 creates. Real server processes on free
ports, driven by the MCP SDK's client over streamable HTTP, against the simulator."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

import runway_core

from conftest import api_requests, text
from fixtures.pg import pg_server, pg_url  # noqa: F401  (fixtures)
from test_http import ALICE, BOB, free_port, get, server, user, wait_ready

ROOT = Path(__file__).resolve().parents[2]
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "probe", "version": "0"}}}


@pytest.fixture
def sim():
    s = runway_core.Simulator(task_seconds=1.0, extra_keys=[ALICE, BOB])
    yield s
    s.close()


def post_init(base: str, key: str = ALICE, **headers: str) -> int:
    """The status of an initialize POST with these headers (Host and Origin among them)."""
    h = {"Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream",
         "Content-Type": "application/json", **headers}
    with httpx2.Client(timeout=20) as c:
        return c.post(f"{base}/mcp", json=INIT, headers=h).status_code


def log_lines(proc: subprocess.Popen[str]) -> list[dict[str, Any]]:
    out = proc.stderr.read() if proc.stderr else ""
    return [json.loads(x) for x in out.splitlines() if x.startswith("{")]


# ---- Host and Origin ----

def test_allowed_hosts_are_checked_at_start():
    from runway_mcp_server.settings import allowed_hosts

    assert allowed_hosts(" MCP.Example.com, mcp.example.com:8443,10.0.0.5,[::1]:9000, ") == (
        "mcp.example.com", "mcp.example.com:8443", "10.0.0.5", "[::1]:9000")
    assert allowed_hosts("") == ()
    for bad in ("https://mcp.example.com", "mcp.example.com/mcp", "*.example.com", "mcp.example.com:0",
                "mcp.example.com:http", "-bad.example", "a b", "[::1", "[zz]:80", "host:1:2"):
        with pytest.raises(SystemExit, match="RUNWAY_MCP_ALLOWED_HOSTS"):
            allowed_hosts(bad)
    p = subprocess.run([sys.executable, "-m", "runway_mcp_server", "--http", "--require-key", "--port",
                        str(free_port())], capture_output=True, text=True, timeout=60,
                       env={"PATH": os.environ["PATH"], "RUNWAY_MCP_ALLOWED_HOSTS": "https://mcp.example.com"})
    assert p.returncode == 1 and "'https://mcp.example.com' is not a host name" in p.stderr


def test_host_and_origin_allow_lists(sim, tmp_path):
    with server(sim, tmp_path, "--require-key", host="0.0.0.0") as (base, _):
        port = base.rsplit(":", 1)[1]
        assert post_init(base) == 200  # loopback at its port
        assert post_init(base, Host="mcp.example.com") == 421  # not listed: refused
    with server(sim, tmp_path, "--require-key", host="0.0.0.0",
                RUNWAY_MCP_ALLOWED_HOSTS="mcp.example.com,alt.example.com:8443") as (base, _):
        assert post_init(base) == 200
        assert post_init(base, Host="mcp.example.com") == 200
        assert post_init(base, Host=f"mcp.example.com:{port}") == 200  # no port given: any port
        assert post_init(base, Host="alt.example.com:8443") == 200
        assert post_init(base, Host="alt.example.com:8444") == 421  # its port only
        assert post_init(base, Host="evil.example.com") == 421
        # A browser page elsewhere (DNS rebinding, a hostile site) is refused by its Origin.
        assert post_init(base, Host="mcp.example.com", Origin="https://mcp.example.com") == 200
        assert post_init(base, Host="mcp.example.com", Origin="https://evil.example.com") == 403
    assert api_requests(sim) == []


def nginx_conf(upstreams: list[int], listen: int, tmp: Path) -> Path:
    """docs/deploy.md's nginx configuration as written, with the test's ports: TLS is the one
    thing left out (the proxy listens on plain loopback), every proxy_set_header stays."""
    doc = (ROOT / "docs/deploy.md").read_text()
    site = re.search(r"```nginx\n(.*?)```", doc, re.S).group(1)  # type: ignore[union-attr]
    documented = re.findall(r"server 127\.0\.0\.1:(\d+)", site)
    assert len(documented) == len(upstreams) and "proxy_set_header Host $host;" in site
    for old, new in zip(documented, upstreams):
        site = site.replace(f"127.0.0.1:{old}", f"127.0.0.1:{new}")
    assert "listen 443 ssl;" in site
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{listen};")
    conf = tmp / "nginx.conf"
    # As root (CI), workers stay root too: the test's temporary folders are closed to others.
    conf.write_text(("user root;\n" if os.geteuid() == 0 else "") + f"""worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    {site}
}}
""")
    return conf


@contextmanager
def nginx(conf: Path) -> Iterator[None]:
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    assert os.path.exists(exe), "the proxy test needs Debian's nginx (tests/run.sh installs it)"
    p = subprocess.Popen([exe, "-c", str(conf), "-p", str(conf.parent), "-g", "daemon off;"],
                         stderr=subprocess.PIPE, text=True)
    try:
        yield
    finally:
        p.send_signal(signal.SIGQUIT)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


def unit_env(sim: runway_core.Simulator, tmp: Path, journal: str) -> dict[str, str]:
    """The Environment= lines of docs/deploy.md's systemd unit, the journal and API swapped for the test's."""
    doc = (ROOT / "docs/deploy.md").read_text()
    unit = re.search(r"```ini\n(.*?)```", doc, re.S).group(1)  # type: ignore[union-attr]
    env = dict(re.findall(r"^Environment=(\w+)=(.*)$", unit, re.M))
    env.update(RUNWAY_MCP_JOURNAL=journal, RUNWAYML_BASE_URL=sim.base_url, PATH=os.environ["PATH"], HOME=str(tmp))
    return env


@contextmanager
def replicas(n: int, env: dict[str, str]) -> Iterator[list[int]]:
    ports = [free_port() for _ in range(n)]
    procs = [subprocess.Popen([sys.executable, "-m", "runway_mcp_server", "--transport", "streamable-http",
                               "--host", "127.0.0.1", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
             for port in ports]
    try:
        for port, p in zip(ports, procs):
            wait_ready(f"http://127.0.0.1:{port}", p)
        yield ports
    finally:
        for p in procs:
            p.kill()
            p.wait(timeout=10)


async def test_the_documented_proxy_serves_the_team(sim, tmp_path, pg_url):
    """Two replicas configured as docs/deploy.md's unit, behind its nginx site, reached by the name
    the site serves: a user's calls go through end to end. The same without the allowed host is
    the deployment that answered every request 421."""
    env = unit_env(sim, tmp_path, pg_url)
    assert env.get("RUNWAY_MCP_ALLOWED_HOSTS") == "mcp.example.com"
    listen = free_port()
    with replicas(2, env) as ports, nginx(nginx_conf(ports, listen, tmp_path)):
        proxy = f"http://127.0.0.1:{listen}"
        http = httpx2.AsyncClient(headers={"Host": "mcp.example.com", "Authorization": f"Bearer {ALICE}"}, timeout=60)
        async with Client(streamable_http_client(f"{proxy}/mcp", http_client=http)) as c:
            made = await c.call_tool("generate_image_gen4", {"prompt_text": "a cat behind a proxy", "ratio": "1280:720"})
            assert not made.is_error and made.structured_content["status"] == "SUCCEEDED", text(made)
            listed = (await c.call_tool("list_tasks", {})).structured_content["tasks"]
            assert [t["task_id"] for t in listed] == [made.structured_content["task_id"]]
        assert get(f"{proxy}/readyz", {"Host": "mcp.example.com"}) == (200, {"ok": True})
    without = {k: v for k, v in env.items() if k != "RUNWAY_MCP_ALLOWED_HOSTS"}
    with replicas(1, without) as ports, nginx(nginx_conf(ports + ports, listen, tmp_path)):
        assert post_init(f"http://127.0.0.1:{listen}", Host="mcp.example.com") == 421
    assert len(api_requests(sim, "POST")) == 1


# ---- one key never reaches another's state ----

# Two keys whose unsalted SHA-256 shares its first 12 hex digits (48 bits; found by a birthday
# search): the index replicas once filed users under, and the id every log line showed.
COLLIDING = ("key_collide_000008656958", "key_collide_000018571762")


async def test_keys_that_collide_on_a_short_hash_never_cross(sim, tmp_path):
    first, second = COLLIDING
    assert hashlib.sha256(first.encode()).hexdigest()[:12] == hashlib.sha256(second.encode()).hexdigest()[:12]
    colliding_sim = runway_core.Simulator(task_seconds=1.0, extra_keys=[first])  # the second is no Runway key
    try:
        with server(colliding_sim, tmp_path, "--require-key") as (base, proc):
            async with user(base, first) as victim:
                made = await victim.call_tool("generate_image_gen4", {"prompt_text": "the victim's secret plan",
                                                                      "ratio": "1280:720", "wait_for_completion": False})
                task_id = made.structured_content["task_id"]
            async with user(base, second) as attacker:
                listed = await attacker.call_tool("list_tasks", {})
                status = await attacker.call_tool("get_task_status", {"task_id": task_id})
                spent = await attacker.call_tool("generate_image_gen4", {"prompt_text": "on your account",
                                                                         "ratio": "1280:720", "wait_for_completion": False})
                cancelled = await attacker.call_tool("cancel_task", {"task_id": task_id})
            assert listed.structured_content["tasks"] == []
            for r in (status, spent, cancelled):
                assert r.is_error and "401" in text(r), text(r)  # the attacker's own key, which Runway refuses
            assert "secret plan" not in text(listed) + text(status)
        # On the victim's account only the victim's create; the attacker's went out under its own key.
        paid = [r for r in api_requests(colliding_sim, "POST") if r["authorized"]]
        assert [r["body"]["promptText"] for r in paid] == ["the victim's secret plan"]
        assert not [r for r in api_requests(colliding_sim, "DELETE") if r["authorized"]]
        # Log ids are keyed with the process's secret: neither the hash prefix nor shared by the two keys.
        ids = {line["key"] for line in log_lines(proc) if "tool" in line}
        assert len(ids) == 2 and hashlib.sha256(first.encode()).hexdigest()[:12] not in ids
    finally:
        colliding_sim.close()


def test_log_ids_are_unlinkable_across_processes():
    code = "from runway_mcp_server.auth import key_id; print(key_id('key_same'))"
    ids = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
           for _ in range(2)}
    assert len(ids) == 2 and hashlib.sha256(b"key_same").hexdigest()[:12] not in ids


async def test_repeated_credential_headers_are_refused(sim, tmp_path):
    # The edge once read the last Authorization header and the tools the first.
    with server(sim, tmp_path, "--require-key") as (base, _):
        raw = [(b"authorization", f"Bearer {ALICE}".encode()), (b"Authorization", f"Bearer {BOB}".encode()),
               (b"accept", b"application/json, text/event-stream"), (b"content-type", b"application/json")]
        with httpx2.Client(timeout=20) as c:
            r = c.post(f"{base}/mcp", content=json.dumps(INIT).encode(), headers=raw)
        assert r.status_code == 400 and "once" in r.json()["error"]
        assert post_init(base) == 200


# ---- the server's own files ----

async def test_no_server_file_is_an_input_over_http(sim, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes((ROOT / "src/simulator/media/placeholder.png").read_bytes())
    (tmp_path / "rel.png").write_bytes(secret.read_bytes())
    inputs = [str(secret), f"file://{secret}", "~/secret.png", "rel.png", "/etc/passwd", "/nonexistent/x.png", "/etc"]
    with server(sim, tmp_path, "--require-key") as (base, _):
        async with user(base, ALICE) as c:
            info = (await c.call_tool("get_api_info", {})).structured_content
            assert info["output_dir"] is None and info["input_dirs"] is None
            answers = []
            for path in inputs:
                r = await c.call_tool("generate_video_image_to_video", {"prompt_image": path, "prompt_text": "x"})
                u = await c.call_tool("upload_file", {"path": path})
                assert r.is_error and u.is_error, (text(r), text(u))
                answers += [text(r), text(u)]
                if path.startswith(("/", "file://", "~")):
                    assert "this server reads no local files" in text(r) and "reads no local files" in text(u)
            info_text = text(await c.call_tool("get_api_info", {}))
    # None of the answers says whether or what a path is.
    joined = "\n".join(answers)
    for leak in ("no such file", "not a regular file", "permission", "resolves to", "text, not", "an image ("):
        assert leak not in joined.lower(), joined
    assert str(tmp_path) not in info_text
    assert api_requests(sim, "POST") == [] and sim.uploads() == []


async def test_input_folders_over_http_are_enforced_after_links(sim, tmp_path):
    allowed = tmp_path / "media"
    allowed.mkdir()
    png = (ROOT / "src/simulator/media/placeholder.png").read_bytes() + b"\0" * 1024  # uploads start at 512 bytes
    (allowed / "ok.png").write_bytes(png)
    (tmp_path / "outside.png").write_bytes(png)
    (allowed / "out.png").symlink_to(tmp_path / "outside.png")
    with server(sim, tmp_path, "--require-key", RUNWAY_MCP_INPUT_DIRS=str(allowed)) as (base, _):
        async with user(base, ALICE) as c:
            ok = await c.call_tool("upload_file", {"path": str(allowed / "ok.png")})
            assert not ok.is_error, text(ok)
            refusals = set()
            for path in (allowed / "out.png", tmp_path / "outside.png", allowed / "missing.png", allowed,
                         Path("/etc/passwd")):
                r = await c.call_tool("upload_file", {"path": str(path)})
                assert r.is_error
                refusals.add(text(r).replace(str(path), "<path>"))
    assert len(refusals) == 1 and str(allowed) not in refusals.pop()
    assert len(sim.uploads()) == 1


# ---- one key's load ----

def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def test_one_key_is_bounded_and_others_are_still_served(sim, tmp_path):
    """A key at RUNWAY_MCP_MAX_CALLS_PER_KEY calls in flight is told so at once (nothing sent);
    another key's calls are answered meanwhile; the slots come back as calls end, and so do the
    server's open files."""
    with server(sim, tmp_path, "--require-key", RUNWAY_MCP_MAX_CALLS_PER_KEY="4") as (base, proc):
        async with user(base, ALICE) as alice, user(base, BOB) as bob:
            await bob.call_tool("get_credits", {})  # both keys' clients exist before the count
            baseline = open_files(proc.pid)
            made = await alice.call_tool("generate_video_text_to_video", {
                "prompt_text": "a long fox [sim:seconds=4]", "model": "gen4.5", "duration": 5,
                "wait_for_completion": False})
            task_id = made.structured_content["task_id"]
            waits = [asyncio.ensure_future(alice.call_tool("wait_for_task", {"task_id": task_id}))
                     for _ in range(4)]
            await asyncio.sleep(1.0)
            burst = await asyncio.gather(*(alice.call_tool("get_task_status", {"task_id": task_id}) for _ in range(40)))
            assert all(r.is_error and "too many calls at once" in text(r) for r in burst), text(burst[0])
            assert "RUNWAY_MCP_MAX_CALLS_PER_KEY" in text(burst[0])
            other = await bob.call_tool("list_tasks", {})  # another key is not held up by Alice's limit
            assert not other.is_error and other.structured_content["tasks"] == []
            done = await asyncio.gather(*waits)
            assert all(r.structured_content["status"] == "SUCCEEDED" for r in done), [text(r) for r in done]
            again = await alice.call_tool("get_task_status", {"task_id": task_id})
            assert not again.is_error, text(again)
            deadline = time.monotonic() + 10
            while open_files(proc.pid) > baseline + 4 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert open_files(proc.pid) <= baseline + 4
    busy = [x for x in log_lines(proc) if x.get("error") == "TooBusy"]
    assert len(busy) == 40
    assert len(api_requests(sim, "POST")) == 1


# ---- a crash in the middle of creating ----

def claims_age(journal: Path, seconds: float) -> int:
    """Makes the journal's claims without a task id `seconds` older, as if that time had passed
    since the killed process made them (2 minutes is when a claim counts as its process's death)."""
    import sqlite3

    with sqlite3.connect(journal) as db:
        n = db.execute("UPDATE tasks SET created_ms = created_ms - ? WHERE task_id IS NULL",
                       (int(seconds * 1000),)).rowcount
    return int(n)


async def test_kill_9_during_creates_then_the_same_requests_pay_nothing_twice(sim, tmp_path):
    """50 creates at once, the server killed with SIGKILL while Runway has made some tasks whose
    answers are still on the way (the simulator holds every other answer 30 s): then, in a new
    server process, the same 50 requests. None is created twice at Runway: each reattaches to its
    journaled task, is created for the first time, or is refused with when and what the earlier
    request was (a task whose id never came back)."""
    n = 50
    prompts = [f"crash fox {i} [sim:seconds=600]" for i in range(n)]
    for i in range(n):
        sim.inject_fault("slow", method="POST", path="/v1/text_to_video", seconds=30.0 if i % 2 else 0.0)
    journal = tmp_path / "journal.sqlite3"
    call = {"model": "gen4.5", "duration": 5, "wait_for_completion": False}

    def posted() -> list[str]:
        return [r["body"]["promptText"] for r in api_requests(sim, "POST")
                if r["path"] == "/v1/text_to_video" and "body" in r]

    with server(sim, tmp_path, "--require-key", RUNWAY_MCP_MAX_CALLS_PER_KEY="64") as (base, proc):
        async def first_round() -> None:
            async with user(base, ALICE) as c:
                await asyncio.gather(*(c.call_tool("generate_video_text_to_video", {**call, "prompt_text": p})
                                       for p in prompts), return_exceptions=True)

        calls = asyncio.ensure_future(first_round())
        deadline = time.monotonic() + 60
        while len(posted()) < n and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # the prompt answers are journaled; the held ones are not
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        calls.cancel()
        await asyncio.gather(calls, return_exceptions=True)
    before = posted()
    assert len(before) == n and len(set(before)) == n, "each request sent once"
    assert claims_age(journal, 121) > 0, "the kill left creates whose answer never came"

    with server(sim, tmp_path, "--require-key", RUNWAY_MCP_MAX_CALLS_PER_KEY="64") as (base, proc):
        async with user(base, ALICE) as c:
            again = await asyncio.gather(*(c.call_tool("generate_video_text_to_video", {**call, "prompt_text": p})
                                           for p in prompts))
    after = posted()
    assert sorted(after) == sorted(before), f"{len(after) - len(before)} duplicates"
    told = [r for r in again if r.is_error]
    reattached = [r for r in again if not r.is_error and r.structured_content["reattached"]]
    assert len(told) + len(reattached) == n, [text(r) for r in again if not r.is_error and r not in reattached]
    for r in told:
        assert "Not sent, nothing spent" in text(r) and "may already have created a task" in text(r), text(r)
        assert "force_new" in text(r)
    assert told and reattached, (len(told), len(reattached))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_many_keys_share_one_journal_and_one_connection_pool(sim, tmp_path, backend, request):
    """Made-up bearer keys, each its own user: the server holds one journal handle (SQLite: one
    connection; PostgreSQL: one pool, at most its size) and one HTTP pool, not one per key, so its
    open files and threads do not grow with the number of keys."""
    env = {"RUNWAY_MCP_JOURNAL": request.getfixturevalue("pg_url")} if backend == "postgresql" else {}
    with server(sim, tmp_path, "--require-key", **env) as (base, proc):
        async with user(base, ALICE) as alice:
            await alice.call_tool("get_credits", {})  # a Runway call: the HTTP pool has a connection
            await alice.call_tool("list_tasks", {})
        files, threads = open_files(proc.pid), len(os.listdir(f"/proc/{proc.pid}/task"))
        for i in range(60):
            async with user(base, f"key_made_up_{i:04d}") as c:
                r = await c.call_tool("list_tasks", {})
                assert not r.is_error and r.structured_content["tasks"] == [], text(r)
        # What the keys leave: at most the PostgreSQL pool's connections (4) and sockets still
        # closing; one journal handle and one HTTP pool per key made it 3 files and, on PostgreSQL,
        # a thread per key.
        deadline = time.monotonic() + 10
        while open_files(proc.pid) > files + 8 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert open_files(proc.pid) <= files + 8, (files, open_files(proc.pid))
        assert len(os.listdir(f"/proc/{proc.pid}/task")) <= threads + 6
