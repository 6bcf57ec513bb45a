"""The official MCP conformance suite (@modelcontextprotocol/conformance, npm) against this server over
HTTP on the simulator, as a client would find it: versions 0.1 and 0.2 (pinned by
tests/conformance/package-lock.json, with the Node >= 22 they need), the 0.2 suite twice: at its
default wire versions (which include the tasks extension's scenarios) and at 2026-07-28 throughout.

The suite itself judges against expected-failures.yml: a run fails on any failure not listed there
and on any listed one that now passes. The README's conformance table is checked against the
results (RUNWAY_UPDATE_README=1 rewrites its rows)."""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MODULES = HERE / "node_modules"
NODE = MODULES / "node-22/bin/node"
BASELINE = HERE / "expected-failures.yml"
README = ROOT / "README.md"


@dataclass(frozen=True)
class Run:
    package: str  # its alias in package.json
    args: tuple[str, ...]
    wire: str  # what the README says of the protocol versions it speaks

    @property
    def version(self) -> str:
        return str(json.loads((MODULES / self.package / "package.json").read_text())["version"])

    @property
    def label(self) -> str:
        return f"{self.version}, {self.wire}"


RUNS = [
    Run("conformance-0.1", (), "2025-11-25"),
    Run("conformance-0.2", ("--suite", "all"), "2025-11-25 and 2026-07-28, with extensions"),
    Run("conformance-0.2", ("--suite", "all", "--spec-version", "2026-07-28"), "2026-07-28 only"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`runway-mcp-server --simulate` over streamable HTTP on a free loopback port (no key, no token:
    loopback and the simulator need neither)."""
    tmp = tmp_path_factory.mktemp("conformance-server")
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "RUNWAY_MCP_OUTPUT_DIR": str(tmp / "out"),
           "RUNWAY_MCP_SIM_TASK_SECONDS": "1"}
    log = open(tmp / "server.log", "w")
    p = subprocess.Popen([sys.executable, "-m", "runway_mcp_server", "--simulate", "--transport", "streamable-http",
                          "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert p.poll() is None, (tmp / "server.log").read_text()
            assert time.monotonic() < deadline, "the server did not get ready"
            time.sleep(0.2)
        yield f"{base}/mcp"
    finally:
        p.terminate()
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
        log.close()


def entries(text: str) -> list[str]:
    return [line.strip()[2:].strip() for line in text.splitlines() if line.strip().startswith("- ")]


def baseline_for(run: Run, tmp: Path) -> Path:
    """The expected failures as this version reads them: 0.1 knows whole scenarios only, so a
    `scenario:check` entry is its scenario there."""
    if run.version.startswith("0.2"):
        return BASELINE
    scenarios = dict.fromkeys(e.split(":")[0] for e in entries(BASELINE.read_text()))
    path = tmp / "expected-failures-0.1.yml"
    path.write_text("server:\n" + "".join(f"  - {s}\n" for s in scenarios))
    return path


def results(out: Path) -> dict[str, bool]:
    """Scenario -> passed (no failure and no warning, as the suite's baseline check counts them)."""
    found = {}
    for checks in out.glob("*/checks.json"):
        scenario = re.sub(r"^server-|-\d{4}-\d\d-\d\dT[\d-]+Z$", "", checks.parent.name)
        found[scenario] = not any(c["status"] in ("FAILURE", "WARNING") for c in json.loads(checks.read_text()))
    return found


def row(run: Run, found: dict[str, bool]) -> str:
    passed = sum(found.values())
    return f"| {run.label} | {len(found)} | {passed} | {len(found) - passed} |"


def check_readme(run: Run, want: str) -> None:
    """The README's row for this run says what the run found (or is rewritten so, on request)."""
    start = f"| {run.label} |"
    with open(README, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # the runs are checked in parallel
        lines = f.read().split("\n")
        at = [i for i, line in enumerate(lines) if line.startswith(start)]
        assert len(at) == 1, f"README.md needs one conformance row starting {start!r}"
        if lines[at[0]] != want and os.environ.get("RUNWAY_UPDATE_README") == "1":
            lines[at[0]] = want
            f.seek(0)
            f.write("\n".join(lines))
            f.truncate()
            return
    assert lines[at[0]] == want, "README.md's conformance table is out of date (RUNWAY_UPDATE_README=1 rewrites it)"


@pytest.mark.parametrize("run", RUNS, ids=lambda r: f"{r.package}{'-2026' if '2026-07-28' in r.args else ''}")
def test_conformance_suite(run: Run, server: str, tmp_path: Path) -> None:
    assert NODE.exists(), f"{NODE} is missing: tests/run.sh installs it (npm ci --prefix tests/conformance)"
    out = tmp_path / "results"
    cmd = [str(NODE), str(MODULES / run.package / "dist/index.js"), "server", "--url", server, *run.args,
           "--expected-failures", str(baseline_for(run, tmp_path)), "-o", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})
    report = re.sub(r"\x1b\[[0-9;]*m", "", p.stdout)
    summary = report[report.find("=== SUMMARY"):] if "=== SUMMARY" in report else report[-6000:] + p.stderr[-3000:]
    code = p.returncode
    assert code == 0, f"conformance {run.label}: failures not expected, or expected ones now passing:\n{summary}"
    found = results(out)
    assert "tools-list" in found, summary
    check_readme(run, row(run, found))


def test_expected_failures_each_have_a_reason() -> None:
    lines = [line.strip() for line in BASELINE.read_text().splitlines()]
    listed = entries(BASELINE.read_text())
    assert listed and len(listed) == len(set(listed))
    for i, line in enumerate(lines):
        if line.startswith("- "):
            above = lines[i - 1]
            assert above.startswith("# ") and len(above) > 10, f"{line}: no reason on the line above"


def test_the_suites_and_node_are_pinned_by_the_lock() -> None:
    wanted = json.loads((HERE / "package.json").read_text())["devDependencies"]
    lock = json.loads((HERE / "package-lock.json").read_text())["packages"]
    for alias, spec in wanted.items():
        name, version = spec.removeprefix("npm:").rsplit("@", 1)
        entry = lock[f"node_modules/{alias}"]
        assert entry["name"] == name and entry["version"] == version and entry["integrity"], alias
