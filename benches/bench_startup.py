"""Cold start of the MCP server over stdio, next to what importing the MCP SDK alone costs.

For each run, in turn (the order rotates every round, so no command always goes first):

- `python -c pass`                          the interpreter alone
- `python -c "import mcp"`                  the SDK's package
- `python -c "import mcp.server.mcpserver"` the SDK's server framework, which the server uses
- `python -m runway_mcp_server --simulate`  spawn -> `initialize` answered -> `notifications/initialized`
                                            + `tools/list` answered: raw JSON-RPC over the pipes, with the
                                            newest handshake-era protocol version the SDK accepts. The
                                            server keeps nothing between starts, so every start is a
                                            first start after an install (but for the .pyc files).

Each figure is the wall time from just before the spawn until the child wrote a line after its
imports (the imports; the line is read through a pipe, as the server's answers are) or until the
`tools/list` answer was read (the server). Neither includes interpreter shutdown. The median over the runs is printed, and the
server's margin over `import mcp` (the target: at most 100 ms). Every child runs in a temporary
working directory with a temporary HOME, so neither the source tree nor the user's settings are
involved; the script prints where `runway_core` was imported from (measure an installed wheel, not a
`maturin develop` debug build). `--importtime` also prints the server's heaviest imports
(`-X importtime`, cumulative) for one start, and the modules it loads beyond `import mcp`.

`--breakdown` times the parts of a start in one process (the SDK's import, this package's imports,
build(), the first list_tools) and, for comparison, the SDK building the 27 tools itself.

    python benches/bench_startup.py [--runs 20] [--python PATH] [--breakdown] [--importtime] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

# The newest revision the SDK's server negotiates through `initialize` (mcp_types.version).
PROTOCOL = "2025-11-25"


def rpc(msg: dict[str, Any]) -> bytes:
    return (json.dumps(msg) + "\n").encode()


def read_answer(stdout: Any, want_id: int) -> dict[str, Any]:
    """Reads lines until the response with `want_id` (skips notifications and log lines)."""
    while True:
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the server closed stdout before answering request {want_id}")
        msg = json.loads(line)
        if msg.get("id") == want_id:
            if "error" in msg:
                raise RuntimeError(f"request {want_id} failed: {msg['error']}")
            return msg  # type: ignore[no-any-return]


def time_import(python: str, code: str, env: dict[str, str], cwd: str) -> float:
    """Spawn to the import done: the child writes a line once `code` has run, and the clock stops
    when it is read (interpreter shutdown, which the server never pays before answering, is left out)."""
    t0 = time.perf_counter()
    p = subprocess.Popen([python, "-c", f"{code}\nimport sys; sys.stdout.write('ready\\n'); sys.stdout.flush()"],
                         env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    assert p.stdout is not None
    line = p.stdout.readline()
    elapsed = time.perf_counter() - t0
    if p.wait() != 0 or line != b"ready\n":
        raise RuntimeError(f"{code!r} failed")
    return elapsed


def time_server(python: str, env: dict[str, str], cwd: str) -> tuple[float, float, int]:
    """Spawn to `initialize` answered and to `tools/list` answered (seconds), and the number of tools."""
    t0 = time.perf_counter()
    p = subprocess.Popen([python, "-m", "runway_mcp_server", "--simulate"], env=env, cwd=cwd,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert p.stdin is not None and p.stdout is not None
    try:
        p.stdin.write(rpc({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL, "capabilities": {},
            "clientInfo": {"name": "bench_startup", "version": "0"}}}))
        p.stdin.flush()
        init = read_answer(p.stdout, 1)
        t_init = time.perf_counter() - t0
        if init["result"]["protocolVersion"] != PROTOCOL:
            raise RuntimeError(f"the server negotiated {init['result']['protocolVersion']}, not {PROTOCOL}")
        p.stdin.write(rpc({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        p.stdin.write(rpc({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}))
        p.stdin.flush()
        tools = read_answer(p.stdout, 2)["result"]["tools"]
        elapsed = time.perf_counter() - t0
    finally:
        p.stdin.close()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return t_init, elapsed, len(tools)


def import_times(stderr: bytes) -> dict[str, tuple[int, int]]:
    """`-X importtime` lines: module -> (own, cumulative) microseconds."""
    out = {}
    for line in stderr.decode().splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            own_us, cum_us, name = line.split("|")
            out[name.strip()] = (int(own_us.split(":")[1]), int(cum_us))
    return out


def importtime(python: str, env: dict[str, str], cwd: str, top: int) -> None:
    """One server start under -X importtime; prints the heaviest imports by cumulative time, and the
    modules it imports that `import mcp` does not."""
    p = subprocess.Popen([python, "-X", "importtime", "-m", "runway_mcp_server", "--simulate"], env=env, cwd=cwd,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdin is not None and p.stdout is not None
    p.stdin.write(rpc({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench_startup", "version": "0"}}}))
    p.stdin.write(rpc({"jsonrpc": "2.0", "method": "notifications/initialized"}))
    p.stdin.write(rpc({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}))
    p.stdin.flush()
    read_answer(p.stdout, 2)
    p.stdin.close()
    assert p.stderr is not None
    server = import_times(p.stderr.read())
    p.wait(timeout=10)
    print(f"\nheaviest imports of one server start (-X importtime; cumulative ms, self ms):")
    for name, (own, cum) in sorted(server.items(), key=lambda kv: -kv[1][1])[:top]:
        print(f"  {cum / 1000:8.1f} {own / 1000:8.1f}  {name}")
    base = import_times(subprocess.run([python, "-X", "importtime", "-c", "import mcp"], env=env, cwd=cwd,
                                       capture_output=True, check=True).stderr)
    extra = {k: v for k, v in server.items() if k not in base}
    print(f"\n{len(extra)} modules the server start imports beyond `import mcp`, "
          f"{sum(v[0] for v in extra.values()) / 1000:.1f} ms of their own import time (self ms):")
    for name, (own, _) in sorted(extra.items(), key=lambda kv: -kv[1][0]):
        print(f"  {own / 1000:8.1f}  {name}")


BREAKDOWN = """
import time
t0 = time.perf_counter()
import mcp
t1 = time.perf_counter()
import mcp.server.stdio
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings
t2 = time.perf_counter()
server = build(Settings.from_env(simulate=True))
t3 = time.perf_counter()
import asyncio
asyncio.run(server.list_tools())
t4 = time.perf_counter()
listed = server._tool_manager.list_tools()
kinds = {type(t).__name__ for t in listed}
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, len(listed), ",".join(sorted(kinds)))
"""


def breakdown(python: str, env: dict[str, str], cwd: str, runs: int) -> None:
    """In one process, the parts of a start: the SDK's import, this package's imports beyond it,
    build() (the generation tools from their schemas, the others built by the SDK from their
    signatures), the first list_tools."""
    labels = ["import mcp", "runway_mcp_server imports beyond it", "build(): every tool", "first list_tools()"]
    parts: list[list[float]] = [[] for _ in labels]
    kinds, counts = set(), set()
    for _ in range(runs):
        out = subprocess.run([python, "-c", BREAKDOWN], env=env, cwd=cwd, check=True, capture_output=True,
                             text=True).stdout.split()
        for i, x in enumerate(out[:len(labels)]):
            parts[i].append(float(x) * 1000)
        counts.add(out[len(labels)])
        kinds.add(out[len(labels) + 1])
    print(f"\nin one process: median of {runs} (ms); {'/'.join(sorted(counts))} tools, of kinds {', '.join(sorted(kinds))}")
    for label, xs in zip(labels, parts):
        print(f"  {label:38s} {statistics.median(xs):7.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--importtime", action="store_true")
    ap.add_argument("--breakdown", action="store_true", help="also time the parts of a start in one process")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--json", help="also write the figures as JSON to this file")
    opts = ap.parse_args()

    cwd = tempfile.mkdtemp(prefix="bench-startup-")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": cwd, "LANG": "C.UTF-8",
           "RUNWAY_MCP_OUTPUT_DIR": os.path.join(cwd, "out")}
    where = subprocess.run([opts.python, "-c", "import runway_core, sys; print(runway_core.__file__); print(sys.version.split()[0])"],
                           env=env, cwd=cwd, check=True, capture_output=True, text=True).stdout.split()
    print(f"python {where[1]} ({opts.python}); runway_core from {os.path.dirname(where[0])}")
    if "site-packages" not in where[0]:
        print("  note: not an installed wheel (a `maturin develop` build?); figures may not be the shipped ones")

    # Warm the OS page cache and the .pyc files once (the figures are not after a reboot).
    time_import(opts.python, "import mcp.server.mcpserver", env, cwd)
    time_server(opts.python, env, cwd)

    runs: list[tuple[float, float, int]] = []

    def server() -> float:
        runs.append(time_server(opts.python, env, cwd))
        return runs[-1][1]

    SERVER = "server: spawn -> tools/list"
    commands: dict[str, Any] = {
        "python -c pass": lambda: time_import(opts.python, "pass", env, cwd),
        "import mcp": lambda: time_import(opts.python, "import mcp", env, cwd),
        "import mcp.server.mcpserver": lambda: time_import(opts.python, "import mcp.server.mcpserver", env, cwd),
        SERVER: server,
    }
    names = list(commands)
    times: dict[str, list[float]] = {n: [] for n in names}
    for i in range(opts.runs):
        for n in names[i % len(names):] + names[:i % len(names)]:
            times[n].append(commands[n]())

    times["server: spawn -> initialize"] = [r[0] for r in runs]
    names = names[:3] + ["server: spawn -> initialize", SERVER]
    ntools = {r[2] for r in runs}
    med = {n: statistics.median(t) * 1000 for n, t in times.items()}
    print(f"\n{opts.runs} runs each, median (min-max) ms; tools/list listed {'/'.join(map(str, sorted(ntools)))} tools")
    for n in names:
        print(f"  {n:36s} {med[n]:7.1f}  ({min(times[n]) * 1000:.1f}-{max(times[n]) * 1000:.1f})")
    margin = med[SERVER] - med["import mcp"]
    verdict = "within" if margin <= 100 else "NOT within"
    print(f"\nserver - import mcp = {margin:+.1f} ms (medians): {verdict} the 100 ms target")
    print(f"server - import mcp = {(min(times[SERVER]) - min(times['import mcp'])) * 1000:+.1f} ms (minima)")
    print(f"server - import mcp.server.mcpserver = {med[SERVER] - med['import mcp.server.mcpserver']:+.1f} ms")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"python": where[1], "runs": opts.runs, "tools": sorted(ntools), "median_ms": med,
                       "all_s": times, "margin_ms": margin}, f, indent=2)
    if opts.breakdown:
        breakdown(opts.python, env, cwd, max(5, opts.runs // 2))
    if opts.importtime:
        importtime(opts.python, env, cwd, opts.top)


if __name__ == "__main__":
    main()
