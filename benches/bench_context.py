"""What tools/list costs an agent's context: the bytes of names, descriptions and input schemas
(what a client hands its model), and of the whole tools/list answer (with output schemas and
annotations), as Python's json.dumps writes them (the measure the issue's figures use). Run: .venv/bin/python benches/bench_context.py"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from mcp import Client

from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings


def size(obj: Any) -> int:
    return len(json.dumps(obj).encode())


async def measure() -> tuple[int, int, list[tuple[str, int]], int]:
    server = build(Settings.from_env(simulate=True))
    async with Client(server) as c:
        listed = await c.list_tools()
        instructions = len((c.instructions or "").encode())
    tools = [t.model_dump(by_alias=True, exclude_none=True) for t in listed.tools]
    per_tool = [(t["name"], size({k: t[k] for k in ("name", "description", "inputSchema") if k in t})) for t in tools]
    return sum(n for _, n in per_tool), size({"tools": tools}), per_tool, instructions


def main() -> None:
    model_side, whole, per_tool, instructions = asyncio.run(measure())
    if "-v" in sys.argv:
        for name, n in sorted(per_tool, key=lambda x: -x[1]):
            print(f"  {name:34} {n:6d} B")
    print(f"tools: {len(per_tool)}")
    print(f"names + descriptions + input schemas: {model_side / 1000:.1f} KB ({model_side} B)")
    print(f"whole tools/list: {whole / 1000:.1f} KB ({whole} B)")
    print(f"server instructions (sent once, at initialize): {instructions} B")


if __name__ == "__main__":
    main()
