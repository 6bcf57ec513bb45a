"""Builds the MCP server: one RunwayService (client or simulator) for the server's lifetime."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from mcp.server.mcpserver import MCPServer

import runway_core

from . import tools
from .service import RunwayService
from .settings import Settings

INSTRUCTIONS = """Make and edit images and video with Runway. Generation tools spend credits (each
description gives the price): only call them when the user asked. A generation waits up to
max_wait_seconds; a task still running then comes back with its task_id: call wait_for_task with it.
Never submit the same generation twice because a wait ran out: the first task is still running.
Output URLs expire after 24-48 hours."""


def build(settings: Settings) -> MCPServer:
    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[RunwayService]:
        svc = RunwayService(settings)
        try:
            yield svc
        finally:
            svc.close()

    mcp = MCPServer("runway", version=runway_core.__version__, instructions=INSTRUCTIONS, lifespan=lifespan)
    tools.register(mcp)
    return mcp
