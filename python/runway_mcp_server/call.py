"""`runway-mcp-server call TOOL [JSON]`: starts the server over stdio, calls one tool through the
MCP SDK's own client (exactly as an agent would), shows progress on the terminal, prints the result."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.types import ElicitRequestParams, ElicitResult


async def _ask(context: Any, params: ElicitRequestParams) -> ElicitResult:
    """Puts the server's question (the budget guard's) to the person at the terminal: each
    yes/no field as a [y/N] prompt. Only offered when stdin is a terminal."""
    schema = getattr(params, "requested_schema", {}) or {}
    props: dict[str, Any] = schema.get("properties", {})
    if not props or any(p.get("type") != "boolean" for p in props.values()):
        return ElicitResult(action="decline")
    sys.stderr.write(f"\n{params.message}\n")
    answers: dict[str, Any] = {}
    for name, p in props.items():
        sys.stderr.write(f"{p.get('description') or name}? [y/N] ")
        sys.stderr.flush()
        line = await asyncio.to_thread(sys.stdin.readline)
        answers[name] = line.strip().lower() in ("y", "yes")
    return ElicitResult(action="accept", content=answers)


async def _call(tool: str, arguments: dict[str, Any], simulate: bool) -> int:
    import os

    server_args = ["-m", "runway_mcp_server"] + (["--simulate"] if simulate else [])
    params = StdioServerParameters(command=sys.executable, args=server_args, env=dict(os.environ))
    tty = sys.stderr.isatty()
    last = [""]

    async def on_progress(progress: float, total: "float | None", message: "str | None") -> None:
        if tty:  # one bar, redrawn in place
            done = int(min(max(progress / (total or 100), 0.0), 1.0) * 24)
            line = f"\r[{'#' * done}{'.' * (24 - done)}] {progress:5.1f}%  {message or ''}"
            width = shutil.get_terminal_size((100, 20)).columns - 1
            sys.stderr.write(line[:width].ljust(width))
        else:  # a log or a pipe: one plain line per change (heartbeats repeat the last one)
            seen = f"{progress:.0f} {message}"
            if seen == last[0]:
                return
            last[0] = seen
            sys.stderr.write(f"{progress:5.1f}%  {message or ''}\n")
        sys.stderr.flush()

    ask = _ask if sys.stdin.isatty() else None
    async with Client(params, mode="legacy", elicitation_callback=ask) as client:
        result = await client.call_tool(tool, arguments, progress_callback=on_progress)
    if tty:
        sys.stderr.write("\n")
    for block in result.content:
        if block.type == "text":
            print(block.text)
        elif block.type == "resource_link":
            print(f"[file] {block.uri}")
        elif block.type == "image":
            print(f"[inline image: {block.mime_type}, {len(block.data) * 3 // 4} bytes]")
        else:
            print(block.model_dump_json())
    if result.structured_content is not None:
        print(json.dumps(result.structured_content, indent=2))
    return 1 if result.is_error else 0


def main(argv: "list[str]") -> int:
    p = argparse.ArgumentParser(prog="runway-mcp-server call", description=__doc__.splitlines()[0])
    p.add_argument("tool")
    p.add_argument("arguments", nargs="?", default="{}", help="tool arguments as a JSON object")
    p.add_argument("--simulate", action="store_true", help="run the server against the built-in simulator")
    opts = p.parse_args(argv)
    try:
        arguments = json.loads(opts.arguments)
    except json.JSONDecodeError as e:
        print(f"arguments: not valid JSON ({e})", file=sys.stderr)
        return 2
    if not isinstance(arguments, dict):
        print("arguments: must be a JSON object", file=sys.stderr)
        return 2
    return asyncio.run(_call(opts.tool, arguments, opts.simulate))
