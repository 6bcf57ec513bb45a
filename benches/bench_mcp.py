"""MCP server benchmarks: cold start, get_task_status throughput over stdio, and many concurrent
generations on long tasks (server CPU seconds, peak RSS, requests per task, completion lag).

The simulator runs as a separate process; the server is the real `python -m runway_mcp_server`
over stdio, driven by the MCP SDK's client. Run from a folder where the repository's python/ is
not on sys.path, with the project installed (see benches/README.md):

    python benches/bench_mcp.py [--generations 300] [--task-seconds 20]
    python benches/bench_mcp.py --journal-status --rounds 5   # get_task_status, journal on vs off
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime

from mcp import Client, StdioServerParameters


def start_simulator(task_seconds: float) -> tuple[subprocess.Popen, dict]:
    p = subprocess.Popen([sys.executable, "-m", "runway_core.simulator", "--task-seconds", str(task_seconds)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return p, json.loads(p.stdout.readline())


def admin(base: str, path: str, method: str = "GET"):
    req = urllib.request.Request(base + path, method=method)
    with urllib.request.urlopen(req) as r:
        body = r.read()
    return json.loads(body) if body else None


def params(sim: dict, **env: str) -> StdioServerParameters:
    e = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "RUNWAYML_API_SECRET": sim["api_key"],
         "RUNWAYML_BASE_URL": sim["base_url"], "RUNWAY_MCP_OUTPUT_DIR": tempfile.mkdtemp(prefix="bench-mcp-out-"),
         # A fresh journal per run (never the user's); RUNWAY_MCP_JOURNAL=off in the environment turns it off.
         "RUNWAY_MCP_JOURNAL": os.environ.get("RUNWAY_MCP_JOURNAL")
         or os.path.join(tempfile.mkdtemp(prefix="bench-mcp-journal-"), "j.sqlite3"), **env}
    return StdioServerParameters(command=sys.executable, args=["-m", "runway_mcp_server"], env=e)


def server_pid() -> int:
    """The running server: our child whose command line names runway_mcp_server."""
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if ppid == me and b"runway_mcp_server" in cmd:
            return int(pid)
    raise RuntimeError("server process not found")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def cold_start(sim: dict, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        async with Client(params(sim), mode="legacy") as c:
            await c.list_tools()
            times.append(time.perf_counter() - t0)
    return times


async def status_throughput(sim: dict, concurrency: int, calls: int, **env: str) -> float:
    async with Client(params(sim, **env), mode="legacy") as c:
        r = await c.call_tool("generate_video_text_to_video", {"prompt_text": "bench", "model": "gen4.5", "wait_for_completion": False})
        task_id = r.structured_content["task_id"]
        for _ in range(20):  # warm up
            await c.call_tool("get_task_status", {"task_id": task_id})
        queue = asyncio.Queue()
        for _ in range(calls):
            queue.put_nowait(None)

        async def worker():
            while not queue.empty():
                queue.get_nowait()
                r = await c.call_tool("get_task_status", {"task_id": task_id})
                assert not r.is_error, r
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return calls / (time.perf_counter() - t0)


async def generations(sim: dict, n: int, task_seconds: float, **env: str) -> dict:
    admin(sim["base_url"], "/_sim/requests", "DELETE")
    async with Client(params(sim, RUNWAY_MCP_MAX_WAIT=str(task_seconds * 3), **env), mode="legacy") as c:
        await c.list_tools()
        pid = server_pid()
        cpu0 = cpu_seconds(pid)
        lags, statuses = [], []

        async def one(i: int):
            r = await c.call_tool("generate_video_text_to_video", {"prompt_text": f"bench {i}", "model": "gen4.5"})
            returned = time.time()
            d = r.structured_content
            if d is None:  # an error result: say what it was
                statuses.append("ERROR")
                print("  error result:", r.content[0].text[:500] if r.content else r, flush=True)
                return
            statuses.append(d["status"])
            created = datetime.fromisoformat(d["created_at"].replace("Z", "+00:00")).timestamp()
            lags.append(returned - (created + task_seconds))

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - t0
        cpu = cpu_seconds(pid) - cpu0
        rss = peak_rss_mb(pid)
    reqs = admin(sim["base_url"], "/_sim/requests")
    polls = sum(1 for r in reqs if r["method"] == "GET" and r["path"].startswith("/v1/tasks/"))
    lags.sort()
    return {"returned": len(statuses), "succeeded": statuses.count("SUCCEEDED"), "wall_s": wall, "server_cpu_s": cpu,
            "peak_rss_mb": rss, "polls_per_task": polls / n, "lag_p50_s": statistics.median(lags), "lag_max_s": lags[-1]}


JOURNAL_MODES = [("journal on ", {}), ("journal off", {"RUNWAY_MCP_JOURNAL": "off"})]


async def journal_on_off(args: argparse.Namespace, sim_proc: subprocess.Popen, sim: dict) -> subprocess.Popen:
    """The journal's overhead: --journal-status (get_task_status at 16, calls/s) or --journal-only
    (the generations, server CPU), with the journal on and off in alternating order, so that drift
    on a shared machine hits both alike; medians printed. Returns the simulator last used."""
    figures: dict[str, list[float]] = {label: [] for label, _ in JOURNAL_MODES}
    for r in range(args.rounds):
        if r > 0 and args.journal_only:  # a fresh simulator each round: its credits last about three
            sim_proc.stdin.close()
            sim_proc.wait(timeout=10)
            sim_proc, sim = start_simulator(args.task_seconds)
        for label, env in (JOURNAL_MODES if r % 2 == 0 else JOURNAL_MODES[::-1]):
            if args.journal_status:
                figures[label].append(await status_throughput(sim, 16, args.calls, **env))
                print(f"{label}: get_task_status at concurrency 16: {figures[label][-1]:.0f} calls/s", flush=True)
                continue
            g = await generations(sim, args.generations, args.task_seconds, **env)
            figures[label].append(g["server_cpu_s"])
            print(f"{label}: {g['returned']} returned, {g['succeeded']} succeeded, server CPU {g['server_cpu_s']:.2f} s, "
                  f"polls per task {g['polls_per_task']:.2f}, lag p50 {g['lag_p50_s']:.2f} s, "
                  f"peak RSS {g['peak_rss_mb']:.0f} MB", flush=True)
    on, off = (statistics.median(figures[label]) for label, _ in JOURNAL_MODES)
    if args.journal_status:
        print(f"median over {args.rounds} round(s): journal on {on:.0f} calls/s, off {off:.0f} calls/s, "
              f"on/off {on / off:.2f} (target >= 0.90)")
    else:
        print(f"median server CPU over {args.rounds} round(s): journal on {on:.2f} s, off {off:.2f} s, "
              f"difference {100 * (on - off) / off:+.0f} %")
    return sim_proc


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--generations", type=int, default=300)
    ap.add_argument("--task-seconds", type=float, default=20.0)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--journal-only", action="store_true",
                    help="only the generations run, with the task journal on and then off (its overhead)")
    ap.add_argument("--journal-status", action="store_true",
                    help="only get_task_status at concurrency 16, with the task journal on and off (its overhead)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="with --journal-only or --journal-status: on/off pairs to run, alternating which goes "
                         "first; medians are printed")
    args = ap.parse_args()
    import runway_core

    print(f"runway_core {runway_core.__version__} from {runway_core.__file__}")
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}")
    sim_proc, sim = start_simulator(args.task_seconds)
    if args.journal_status or args.journal_only:
        try:
            sim_proc = await journal_on_off(args, sim_proc, sim)
        finally:
            sim_proc.stdin.close()
            sim_proc.wait(timeout=10)
        return
    try:
        starts = await cold_start(sim, 7)
        print(f"cold start (spawn -> tools/list answered): median {statistics.median(starts):.3f} s, "
              f"min {min(starts):.3f} s, max {max(starts):.3f} s over {len(starts)} runs (target <= 0.9 s)")
        for conc in (1, 16):
            rate = await status_throughput(sim, conc, args.calls)
            base = {1: 22, 16: 27}[conc]
            print(f"get_task_status over stdio, concurrency {conc:2d}: {rate:7.0f} calls/s "
                  f"({rate / base:.0f}x 0.1.0's {base}/s; target 10x)")
        g = await generations(sim, args.generations, args.task_seconds)
        print(f"{args.generations} concurrent generations on {args.task_seconds:g} s tasks: "
              f"{g['returned']} returned, {g['succeeded']} succeeded, wall {g['wall_s']:.1f} s")
        print(f"  server CPU {g['server_cpu_s']:.2f} s (target <= 5), peak RSS {g['peak_rss_mb']:.0f} MB (target <= 100), "
              f"task polls per task {g['polls_per_task']:.2f} (target <= 2), "
              f"completion-to-result lag p50 {g['lag_p50_s']:.2f} s, max {g['lag_max_s']:.2f} s (target p50 <= 1.5)")
    finally:
        sim_proc.stdin.close()
        sim_proc.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
