"""Benchmarks runway_core.Client against Runway's official Python SDK (runwayml), both talking to
the project's Runway API simulator running as a SEPARATE process. Prints figures; not a test.

    python benches/bench_client.py            # from a directory where ./python is NOT importable

Part 1, task-status throughput: GET /v1/tasks/{id} through `Client.get_task` vs the SDK's
`AsyncRunwayML.tasks.retrieve`, at concurrency 1 and 50 (that many worker coroutines sharing one
client and a fixed number of requests). Both are warmed up, then measured in alternating rounds;
the median requests/s is reported.

A bare asyncio HTTP/1.1 client (`RawClient`: no library, keep-alive, json.loads) runs beside them as the
ceiling a client's per-call cost is measured against (target: runway_core at least 0.90 of it at 50).

Part 2, waiting: `Client.wait_for_task` (DEFAULT poll settings) vs the SDK's
`wait_for_task_output()` on 8-second tasks created concurrently. Reports GET /v1/tasks requests
per task (from the simulator's request log) and the lag from the task's actual completion to the
moment the wait returned. The simulator completes a task exactly `task_seconds` after creating it;
the creation instant is the task's `createdAt` (wall clock, truncated to the millisecond, taken in
the same handler as the monotonic time the lifecycle is computed from), so
completion = createdAt + 8 s, known to within +1 ms. A cross-check brackets createdAt between the
wall time before the create request was sent and after its answer came back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

import httpx
import runwayml

import runway_core

REPO_PYTHON = (Path(__file__).resolve().parents[1] / "python").resolve()
CORE_FILE = Path(runway_core.__file__).resolve()
if REPO_PYTHON in CORE_FILE.parents or str(CORE_FILE).startswith("/work/main/python"):
    sys.exit(
        f"runway_core was imported from the source tree ({CORE_FILE}), which holds a debug build.\n"
        "Install the release wheel into a venv and run this script from another directory (e.g. cd /tmp)."
    )

TASK_SECONDS = 8.0
PROMPT = "a red fox running through snow"
BODY = {"model": "gen4.5", "promptText": PROMPT, "ratio": "1280:720", "duration": 5}
SDK_POOLED = "SDK keep-alive 100"
RAW = "raw asyncio"


# --------------------------------------------------------------------------- the simulator process


class SimProcess:
    """`python -m runway_core.simulator` in a child process; it serves until its stdin closes."""

    def __init__(self, task_seconds: float) -> None:
        self.argv = [sys.executable, "-m", "runway_core.simulator", "--port", "0", "--task-seconds", str(task_seconds)]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"simulator did not start (exit code {self.proc.poll()})")
        info = json.loads(line)
        self.base_url: str = info["base_url"]
        self.api_key: str = info["api_key"]
        self.admin = httpx.Client(base_url=self.base_url, timeout=30)

    def requests(self) -> list[dict[str, Any]]:
        r = self.admin.get("/_sim/requests")
        r.raise_for_status()
        records: list[dict[str, Any]] = r.json()
        return records

    def clear_requests(self) -> None:
        self.admin.delete("/_sim/requests").raise_for_status()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the simulator process (all its threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.admin.close()
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --------------------------------------------------------------------------- the ceiling: a bare client


class RawClient:
    """What one asyncio event loop can do with no library at all: HTTP/1.1 over keep-alive
    connections (one per worker at most), the request written by hand, the answer's status line
    and headers read line by line, its body read by Content-Length and parsed with json.loads.
    No retries, no checks, no objects: the ceiling a client's per-call cost is measured against."""

    def __init__(self, base_url: str, api_key: str) -> None:
        url = httpx.URL(base_url)
        self.host, self.port = url.host, url.port or 80
        self.head = (f"Host: {self.host}:{self.port}\r\nAuthorization: Bearer {api_key}\r\n"
                     "X-Runway-Version: 2024-11-06\r\nAccept: application/json\r\n\r\n").encode()
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get_json(self, path: str) -> Any:
        conn = self.idle.pop() if self.idle else await asyncio.open_connection(self.host, self.port)
        reader, writer = conn
        writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + self.head)
        status = await reader.readline()
        if not status.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"raw client: {status!r}")
        length = -1
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        if length < 0:
            raise RuntimeError("raw client: no Content-Length")
        body = await reader.readexactly(length)
        self.idle.append(conn)
        return json.loads(body)

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


