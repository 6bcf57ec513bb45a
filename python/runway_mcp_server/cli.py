"""The `runway-mcp-server` console script."""

from __future__ import annotations

import argparse
import os
import sys


def _exit(code: int) -> "None":
    # Leave without interpreter finalization: nothing left to clean up, and it rules out any
    # late native-thread activity during shutdown (see runway_core's atexit hook).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: "list[str] | None" = None) -> int:
    from runway_core import __version__

    parser = argparse.ArgumentParser(prog="runway-mcp-server", description="MCP server for Runway's API.")
    parser.add_argument("--version", action="version", version=f"runway-mcp-server {__version__}")
    parser.parse_args(argv)
    print(
        f"runway-mcp-server {__version__}: the MCP server is not in this build yet; "
        "use the runway_core library (see the README).",
        file=sys.stderr,
    )
    _exit(0)
    return 0
