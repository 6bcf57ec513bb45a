"""What every tool module shares: the published task result shape and the tool annotations."""

from __future__ import annotations

from typing import Annotated

from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, ConfigDict


# The published result shape, kept lean (every tools/list carries it); results hold more.
class TaskRef(BaseModel):
    model_config = ConfigDict(extra="allow", title="Task")
    task_id: str
    status: str


Result = Annotated[CallToolResult, TaskRef]
TaskId = str


# How each tool family behaves, for clients (the MCP tool annotations).
PAID = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
# Reads a task, and saves a finished task's outputs on this machine: not read-only.
FETCH = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
LOCAL = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
CANCEL = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)
UPLOAD = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
# Changes what this session's tools/list gives, nothing else.
SESSION = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