def own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


# --------------------------------------------------------------------------- part 1: throughput


async def run_load(fetch: Callable[[str], Awaitable[Any]], ids: list[str], seconds: float, concurrency: int) -> tuple[int, float]:
    """`concurrency` workers send requests back to back until `seconds` have passed; the requests
    in flight at that moment are finished and counted. Returns (requests, requests per second)."""
    done = 0

    async def worker(k: int) -> None:
        nonlocal done
        i = k
        while time.perf_counter() < stop:
            await fetch(ids[i % len(ids)])
            i += concurrency
            done += 1

    t0 = time.perf_counter()
    stop = t0 + seconds
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return done, done / (time.perf_counter() - t0)


async def part1(sim: SimProcess, core: runway_core.Client, sdk: runwayml.AsyncRunwayML, args: argparse.Namespace,
                sdk_pooled: Optional[runwayml.AsyncRunwayML] = None, raw: Optional[RawClient] = None) -> dict[str, Any]:
    # Tasks that stay RUNNING for the whole benchmark, so every answer has the same shape and size.
    body = {**BODY, "promptText": f"{BODY['promptText']} [sim:seconds=86400]"}
    ids = [t.id for t in await asyncio.gather(*(core.create_task("text_to_video", body) for _ in range(args.tasks)))]

    await asyncio.sleep(0.6)  # past PENDING (0.5 s)
    # Both clients read the same thing.
    a, b = await core.get_task(ids[0]), await sdk.tasks.retrieve(ids[0])
    assert a.id == b.id == ids[0] and a.status == b.status == "RUNNING", (a, b)

    async def core_fetch(i: str) -> Any:
        return await core.get_task(i)

    async def sdk_fetch(i: str) -> Any:
        return await sdk.tasks.retrieve(i)

    clients = {"runway_core": core_fetch, "runwayml SDK": sdk_fetch}
    if raw is not None:
        assert (await raw.get_json(f"/v1/tasks/{ids[0]}"))["status"] == "RUNNING"

        async def raw_fetch(i: str) -> Any:
            return await raw.get_json(f"/v1/tasks/{i}")

        clients[RAW] = raw_fetch
    if sdk_pooled is not None:
        # Supplementary, not the baseline: the SDK keeps at most 20 idle connections by default
        # (DEFAULT_CONNECTION_LIMITS), so 50 workers keep reconnecting; this variant keeps 100.
        async def sdk_pooled_fetch(i: str) -> Any:
            return await sdk_pooled.tasks.retrieve(i)

        clients[SDK_POOLED] = sdk_pooled_fetch
    out: dict[str, Any] = {}
    for conc in args.concurrency:
        for fetch in clients.values():  # warm-up: connections, caches, lazy imports
            await run_load(fetch, ids, args.warmup, conc)
        rates: dict[str, list[float]] = {k: [] for k in clients}
        counts: dict[str, list[int]] = {k: [] for k in clients}
        cpu: dict[str, list[tuple[float, float]]] = {k: [] for k in clients}
        for rnd in range(args.rounds):
            order = list(clients) if rnd % 2 == 0 else list(reversed(list(clients)))  # alternate who goes first
            for name in order:
                c0, s0 = own_cpu_seconds(), sim.cpu_seconds()
                n, rate = await run_load(clients[name], ids, args.seconds, conc)
                rates[name].append(rate)
                counts[name].append(n)
                cpu[name].append(((own_cpu_seconds() - c0) / n * 1e6, (sim.cpu_seconds() - s0) / n * 1e6))
        out[str(conc)] = {
            "requests_per_round": {k: round(statistics.mean(v)) for k, v in counts.items()},
            "rounds": {k: [round(r) for r in v] for k, v in rates.items()},
            "median": {k: statistics.median(v) for k, v in rates.items()},
            "client_cpu_us_per_req": {k: statistics.median(c for c, _ in v) for k, v in cpu.items()},
            "sim_cpu_us_per_req": {k: statistics.median(s for _, s in v) for k, v in cpu.items()},
        }
        m = out[str(conc)]["median"]
        print(f"  concurrency {conc:>2}: " + ", ".join(f"{k} {v:.0f} req/s" for k, v in m.items()), flush=True)
    return out


