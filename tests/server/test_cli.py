"""The command line: `doctor` (each failure with its fix; exit status; --json) and `--help`, which
must list every subcommand, option and environment variable the code reads."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import runway_core
import runway_mcp_server
from runway_mcp_server import doctor

ROOT = Path(__file__).resolve().parents[2]
CLEAN = {k: v for k, v in os.environ.items() if not k.startswith(("RUNWAY", "runway"))}


def by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks}


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runway_mcp_server", *args], capture_output=True, text=True,
                          env={**CLEAN, **env}, timeout=120)


def test_doctor_passes_on_the_simulator_and_says_so_in_json(tmp_path):
    p = run_cli("doctor", "--simulate", "--json", RUNWAY_MCP_OUTPUT_DIR=str(tmp_path / "out"),
                RUNWAY_MCP_JOURNAL=str(tmp_path / "j.sqlite3"))
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(p.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] is True and all(c["ok"] for c in checks.values())
    for name in ("mcp SDK", "settings", "output folder", "API key", "Runway reachable", "key accepted", "credits",
                 "task journal"):
        assert name in checks, name
    assert "answered GET /v1/organization" in checks["Runway reachable"]["detail"]
    assert "credits" in checks["credits"]["detail"] and str(tmp_path / "j.sqlite3") in checks["task journal"]["detail"]


def test_doctor_fails_with_the_fix_and_exit_1(tmp_path):
    p = run_cli("doctor", RUNWAY_MCP_OUTPUT_DIR=str(tmp_path / "out"), RUNWAY_MCP_JOURNAL="off")
    assert p.returncode == 1
    assert "[FAIL] API key" in p.stdout and "fix: set RUNWAYML_API_SECRET" in p.stdout
    assert "--simulate" in p.stdout and "Some checks failed" in p.stdout


async def test_doctor_reports_a_refused_key_without_echoing_it(sim, tmp_path, monkeypatch):
    for k in list(os.environ):
        if k.startswith(("RUNWAY", "runway")):
            monkeypatch.delenv(k)
    secret = "key_" + "f" * 60
    monkeypatch.setenv("RUNWAYML_API_SECRET", secret)
    monkeypatch.setenv("RUNWAYML_BASE_URL", sim.base_url)
    monkeypatch.setenv("RUNWAY_MCP_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("RUNWAY_MCP_JOURNAL", str(tmp_path / "j.sqlite3"))
    checks = by_name(await doctor.checks(simulate=False))
    assert checks["API key"].ok
    assert not checks["key accepted"].ok and "refused" in checks["key accepted"].detail
    assert "RUNWAYML_API_SECRET" in (checks["key accepted"].fix or "")
    assert secret not in json.dumps([c.__dict__ for c in checks.values()])
    # The key works: everything passes.
    monkeypatch.setenv("RUNWAYML_API_SECRET", sim.api_key)
    checks = by_name(await doctor.checks(simulate=False))
    assert all(c.ok for c in checks.values()), [c for c in checks.values() if not c.ok]


async def test_doctor_folders_settings_and_unreachable_runway(tmp_path, monkeypatch):
    for k in list(os.environ):
        if k.startswith(("RUNWAY", "runway")):
            monkeypatch.delenv(k)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("RUNWAY_MCP_OUTPUT_DIR", str(blocker / "out"))  # under a file: cannot be made
    monkeypatch.setenv("RUNWAY_MCP_INPUT_DIRS", str(tmp_path / "missing"))
    monkeypatch.setenv("RUNWAY_MCP_JOURNAL", "off")
    monkeypatch.setenv("RUNWAYML_API_SECRET", "key_x")
    monkeypatch.setenv("RUNWAYML_BASE_URL", "http://127.0.0.1:9")  # nothing listens on discard
    checks = by_name(await doctor.checks(simulate=False))
    assert not checks["output folder"].ok and "RUNWAY_MCP_OUTPUT_DIR" in (checks["output folder"].fix or "")
    assert not checks["input folder"].ok and "RUNWAY_MCP_INPUT_DIRS" in (checks["input folder"].fix or "")
    assert not checks["Runway reachable"].ok and "RUNWAYML_BASE_URL" in (checks["Runway reachable"].fix or "")
    monkeypatch.setenv("RUNWAY_MCP_MAX_WAIT", "soon")
    checks = by_name(await doctor.checks(simulate=False))
    assert not checks["settings"].ok and "RUNWAY_MCP_MAX_WAIT" in checks["settings"].detail


def test_help_lists_every_subcommand_option_and_environment_variable():
    p = run_cli("--help")
    assert p.returncode == 0
    for word in ("doctor", "call TOOL", "--simulate", "--http", "--host", "--port", "--version", "default 127.0.0.1",
                 "default 8000"):
        assert word in p.stdout, word
    read = set()
    for f in Path(runway_mcp_server.__file__).parent.glob("*.py"):  # the installed package (or the tree)
        read |= set(re.findall(r"\b(RUNWAY_MCP_[A-Z_]+|RUNWAYML_[A-Z_]+)\b", f.read_text()))
    assert {"RUNWAY_MCP_MAX_CREDITS", "RUNWAY_MCP_JOURNAL", "RUNWAYML_API_SECRET"} <= read
    readme = (ROOT / "README.md").read_text()
    for name in sorted(read):
        assert re.search(rf"^  {name}\s", p.stdout, re.M), f"{name} missing from --help"
        assert f"`{name}" in readme, f"{name} missing from the README"


@pytest.mark.parametrize("args", [["doctor", "--help"], ["call", "--help"]])
def test_subcommand_help(args):
    p = run_cli(*args)
    assert p.returncode == 0 and "--simulate" in p.stdout


@pytest.mark.smoke
def test_version_matches_the_package():
    p = run_cli("--version")
    assert p.returncode == 0 and p.stdout.strip() == f"runway-mcp-server {runway_core.__version__}"
