"""`runway-mcp-server doctor`: checks what a first run needs (the settings, the key and Runway's
answer, credits, the output folder, the task journal, the MCP SDK) and gives the exact fix for each
failure. Exit status 0 only when every check passes; `--json` for scripts; `--simulate` checks the
same against the built-in simulator."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from .service import RunwayService

KEY_FIX = ("set RUNWAYML_API_SECRET to your Runway API key (dev.runwayml.com > API keys) in the MCP client's "
           "\"env\" for this server, or run with --simulate to try it without a key")
# The `mcp` versions this release is built and tested against (pyproject's dependency).
MCP_RANGE = ((2, 3), (3, 0))


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: Optional[str] = None


def _mcp_check() -> Check:
    try:
        v = version("mcp")
    except PackageNotFoundError:
        return Check("mcp SDK", False, "not installed", "reinstall: uvx runway-mcp-server (or pip install runway-mcp-server)")
    parts = tuple(int(x) for x in v.split(".")[:2] if x.isdigit())
    ok = MCP_RANGE[0] <= parts < MCP_RANGE[1]
    return Check("mcp SDK", ok, f"mcp {v}",
                 None if ok else "install a supported mcp: pip install 'mcp>=2.3,<3' (uvx runway-mcp-server does it)")


def _folder_check(name: str, path: str, env: str) -> Check:
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
        return Check(name, True, f"{path} is writable")
    except OSError as e:
        return Check(name, False, f"{path}: {e.strerror or e}", f"set {env} to an absolute folder you can write to")


async def checks(simulate: bool) -> list[Check]:
    import runway_core

    from .service import RunwayService
    from .settings import Settings

    out = [Check("runway-mcp-server", True, f"{runway_core.__version__} on Python {sys.version.split()[0]}"), _mcp_check()]
    try:
        settings = Settings.from_env(simulate=simulate)
    except SystemExit as e:
        out.append(Check("settings", False, str(e.code).removeprefix("runway-mcp-server: "), "fix that variable in the server's environment"))
        return out
    out.append(Check("settings", True, "environment variables are valid"))
    out.append(_folder_check("output folder", settings.output_dir, "RUNWAY_MCP_OUTPUT_DIR"))
    for d in settings.input_dirs or ():
        ok = os.path.isdir(d)
        out.append(Check("input folder", ok, f"{d} {'exists' if ok else 'does not exist'}",
                         None if ok else "create it, or fix RUNWAY_MCP_INPUT_DIRS"))
    svc = RunwayService(settings)
    try:
        out += await _runway_checks(svc)
    finally:
        svc.close()
    return out


async def _runway_checks(svc: RunwayService) -> list[Check]:
    from mcp.server.mcpserver.exceptions import ToolError

    import runway_core

    out: list[Check] = []
    where = "the built-in simulator" if svc.simulated else svc.base_url
    try:
        client = svc.client()
    except ToolError as e:
        return [Check("API key", False, str(e).split(". Or start")[0], KEY_FIX)]
    except runway_core.RunwayError as e:  # a journal that cannot be opened fails the client
        return [Check("task journal", False, str(e), "set RUNWAY_MCP_JOURNAL to a writable file, or to off")]
    out.append(Check("API key", True, "simulator key" if svc.simulated else "RUNWAYML_API_SECRET is set"))
    try:
        org = await asyncio.wait_for(client.organization(), 30)
    except runway_core.AuthenticationError as e:
        out.append(Check("key accepted", False, f"Runway refused the key: {e}", KEY_FIX.replace("set", "check", 1)))
    except (runway_core.TransportError, asyncio.TimeoutError) as e:
        out.append(Check("Runway reachable", False, f"{where}: {e or 'no answer in 30 s'}",
                         "check the network, a proxy (HTTPS_PROXY), or RUNWAYML_BASE_URL"))
    except runway_core.RunwayError as e:
        out.append(Check("Runway reachable", False, f"{where}: {e}", "check RUNWAYML_BASE_URL, or try again later"))
    else:
        out.append(Check("Runway reachable", True, f"{where} answered GET /v1/organization"))
        out.append(Check("key accepted", True, "the key works"))
        balance = org.get("creditBalance")
        tier = org.get("tier") or {}
        spend = tier.get("maxMonthlyCreditSpend")
        ok = isinstance(balance, (int, float)) and balance > 0
        out.append(Check("credits", ok, f"{balance} credits (${(balance or 0) / 100:.2f}); monthly spend cap {spend}; "
                                        f"limits for {len(tier.get('models') or {})} models",
                         None if ok else "buy credits at dev.runwayml.com (billing); every generation needs them"))
    if client.has_journal:
        try:
            unfinished = await client.unfinished_tasks(1000)
            await client.list_tasks(limit=1)
            out.append(Check("task journal", True, f"{svc.settings.journal}: readable and writable; "
                                                   f"{len(unfinished)} task(s) to resume or save"))
        except runway_core.RunwayError as e:
            out.append(Check("task journal", False, f"{svc.settings.journal}: {e}",
                             "set RUNWAY_MCP_JOURNAL to a writable file, or to off"))
    else:
        out.append(Check("task journal", True, "off: tasks are not remembered across restarts"
                                               + (" (--simulate keeps none unless RUNWAY_MCP_JOURNAL is set)" if svc.simulated else "")))
    return out


def main(argv: "list[str]") -> int:
    p = argparse.ArgumentParser(prog="runway-mcp-server doctor", description=(__doc__ or "").splitlines()[0])
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.add_argument("--simulate", action="store_true", help="check against the built-in simulator (no key needed)")
    opts = p.parse_args(argv)
    results = asyncio.run(checks(opts.simulate))
    ok = all(c.ok for c in results)
    if opts.json:
        print(json.dumps({"ok": ok, "checks": [asdict(c) for c in results]}, indent=2))
    else:
        for c in results:
            print(f"[{'ok' if c.ok else 'FAIL'}] {c.name}: {c.detail}")
            if c.fix:
                print(f"       fix: {c.fix}")
        print("All checks passed." if ok else "Some checks failed: see the fixes above.")
    return 0 if ok else 1
