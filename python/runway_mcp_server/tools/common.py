"""What every tool module shares: the published task result shape, the tool annotations, and how
a refusal words a known set."""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Sequence

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, ConfigDict

from runway_core import RunwayError

from ..pool import svc_of


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
# Makes or changes a free object at Runway (a router, a document): nothing spent, nothing lost.
EDIT = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)


# Refusals of a value from a known set name the set. A long one shows its first few values and
# the tool that lists it whole, by the parameter it is for.
LISTERS = {"voice": "list_voices", "model": "list_available_models"}
SHOWN = 8


def one_of(values: Sequence[Any], param: str) -> str:
    """`one of: a, b, c` for a refusal: every value, or for a long set that a tool lists, the first
    few and that tool."""
    words = [str(v) for v in values]
    lister = LISTERS.get(param)
    if lister is None or len(words) <= SHOWN + 2:
        return "one of: " + ", ".join(words)
    return f"one of: {', '.join(words[:SHOWN])}, ... ({len(words)} in all: {lister} lists them)"


def closest(value: Any, values: Sequence[Any]) -> str:
    """` (closest: x)` when some of `values` are near `value` as text, else ``."""
    near = difflib.get_close_matches(str(value), [str(v) for v in values], n=2, cutoff=0.6)
    return f" (closest: {', '.join(near)})" if near else ""


TASK_REF = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(#\d+)?$")


async def media_uri(ctx: Context, value: str, where: str) -> str:
    """A media input as a URI Runway takes, for the fields the core leaves as they are (a workflow's
    nodeOutputs, a voice's sample): a task id (`<id>#N` for output N) becomes that output's URL, a
    local file an upload (its runway:// URI, the input folders enforced); URLs go as given. An error
    names `where`."""
    v = value.strip()
    if v.lower().startswith(("https://", "http://", "data:", "runway://")):
        return v
    client = svc_of(ctx).client()
    try:
        if TASK_REF.match(v):
            task_id, _, n = v.partition("#")
            task = await client.get_task(task_id)
            index = int(n or 0)
            if task.status != "SUCCEEDED" or index >= len(task.output):
                raise ToolError(f"{where}: task {task_id} has no output {index} ({task.status})")
            return task.output[index]
        return await client.upload(v[7:] if v.startswith("file://") else v)
    except RunwayError as e:
        raise ToolError(f"{where}: {e}") from None


# Changes what this session's tools/list gives, nothing else.
SESSION = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
