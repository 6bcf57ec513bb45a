"""What tools return: structured results (with their schemas) plus a short text for people."""

from __future__ import annotations

import base64
import mimetypes
import os
from pathlib import Path
from typing import Any, Optional

from mcp.types import CallToolResult, ImageContent, ResourceLink, TextContent
from pydantic import BaseModel, Field

import runway_core


class OutputFile(BaseModel):
    url: str = Field(description="Runway's output URL (expires after 24-48 h).")
    path: Optional[str] = Field(default=None, description="Where the file was saved on this machine.")
    mime_type: Optional[str] = None
    bytes: Optional[int] = None


class TaskResult(BaseModel):
    """A Runway task as the tools report it."""

    task_id: str = Field(description="Runway task id; use it with wait_for_task, get_task_status, cancel_task.")
    status: str = Field(description=f"SUBMITTED (created, not polled yet), {', '.join(runway_core.TASK_STATES[:-1])} "
                                    f"or {runway_core.TASK_STATES[-1]}.")
    progress: Optional[float] = Field(default=None, description="0..1 while RUNNING.")
    model: Optional[str] = None
    estimated_cost_credits: Optional[float] = Field(default=None, description="Most the task can cost (1 credit = $0.01).")
    cost_credits: Optional[float] = Field(default=None, description="Final charge, once finished.")
    outputs: list[str] = Field(default_factory=list, description="Output URLs (they expire after 24-48 h).")
    failure: Optional[str] = None
    failure_code: Optional[str] = None
    failed_nodes: Optional[dict[str, str]] = Field(default=None, description="A workflow run's failed nodes (node id: why); "
                                                   "a run may succeed with some.")
    created_at: Optional[str] = Field(default=None, description="When Runway created the task (ISO 8601, UTC).")
    files: list[OutputFile] = Field(default_factory=list, description="The outputs saved locally, beside their URLs.")
    download_error: Optional[str] = Field(default=None, description="Why saving the outputs failed, if it did (the URLs still work for a while).")
    next_step: str = Field(description="What to do next.")
    simulated: bool = Field(False, description="True when the server runs against its built-in simulator: no credits were spent.")
    reattached: bool = Field(default=False, description="True when an identical request's task was still running and this call returned it instead of paying again.")


def failure_advice(code: Optional[str]) -> str:
    c = code or ""
    if c.startswith("SAFETY") or c == "INPUT_PREPROCESSING.SAFETY.TEXT":
        return "Content moderation rejected it: retrying the same input will fail again; change the prompt or media."
    if c.startswith("ASSET"):
        return "An input asset was unusable (size, duration or format): check it and try again."
    if c.startswith("INTERNAL") or c == "INPUT_PREPROCESSING.INTERNAL":
        return "Runway failed internally: a retry may succeed."
    return "See the failure message; fix the input before retrying."


def task_result(task: runway_core.Task, *, model: Optional[str], simulated: bool, estimated: Optional[float] = None,
                waited: Optional[float] = None, status: Optional[str] = None, reattached: bool = False) -> TaskResult:
    st = status or task.status or "SUBMITTED"
    if st == "SUCCEEDED":
        step = ("Done. The outputs are saved at the paths listed. To use one as the input of another tool, pass its "
                f"path or the task id '{task.id}' (or '{task.id}#N' for output N).")
    elif st in ("FAILED", "CANCELLED"):
        step = failure_advice(task.failure_code) if st == "FAILED" else "The task was cancelled; nothing more will come of it."
    elif st == "SUBMITTED":
        step = (f"Submitted. Call wait_for_task with task_id '{task.id}' to wait for the result, or "
                "get_task_status to check on it.")
    else:
        pct = f" at {task.progress * 100:.0f}%" if task.progress is not None else ""
        after = f" after {waited:.0f} s" if waited is not None else ""
        step = (f"Still {st}{pct}{after}. Call wait_for_task with task_id '{task.id}' to keep waiting, or "
                "get_task_status to check. The task keeps running (and is billed) unless you call cancel_task.")
    if reattached:
        step = ("An identical request's task was still running, so this call returned it: no new task, no new "
                f"charge. To pay for a new one anyway, call again with force_new=true. {step}")
    return TaskResult(
        failed_nodes=node_errors(task),
        reattached=reattached,
        task_id=task.id,
        status=st,
        progress=task.progress,
        model=model,
        estimated_cost_credits=task.estimated_cost if task.estimated_cost is not None else estimated,
        cost_credits=task.cost,
        outputs=list(task.output),
        failure=task.failure,
        failure_code=task.failure_code,
        created_at=task.created_at,
        next_step=step,
        simulated=simulated,
    )