# --------------------------------------------------------------------------- part 2: waiting


def created_at_unix(created_at: Any) -> float:
    if isinstance(created_at, datetime):
        return created_at.timestamp()
    return datetime.fromisoformat(str(created_at).replace("Z", "+00:00")).timestamp()


async def core_batch(core: runway_core.Client, n: int) -> list[dict[str, Any]]:
    async def one() -> dict[str, Any]:
        t_send = time.time()
        task = await core.create_task("text_to_video", BODY)
        t_created = time.time()
        done = await core.wait_for_task(task.id)
        t_done = time.time()
        assert done.status == "SUCCEEDED", done
        return {"id": task.id, "t_send": t_send, "t_created": t_created, "t_done": t_done,
                "created_at": created_at_unix(done.created_at)}

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def sdk_batch(sdk: runwayml.AsyncRunwayML, n: int) -> list[dict[str, Any]]:
    async def one() -> dict[str, Any]:
        t_send = time.time()
        task = await sdk.text_to_video.create(model="gen4.5", prompt_text=PROMPT, ratio="1280:720", duration=5)
        t_created = time.time()
        done = await task.wait_for_task_output()
        t_done = time.time()
        assert done.status == "SUCCEEDED", done
        return {"id": task.id, "t_send": t_send, "t_created": t_created, "t_done": t_done,
                "created_at": created_at_unix(done.created_at)}

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def part2(sim: SimProcess, core: runway_core.Client, sdk: runwayml.AsyncRunwayML, args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, list[dict[str, Any]]] = {"runway_core": [], "runwayml SDK": []}
    for b in range(args.batches):
        for name in (["runway_core", "runwayml SDK"] if b % 2 == 0 else ["runwayml SDK", "runway_core"]):
            sim.clear_requests()
            rows = await (core_batch(core, args.wait_tasks) if name == "runway_core" else sdk_batch(sdk, args.wait_tasks))
            log = sim.requests()
            for r in rows:
                path = f"/v1/tasks/{r['id']}"
                r["gets"] = sum(1 for q in log if q["method"] == "GET" and q["path"] == path)
            stray = [q for q in log if q["method"] == "GET" and q["path"].startswith("/v1/tasks/")
                     and q["path"] not in {f"/v1/tasks/{r['id']}" for r in rows}]
            assert not stray, stray
            results[name].extend(rows)
            print(f"  batch {b + 1}/{args.batches} {name}: {args.wait_tasks} tasks done", flush=True)

    out: dict[str, Any] = {}
    for name, rows in results.items():
        lag = [r["t_done"] - (r["created_at"] + TASK_SECONDS) for r in rows]
        # Cross-check of the creation instant: createdAt (truncated to ms) must lie in [t_send - 1 ms, t_created].
        bracket_ok = all(r["t_send"] - 0.001 <= r["created_at"] <= r["t_created"] for r in rows)
        lag_upper = [r["t_done"] - (r["t_send"] + TASK_SECONDS) for r in rows]   # if created at send time
        lag_lower = [r["t_done"] - (r["t_created"] + TASK_SECONDS) for r in rows]  # if created at answer time
        out[name] = {
            "tasks": len(rows),
            "gets_per_task_mean": statistics.mean(r["gets"] for r in rows),
            "gets_per_task_max": max(r["gets"] for r in rows),
            "lag_p50": statistics.median(lag),
            "lag_max": max(lag),
            "lag_min": min(lag),
            "lag_p50_bracket": (statistics.median(lag_lower), statistics.median(lag_upper)),
            "create_rtt_max_ms": max(r["t_created"] - r["t_send"] for r in rows) * 1000,
            "created_at_in_bracket": bracket_ok,
            "early_returns": sum(1 for x in lag if x < 0),
        }
    return out


