"""Multi-replica benchmark over streamable HTTP: `get_task_status` calls per second at concurrency 1
and 32 through one replica and through two, and many concurrent generations through two replicas
sharing one journal (all returned, requests per task, completion lag, no task polled by both);
with --neighbour, one key's many concurrent waits against another key's latency, and the
replica's memory and open files before, during and after.

The simulator runs as a separate process; the replicas are real `python -m runway_mcp_server
--http` processes, driven by the MCP SDK's client over streamable HTTP. Replica A reaches the
simulator as 127.0.0.1 and replica B as localhost, so the simulator's log (its Host header) says
which replica polled what. Run with the project installed (see benches/README.md):

    python benches/bench_http.py [--journal postgresql://...] [--generations 300] [--task-seconds 20]
    python benches/bench_http.py --skip-throughput --skip-generations --neighbour [--waits 1000]

Without --journal the replicas share a fresh SQLite file. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from runway_mcp_server.settings import DEFAULT_MAX_CALLS_PER_KEY

TICKS = os.sysconf("SC_CLK_TCK")


# The neighbour part's quiet user: a second key the simulator accepts.
QUIET_KEY = "key_" + "b2" * 32


def start_simulator(task_seconds: float) -> tuple[subprocess.Popen[str], dict[str, str]]:
    p = subprocess.Popen([sys.executable, "-m", "runway_core.simulator", "--task-seconds", str(task_seconds),
                          "--extra-key", QUIET_KEY],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    return p, json.loads(p.stdout.readline())


def sim_get(base: str, path: str, method: str = "GET") -> Any:
    with urllib.request.urlopen(urllib.request.Request(base + path, method=method)) as r:
        body = r.read()
    return json.loads(body) if body else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def start_replica(sim_base: str, journal: str, port: int, **extra: str) -> subprocess.Popen[bytes]:
    env = {"PATH": os.environ["PATH"], "HOME": tempfile.mkdtemp(prefix="bench-http-home-"),
           "RUNWAYML_BASE_URL": sim_base, "RUNWAY_MCP_JOURNAL": journal, "RUNWAY_MCP_MAX_WAIT": "600", **extra}
    p = subprocess.Popen([sys.executable, "-m", "runway_mcp_server", "--http", "--require-key", "--port", str(port)],
                         env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return p
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"replica on port {port} did not get ready")


def client(port: int, key: str) -> Client:
    # Every call holds its connection while it waits: the default pool (100) would queue the rest.
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=httpx2.Timeout(900),
                              limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=1000))
    return Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http))


async def status_rate(clients: list[Client], ids: list[str], concurrency: int, seconds: float) -> float:
    """get_task_status calls per second with `concurrency` workers spread over `clients`."""
    done = 0
    stop = time.monotonic() + seconds

    async def worker(w: int) -> None:
        nonlocal done
        c = clients[w % len(clients)]
        i = w
        while time.monotonic() < stop:
            r = await c.call_tool("get_task_status", {"task_id": ids[i % len(ids)]})
            assert not r.is_error
            done += 1
            i += concurrency

    started = time.monotonic()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return done / (time.monotonic() - started)


async def throughput(ports: list[int], pids: list[int], key: str, sim_base: str, rounds: int, seconds: float) -> list[dict[str, Any]]:
    # Tasks that stay RUNNING the whole benchmark: every answer has the same shape.
    async with client(ports[0], key) as c:
        ids = []
        for i in range(20):
            r = await c.call_tool("generate_video_text_to_video", {
                "prompt_text": f"steady {i} [sim:seconds=86400]", "model": "gen4.5", "duration": 5,
                "wait_for_completion": False})
            ids.append(r.structured_content["task_id"])
    rows = []
    for concurrency in (1, 32):
        for replicas in (1, 2):
            rates, cpu = [], []
            for _ in range(rounds):
                async with AsyncExitStack() as stack:
                    sessions = [await stack.enter_async_context(client(ports[i % replicas], key))
                                for i in range(max(replicas, min(concurrency, 8)))]
                    await status_rate(sessions, ids, concurrency, 0.5)  # warm-up
                    before = [cpu_seconds(p) for p in pids[:replicas]]
                    rate = await status_rate(sessions, ids, concurrency, seconds)
                    after = [cpu_seconds(p) for p in pids[:replicas]]
                rates.append(rate)
                cpu.append(sum(a - b for a, b in zip(after, before)) / (rate * seconds) * 1000)
            rows.append({"concurrency": concurrency, "replicas": replicas, "calls_per_s": statistics.median(rates),
                         "server_cpu_ms_per_call": statistics.median(cpu)})
            print(f"  c={concurrency:<2} replicas={replicas}: {rows[-1]['calls_per_s']:7.1f} calls/s, "
                  f"{rows[-1]['server_cpu_ms_per_call']:.2f} ms server CPU per call", flush=True)
    return rows


async def generations(ports: list[int], key: str, sim_base: str, n: int, task_seconds: float) -> dict[str, Any]:
    sim_get(sim_base, "/_sim/requests", "DELETE")
    returned: dict[int, tuple[float, dict[str, Any]]] = {}
    async with AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(client(p, key)) for p in ports]

        async def one(i: int) -> None:
            r = await sessions[i % len(sessions)].call_tool("generate_video_text_to_video", {
                "prompt_text": f"bench generation {i}", "model": "gen4.5", "duration": 5, "max_wait_seconds": 600})
            returned[i] = (time.time(), r.structured_content or {})

        started = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.monotonic() - started
    log = sim_get(sim_base, "/_sim/requests")
    ok = [d for _, d in returned.values() if d.get("status") == "SUCCEEDED"]
    lags, created_at = [], []
    for t, d in returned.values():
        created = datetime.fromisoformat(d["created_at"].replace("Z", "+00:00")).timestamp()
        created_at.append(created)
        lags.append(t - (created + task_seconds))
    polls: dict[str, list[tuple[int, str]]] = {}
    for r in log:
        if r["method"] == "GET" and r["path"].startswith("/v1/tasks/"):
            polls.setdefault(r["path"].rsplit("/", 1)[1], []).append((r["at_ms"], r.get("host") or "?"))
    ids = {d["task_id"] for _, d in returned.values()}
    per_task = [len(polls.get(t, [])) for t in ids]
    both = [t for t in ids if len({h for _, h in polls.get(t, [])}) > 1]
    return {"generations": n, "returned": len(returned), "succeeded": len(ok), "wall_s": wall,
            "requests_per_task_mean": statistics.mean(per_task), "requests_per_task_max": max(per_task),
            "lag_p50_s": statistics.median(lags), "lag_p95_s": sorted(lags)[int(len(lags) * 0.95) - 1],
            "tasks_polled_by_both_replicas": len(both),
            # How long the 300 creates took to reach Runway: the client and replicas' CPU at the start.
            "create_spread_s": max(created_at) - min(created_at)}


async def latencies(c: Client, task_id: str, n: int) -> list[float]:
    """Milliseconds of `n` get_task_status calls one after another."""
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = await c.call_tool("get_task_status", {"task_id": task_id})
        out.append((time.perf_counter() - t) * 1000)
        assert not r.is_error, r
    return out


def pct(xs: list[float], q: float) -> float:
    return sorted(xs)[max(0, int(len(xs) * q) - 1)]


async def neighbour(sim_base: str, noisy_key: str, cap: int, waits: int, samples: int, task_seconds: float) -> dict[str, Any]:
    """One replica; the noisy key opens `waits` concurrent wait_for_task calls on one task while the
    quiet key calls get_task_status one call at a time. RUNWAY_MCP_MAX_CALLS_PER_KEY is `cap`."""
    port = free_port()
    journal = os.path.join(tempfile.mkdtemp(prefix="bench-http-journal-"), "j.sqlite3")
    replica = start_replica(sim_base, journal, port, RUNWAY_MCP_MAX_CALLS_PER_KEY=str(cap))
    pid = replica.pid
    try:
        async with AsyncExitStack() as stack:
            quiet = await stack.enter_async_context(client(port, QUIET_KEY))
            noisy = [await stack.enter_async_context(client(port, noisy_key)) for _ in range(8)]
            own = await quiet.call_tool("generate_video_text_to_video", {
                "prompt_text": "quiet [sim:seconds=86400]", "model": "gen4.5", "duration": 5, "wait_for_completion": False})
            quiet_task = own.structured_content["task_id"]
            long = await noisy[0].call_tool("generate_video_text_to_video", {
                "prompt_text": f"noisy [sim:seconds={task_seconds:g}]", "model": "gen4.5", "duration": 5,
                "wait_for_completion": False})
            noisy_task = long.structured_content["task_id"]
            await latencies(quiet, quiet_task, 20)  # warm-up
            before = {"rss_mb": rss_mb(pid), "open_files": open_files(pid)}
            alone = await latencies(quiet, quiet_task, samples)
            started = time.monotonic()
            calls = [asyncio.ensure_future(noisy[i % len(noisy)].call_tool(
                "wait_for_task", {"task_id": noisy_task, "max_wait_seconds": 600})) for i in range(waits)]
            # While the waits arrive (the refusals are answered then), and after, while the rest are held.
            arriving = await latencies(quiet, quiet_task, samples)
            await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - started)))
            loaded = await latencies(quiet, quiet_task, samples)
            during = {"rss_mb": rss_mb(pid), "open_files": open_files(pid)}
            sampled_before_end = time.monotonic() - started < task_seconds
            results = await asyncio.gather(*calls)
            refused = sum(1 for r in results if r.is_error and "too many calls at once" in str(r.content))
            succeeded = sum(1 for r in results if not r.is_error and (r.structured_content or {}).get("status") == "SUCCEEDED")
        await asyncio.sleep(5.0)  # sessions closed; let the server drop what they held
        after = {"rss_mb": rss_mb(pid), "open_files": open_files(pid)}
    finally:
        replica.terminate()
        replica.wait(timeout=60)
    return {"cap": cap, "waits": waits, "refused": refused, "succeeded": succeeded,
            "quiet_alone_p50_ms": statistics.median(alone), "quiet_alone_p95_ms": pct(alone, 0.95),
            "quiet_arriving_p50_ms": statistics.median(arriving), "quiet_arriving_p95_ms": pct(arriving, 0.95),
            "quiet_loaded_p50_ms": statistics.median(loaded), "quiet_loaded_p95_ms": pct(loaded, 0.95),
            "sampled_while_waits_held": sampled_before_end, "before": before, "during": during, "after": after}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--journal", help="a postgresql:// URL shared by the replicas (default: a fresh SQLite file)")
    ap.add_argument("--generations", type=int, default=300)
    ap.add_argument("--task-seconds", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-generations", action="store_true")
    ap.add_argument("--neighbour", action="store_true",
                    help="also: one key's many waits against another key's latency, at the default cap and at --waits")
    ap.add_argument("--waits", type=int, default=1000)
    args = ap.parse_args()
    journal = args.journal or os.path.join(tempfile.mkdtemp(prefix="bench-http-journal-"), "j.sqlite3")
    sim, info = start_simulator(args.task_seconds)
    key = info["api_key"]
    ports = [free_port(), free_port()]
    bases = [info["base_url"], info["base_url"].replace("127.0.0.1", "localhost")]
    replicas = [start_replica(b, journal, p) for b, p in zip(bases, ports)]
    print(f"# {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"journal {'PostgreSQL' if journal.startswith('postgres') else 'SQLite'}", flush=True)
    try:
        result: dict[str, Any] = {}
        if not args.skip_throughput:
            print("get_task_status over streamable HTTP (median of rounds):", flush=True)
            result["throughput"] = await throughput(ports, [r.pid for r in replicas], key, info["base_url"],
                                                    args.rounds, args.seconds)
        if not args.skip_generations:
            print(f"{args.generations} concurrent generations of {args.task_seconds:g} s tasks through 2 replicas:", flush=True)
            g = await generations(ports, key, info["base_url"], args.generations, args.task_seconds)
            result["generations"] = g
            print(f"  returned {g['returned']}/{g['generations']}, succeeded {g['succeeded']}, wall {g['wall_s']:.1f} s; "
                  f"requests per task mean {g['requests_per_task_mean']:.2f} max {g['requests_per_task_max']}; "
                  f"lag p50 {g['lag_p50_s']:.2f} s p95 {g['lag_p95_s']:.2f} s; "
                  f"tasks polled by both replicas: {g['tasks_polled_by_both_replicas']}; "
                  f"creates spread over {g['create_spread_s']:.1f} s", flush=True)
        if args.neighbour:
            print(f"{args.waits} concurrent waits from one key, another key's get_task_status one at a time:", flush=True)
            result["neighbour"] = []
            for cap in (DEFAULT_MAX_CALLS_PER_KEY, args.waits):
                n = await neighbour(info["base_url"], key, cap, args.waits, 200, 40.0)
                result["neighbour"].append(n)
                print(f"  cap {cap}: refused {n['refused']}, succeeded {n['succeeded']}; quiet key p50/p95 "
                      f"{n['quiet_alone_p50_ms']:.1f}/{n['quiet_alone_p95_ms']:.1f} ms alone, "
                      f"{n['quiet_arriving_p50_ms']:.1f}/{n['quiet_arriving_p95_ms']:.1f} ms while the waits arrive, "
                      f"{n['quiet_loaded_p50_ms']:.1f}/{n['quiet_loaded_p95_ms']:.1f} ms while they are held "
                      f"(sampled while held: {n['sampled_while_waits_held']}); RSS MB "
                      f"{n['before']['rss_mb']:.0f} -> {n['during']['rss_mb']:.0f} -> {n['after']['rss_mb']:.0f}, "
                      f"open files {n['before']['open_files']} -> {n['during']['open_files']} -> {n['after']['open_files']}",
                      flush=True)
        print(json.dumps(result))
    finally:
        for r in replicas:
            r.terminate()
        for r in replicas:
            r.wait(timeout=60)
        assert sim.stdin is not None
        sim.stdin.close()
        sim.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
