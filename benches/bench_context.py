"""What tools/list costs an agent's context: the bytes of names, descriptions and input schemas
(what a client hands its model), per toolset and for every set together, and of the whole
tools/list answer (with output schemas and annotations) for a default server and for one serving
every set, as Python's json.dumps writes them (the measure the issue's figures use), and what an
MCP Apps client gets on top (the app-only tools and the studio's URI, none of it for its model). Budgets
(issue 20): the default set <= 12 KB, every set <= 24 KB, the whole tools/list <= 48 KB.
Run: .venv/bin/python benches/bench_context.py [-v]"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from runway_mcp_server.server import build
from runway_mcp_server.sets import TABLE
from runway_mcp_server.settings import Settings


def size(obj: Any) -> int:
    return len(json.dumps(obj).encode())


def model_side(tool: dict[str, Any]) -> int:
    """What a client hands its model for one tool: its name, description and input schema."""
    return size({k: tool[k] for k in ("name", "description", "inputSchema") if k in tool})


async def listed(toolsets: tuple[str, ...], apps: bool = False) -> tuple[list[dict[str, Any]], int]:
    server = build(Settings(simulate=True, toolsets=toolsets))
    extensions = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})] if apps else None
    async with Client(server, extensions=extensions) as c:
        tools = (await c.list_tools()).tools
        instructions = len((c.instructions or "").encode())
    return [t.model_dump(by_alias=True, exclude_none=True) for t in tools], instructions


def main() -> None:
    default, instructions = asyncio.run(listed(("default",)))
    every, _ = asyncio.run(listed(("all",)))
    per_set: dict[str, list[dict[str, Any]]] = {}
    for t in every:
        per_set.setdefault(TABLE.set_of(t["name"]), []).append(t)
    if "-v" in sys.argv:
        for t in sorted(every, key=lambda t: -model_side(t)):
            print(f"  {t['name']:34} {TABLE.set_of(t['name']):10} {model_side(t):6d} B")
    print("names + descriptions + input schemas, per toolset:")
    for name, tools in per_set.items():
        n = sum(model_side(t) for t in tools)
        print(f"  {name:10} {len(tools):3d} tools {n / 1000:5.1f} KB ({n} B)")
    all_side = sum(model_side(t) for t in every)
    print(f"  {'all':10} {len(every):3d} tools {all_side / 1000:5.1f} KB ({all_side} B)")
    print(f"whole tools/list, default server: {size({'tools': default}) / 1000:.1f} KB ({size({'tools': default})} B)")
    print(f"whole tools/list, every set: {size({'tools': every}) / 1000:.1f} KB ({size({'tools': every})} B)")
    print(f"server instructions (sent once, at initialize): {instructions} B")
    with_apps, _ = asyncio.run(listed(("default",), apps=True))
    for_model = [t for t in with_apps if t.get("_meta", {}).get("ui", {}).get("visibility") != ["app"]]
    print(f"an MCP Apps client, default server: whole tools/list {size({'tools': with_apps})} B, "
          f"for its model {sum(model_side(t) for t in for_model)} B (app-only tools kept from it)")


if __name__ == "__main__":
    main()