# --------------------------------------------------------------------------- report


def machine_info() -> dict[str, Any]:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        nproc = str(len(os.sched_getaffinity(0)))
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": nproc,
        "cpu": cpu_model,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "runway_core": f"{runway_core.__version__} ({CORE_FILE})",
        "runwayml": runwayml.__version__,
        "httpx": httpx.__version__,
    }


def report(args: argparse.Namespace, info: dict[str, Any], p1: Optional[dict[str, Any]], p2: Optional[dict[str, Any]], cmd: str) -> None:
    print()
    print("=" * 78)
    print(f"command: {cmd}")
    for k, v in info.items():
        print(f"{k + ':':<13}{v}")
    if p1:
        print()
        print(f"1. Task-status throughput: GET /v1/tasks/{{id}}, requests/s, median of {args.rounds} alternating "
              f"rounds of {args.seconds:g} s each (after a {args.warmup:g} s warm-up per client)")
        print()
        names = list(next(iter(p1.values()))["median"])
        print("| concurrency | " + " | ".join(names) + " | core/SDK |"
              + (" core/(SDK keep-alive 100) |" if SDK_POOLED in names else "") + (" core/raw |" if RAW in names else ""))
        print("|---:|" + "---:|" * len(names) + "---:|" + ("---:|" if SDK_POOLED in names else "")
              + ("---:|" if RAW in names else ""))
        for conc, r in p1.items():
            m = r["median"]
            row = f"| {conc} | " + " | ".join(f"{m[k]:,.0f}" for k in names)
            row += f" | **{m['runway_core'] / m['runwayml SDK']:.2f}×** |"
            if SDK_POOLED in names:
                row += f" {m['runway_core'] / m[SDK_POOLED]:.2f}× |"
            if RAW in names:
                row += f" **{m['runway_core'] / m[RAW]:.2f}×** |"
            print(row)
        print()
        print("CPU time per request, µs (median of rounds): client process (all threads) / simulator process")
        print()
        print("| concurrency | " + " | ".join(names) + " |")
        print("|---:|" + "---:|" * len(names))
        for conc, r in p1.items():
            c, s = r["client_cpu_us_per_req"], r["sim_cpu_us_per_req"]
            print(f"| {conc} | " + " | ".join(f"{c[k]:.0f} / {s[k]:.0f}" for k in names) + " |")
        print()
        for conc, r in p1.items():
            for name, rounds in r["rounds"].items():
                print(f"   c={conc:<3} {name:<18} req/s per round: {rounds} (≈{r['requests_per_round'][name]} requests/round)")
        if "50" in p1:
            m = p1["50"]["median"]
            ratio = m["runway_core"] / m["runwayml SDK"]
            print(f"\n   target ≥5× the SDK at concurrency 50: {ratio:.2f}× -> {'MET' if ratio >= 5 else 'NOT MET'}")
            if RAW in m:
                ratio = m["runway_core"] / m[RAW]
                print(f"   target ≥0.90× the raw asyncio client at concurrency 50: {ratio:.2f}× -> "
                      f"{'MET' if ratio >= 0.9 else 'NOT MET'}")
    if p2:
        print()
        print(f"2. Waiting for {TASK_SECONDS:g}-second tasks (runway_core default poll settings)")
        print()
        print("| client | tasks | GET /v1/tasks per task (mean / max) | lag p50 | lag max | lag min |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, r in p2.items():
            print(f"| {name} | {r['tasks']} | {r['gets_per_task_mean']:.2f} / {r['gets_per_task_max']} "
                  f"| {r['lag_p50']:.3f} s | {r['lag_max']:.3f} s | {r['lag_min']:.3f} s |")
        print()
        for name, r in p2.items():
            lo, hi = r["lag_p50_bracket"]
            print(f"   {name:<13} createdAt within [send, answer] for every task: {r['created_at_in_bracket']}; "
                  f"create round trip max {r['create_rtt_max_ms']:.1f} ms; "
                  f"lag p50 if creation were taken at answer/send time: {lo:.3f}/{hi:.3f} s; "
                  f"returned before completion: {r['early_returns']}")
        core, sdk = p2["runway_core"], p2["runwayml SDK"]
        fewer = core["gets_per_task_mean"] <= sdk["gets_per_task_mean"]
        print(f"\n   target: no more requests than the SDK: {core['gets_per_task_mean']:.2f} vs "
              f"{sdk['gets_per_task_mean']:.2f} -> {'MET' if fewer else 'NOT MET'}")
        print(f"   target: lag p50 ≤ 1.5 s: {core['lag_p50']:.3f} s -> {'MET' if core['lag_p50'] <= 1.5 else 'NOT MET'}"
              f" (SDK: {sdk['lag_p50']:.3f} s)")
    print("=" * 78)


async def main_async(args: argparse.Namespace) -> None:
    info = machine_info()
    cmd = shlex.join([sys.executable, *sys.argv])
    sim = SimProcess(TASK_SECONDS)
    print(f"simulator: {shlex.join(sim.argv)} (pid {sim.proc.pid}) at {sim.base_url}", flush=True)
    try:
        core = runway_core.Client(api_key=sim.api_key, base_url=sim.base_url)
        sdk = runwayml.AsyncRunwayML(api_key=sim.api_key, base_url=sim.base_url)
        sdk_pooled = None
        raw = None if args.no_raw else RawClient(sim.base_url, sim.api_key)
        if not args.no_pooled_sdk:
            limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
            sdk_pooled = runwayml.AsyncRunwayML(
                api_key=sim.api_key, base_url=sim.base_url, http_client=runwayml.DefaultAsyncHttpxClient(limits=limits))
        try:
            p1 = p2 = None
            if not args.skip_throughput:
                print("part 1: throughput", flush=True)
                p1 = await part1(sim, core, sdk, args, sdk_pooled, raw)
            if not args.skip_wait:
                print("part 2: waiting", flush=True)
                p2 = await part2(sim, core, sdk, args)
        finally:
            await core.aclose()
            await sdk.close()
            if sdk_pooled is not None:
                await sdk_pooled.close()
            if raw is not None:
                raw.close()
        report(args, info, p1, p2, cmd)
        if args.json:
            Path(args.json).write_text(json.dumps({"machine": info, "command": cmd, "throughput": p1, "wait": p2}, indent=2))
    finally:
        sim.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 50])
    p.add_argument("--seconds", type=float, default=3.0, help="length of one measurement round")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per client and concurrency")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--tasks", type=int, default=100, help="tasks the throughput requests cycle through")
    p.add_argument("--wait-tasks", type=int, default=10, help="tasks waited on concurrently per batch")
    p.add_argument("--batches", type=int, default=2, help="batches per client in part 2")
    p.add_argument("--no-pooled-sdk", action="store_true",
                   help="skip the supplementary SDK variant with 100 keep-alive connections")
    p.add_argument("--no-raw", action="store_true", help="leave out the bare asyncio client (the ceiling)")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--skip-wait", action="store_true")
    p.add_argument("--json", help="also write the figures to this file")
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
