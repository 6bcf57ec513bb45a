"""Builds the MCP server: one RunwayService (client or simulator) for the server's lifetime."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from mcp.server.mcpserver import MCPServer
from mcp.types import Tool

import runway_core

from . import tools
from .service import RunwayService
from .settings import Settings

INSTRUCTIONS = """Make and edit images, video and audio with Runway. Generation tools spend credits
(1 credit = $0.01; each description gives the price range, each result Runway's estimate): only call
them when the user asked. Media parameters take a local path, an https URL, a data URI, a
runway:// URI, or an earlier task's id for its output (<task id>#N for output N). Every generation
tool also takes: model, where there is a choice (list_available_models lists them; describe_model
gives one model's fields, limits, cost and an example call), options (more fields of the model, by Runway's camelCase names),
wait_for_completion (default true) and max_wait_seconds (default 45). A task still running when the
wait ends comes back with its task_id: call wait_for_task with it. Never submit the same generation
twice because a wait ran out: the first task is still running. Outputs are saved locally; Runway's
URLs expire after 24-48 hours."""


def compact(schema: Any, inputs: bool = True) -> Any:
    """A JSON schema without what an agent does not need and pays for in every conversation:
    pydantic's titles and `additionalProperties: true` (the default); in input schemas also the
    `null` alternatives and `default: null` of optional parameters (leaving one out means the
    same). Output schemas keep their nulls: results carry them."""
    if isinstance(schema, list):
        return [compact(x, inputs) for x in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: compact(v, inputs) for k, v in schema.items() if k != "title" or not isinstance(v, str)}
    if "properties" in schema:  # names of properties are data, not titles
        out["properties"] = {k: compact(v, inputs) for k, v in schema["properties"].items()}
    alts = out.get("anyOf")
    if inputs and isinstance(alts, list):
        rest = [a for a in alts if a != {"type": "null"}]
        if len(rest) == 1 and len(rest) < len(alts):
            del out["anyOf"]
            out = {**rest[0], **out}
    if inputs and out.get("default", 0) is None:
        del out["default"]
    if out.get("additionalProperties") is True:
        del out["additionalProperties"]
    return out


class RunwayMCP(MCPServer):
    async def list_tools(self) -> list[Tool]:
        tools = await super().list_tools()
        for t in tools:
            t.input_schema = compact(t.input_schema)
            if t.output_schema is not None:
                t.output_schema = compact(t.output_schema, inputs=False)
        return tools


def build(settings: Settings) -> MCPServer:
    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[RunwayService]:
        svc = RunwayService(settings)
        try:
            yield svc
        finally:
            svc.close()

    mcp = RunwayMCP("runway", version=runway_core.__version__, instructions=INSTRUCTIONS, lifespan=lifespan)
    tools.register(mcp)
    return mcp