def node_errors(task: runway_core.Task) -> Optional[dict[str, str]]:
    """A workflow invocation's failed nodes, node id: "failureCode: message" (Runway's nodeErrors)."""
    errors = task.raw.get("nodeErrors") if task.kind == "workflow_invocation" and isinstance(task.raw, dict) else None
    if not isinstance(errors, dict) or not errors:
        return None
    out: dict[str, str] = {}
    for node, e in errors.items():
        e = e if isinstance(e, dict) else {"message": str(e)}
        code = f"{e['failureCode']}: " if e.get("failureCode") else ""
        out[str(node)] = f"{code}{e.get('message') or 'failed'}"
    return out


def summary(r: TaskResult) -> str:
    head = "[SIMULATED: no credits spent] " if r.simulated else ""
    model = f" ({r.model})" if r.model else ""
    line = f"{head}Task {r.task_id}{model}: {r.status}"
    if r.status == "SUCCEEDED":
        cost = f", cost {r.cost_credits:g} credits" if r.cost_credits is not None else ""
        if r.files:
            line += f"{cost}. Saved:\n" + "\n".join(f"- {f.path} ({f.mime_type}, {f.bytes} bytes)" for f in r.files)
        else:
            line += f"{cost}. Outputs:\n" + "\n".join(f"- {u}" for u in r.outputs)
        if r.download_error:
            line += f"\nSaving failed: {r.download_error}"
        if r.failed_nodes:
            line += (f"\nBut {len(r.failed_nodes)} node(s) failed, so their outputs are missing:\n"
                     + "\n".join(f"- {n}: {why}" for n, why in r.failed_nodes.items()))
    elif r.status == "FAILED":
        line += f": {r.failure or 'no reason given'}" + (f" (failureCode {r.failure_code})" if r.failure_code else "")
        line += "".join(f"\n- node {n}: {why}" for n, why in (r.failed_nodes or {}).items())
    elif r.estimated_cost_credits is not None and r.status not in ("CANCELLED",):
        line += f", at most {r.estimated_cost_credits:g} credits"
    return f"{line}\n{r.next_step}"


def output_uri(task_id: str, index: int, url: str) -> str:
    """The runway:// resource of a task's output; its name keeps the file's extension (for its type)."""
    ext = os.path.splitext(url.split("?")[0])[1] or ".bin"
    return f"runway://task/{task_id}/output/{index}{ext}"


def to_call_result(r: TaskResult, is_error: bool = False, inline_image_max: int = 1_000_000,
                   output_links: bool = False) -> CallToolResult:
    content: list[Any] = [TextContent(type="text", text=summary(r))]
    if output_links:
        for i, url in enumerate(r.outputs):
            uri = output_uri(r.task_id, i, url)
            content.append(ResourceLink(type="resource_link", name=uri.rsplit("/", 1)[1], uri=uri,
                                        mime_type=mimetypes.guess_type(uri)[0]))
    for f in r.files:
        if not f.path:
            continue
        content.append(ResourceLink(type="resource_link", name=os.path.basename(f.path), uri=Path(f.path).as_uri(),
                                    mime_type=f.mime_type, size=f.bytes))
        if (f.mime_type or "").startswith("image/") and f.mime_type != "image/svg+xml" and (f.bytes or 0) <= inline_image_max:
            with open(f.path, "rb") as fh:
                content.append(ImageContent(type="image", data=base64.b64encode(fh.read()).decode(), mime_type=f.mime_type or "image/png"))
    return CallToolResult(content=content, structured_content=r.model_dump(), is_error=is_error)


def plain(data: BaseModel, text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data.model_dump())


