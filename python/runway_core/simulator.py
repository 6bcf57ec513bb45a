"""Runs the Runway API simulator as its own process, for benchmarks and manual tries.

    python -m runway_core.simulator [--port 0] [--task-seconds 8]

Prints one JSON line {"base_url", "api_key"} on stdout, then serves until stdin closes or the
process is interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys

from ._core import Simulator


def main(argv: "list[str] | None" = None) -> int:
    p = argparse.ArgumentParser(prog="python -m runway_core.simulator", description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--task-seconds", type=float, default=8.0)
    p.add_argument("--pending-seconds", type=float, default=0.5)
    p.add_argument("--max-concurrency", type=int, default=None)
    p.add_argument("--extra-key", action="append", default=[], help="another key the simulator accepts (repeatable)")
    args = p.parse_args(argv)
    sim = Simulator(
        task_seconds=args.task_seconds,
        pending_seconds=args.pending_seconds,
        max_concurrency=args.max_concurrency,
        port=args.port,
        extra_keys=args.extra_key,
    )
    print(json.dumps({"base_url": sim.base_url, "api_key": sim.api_key}), flush=True)
    try:
        # The server runs on Rust threads; this thread just waits for the parent to let go.
        while sys.stdin.read(65536):
            pass
    except KeyboardInterrupt:
        pass
    sim.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
