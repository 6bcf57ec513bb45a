"""`runway://task/<id>/output/<N>` resources: an output fetched fresh from Runway; and
`runway://task/<id>`: the task's state, the resource a client subscribes to to follow it."""

from __future__ import annotations

import os
import shutil
import tempfile

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from runway_core import RunwayError

from .. import streaming
from ..pool import svc_of


RESOURCE_MAX_BYTES = 100 << 20


async def task_output(task_id: str, name: str, ctx: Context) -> bytes:
    """Output N of a task (`runway://task/<id>/output/<N>.<ext>`), fetched now from Runway with a
    fresh link, for clients on another machine. Only the key that made the task can read it."""
    client = svc_of(ctx).client()
    try:
        index = int(name.split(".", 1)[0])
        task = await client.get_task(task_id)
    except ValueError:
        raise ResourceError(f"{name}: not an output number") from None
    except RunwayError as e:
        raise ResourceError(f"task {task_id}: {e}") from None
    if task.status != "SUCCEEDED" or not 0 <= index < len(task.output):
        raise ResourceError(f"task {task_id} has no output {index} (status {task.status})")
    d = tempfile.mkdtemp(prefix="runway-mcp-resource-")
    try:
        dest = os.path.join(d, name)
        try:
            info = await client.download(task.output[index], dest)
        except RunwayError as e:
            raise ResourceError(f"task {task_id} output {index}: {e}") from None
        if (info.get("bytes") or 0) > RESOURCE_MAX_BYTES:
            raise ResourceError(f"task {task_id} output {index} is over {RESOURCE_MAX_BYTES >> 20} MiB: "
                                f"fetch its URL instead: {task.output[index]}")
        # Over HTTP the edge sends the file from disk (and deletes it); elsewhere it is read here.
        placeholder = streaming.defer(dest, cleanup=d)
        if placeholder is not None:
            d = ""
            return placeholder
        with open(dest, "rb") as f:
            return f.read()
    finally:
        if d:
            shutil.rmtree(d, ignore_errors=True)


async def task_state(task_id: str, ctx: Context) -> str:
    """A task's state now, as JSON (the tools' result: status, progress, outputs, cost, failure).
    Subscribing to this URI (resources/subscribe, or subscriptions/listen on 2026-07-28) brings a
    notifications/resources/updated each time the task changes. Only the key that made it reads it."""
    svc = svc_of(ctx)
    try:
        task = await svc.client().get_task(task_id)
    except RunwayError as e:
        raise ResourceError(f"task {task_id}: {e}") from None
    return (await svc.result(task)).model_dump_json(exclude_none=True)


def register_resources(mcp: MCPServer) -> None:
    mcp.resource("runway://task/{task_id}", name="task", mime_type="application/json",
                 description="A task's state (JSON); subscribe to it to hear when it changes.")(task_state)
    mcp.resource("runway://task/{task_id}/output/{name}", name="task_output",
                 description="A task's output file, fetched fresh from Runway.")(task_output)
