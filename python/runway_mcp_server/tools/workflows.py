"""Published workflows: list them, describe one's input nodes (typed, from its graph), run one with
inputs in a simple `{nodeId: value}` form. A run is an invocation Runway bills like a task: it goes
through the budget guard, is journaled, followed with progress and its outputs saved like a task's;
a SUCCEEDED run with failed nodes says which (see `results.node_errors`)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from runway_core import NotFoundError, RunwayError

from .. import budget
from ..pool import svc_of
from ..results import plain
from .common import Result, media_uri


MEDIA = ("image", "video", "audio")


class Node(BaseModel):
    id: str
    name: Optional[str] = None
    kind: str = Field(description="primitive (text or number), image, video or audio")
    key: Optional[str] = None


def nodes(workflow: dict[str, Any]) -> tuple[list[Node], list[Node]]:
    """The workflow's input and output nodes, from its graph."""
    inputs: list[Node] = []
    outputs: list[Node] = []
    for n in (workflow.get("graph") or {}).get("nodes") or []:
        if not isinstance(n, dict) or "id" not in n:
            continue
        kind = str(n.get("kind") or "primitive")
        keys = n.get("outputs") or []
        node = Node(id=str(n["id"]), name=n.get("name"), kind=kind,
                    key=str(keys[0]) if keys else ("value" if kind == "primitive" else "uri"))
        if n.get("type") == "input":
            inputs.append(node)
        elif n.get("type") == "output":
            outputs.append(node.model_copy(update={"key": None}))
    return inputs, outputs


async def _workflow(ctx: Context, workflow_id: str) -> dict[str, Any]:
    try:
        w: dict[str, Any] = await svc_of(ctx).client().api.workflows.retrieve(workflow_id)
        return w
    except NotFoundError:
        raise ToolError(f"workflow_id: no published workflow '{workflow_id}'; list_workflows lists them") from None
    except RunwayError as e:
        raise ToolError(str(e)) from None


class Workflows(BaseModel):
    workflows: list[dict[str, Any]]


async def list_workflows(ctx: Context) -> Annotated[CallToolResult, Workflows]:
    try:
        listed = await svc_of(ctx).client().api.workflows.list()
    except RunwayError as e:
        raise ToolError(str(e)) from None
    rows = [{"name": w.get("name"), "versions": [{"id": v.get("id"), "version": v.get("version")}
                                                 for v in w.get("versions") or []]}
            for w in listed.get("data") or []]
    lines = [f"{r['name']}: " + ", ".join(f"v{v['version']} {v['id']}" for v in r["versions"]) for r in rows]
    return plain(Workflows(workflows=rows), "\n".join(lines) + "\n(describe_workflow <id> for its inputs)"
                 if lines else "No published workflows on this account.")


class Description(BaseModel):
    id: str
    name: Optional[str] = None
    description: Optional[str] = None
    # Node as dicts: its schema would be published with every tools/list.
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]


def _sample(n: Node) -> str:
    return "..." if n.kind == "primitive" else f"/path/to/{n.kind}"


async def describe_workflow(workflow_id: str, ctx: Context) -> Annotated[CallToolResult, Description]:
    w = await _workflow(ctx, workflow_id)
    ins, outs = nodes(w)
    d = Description(id=workflow_id, name=w.get("name"), description=w.get("description"), inputs=[n.model_dump(exclude_none=True) for n in ins],
                    outputs=[n.model_dump(exclude_none=True) for n in outs])
    lines = [f"{d.name} ({workflow_id}): {d.description or ''}".rstrip(": "),
             "Inputs: " + (", ".join(f"{n.id} ({n.kind})" for n in ins) or "none"),
             "Outputs: " + (", ".join(f"{n.id} ({n.kind})" for n in outs) or "none"),
             "Run: run_workflow with inputs {" + ", ".join(f'"{n.id}": "{_sample(n)}"' for n in ins) + "}; "
             "media as a local path, a task id or a URL."]
    return plain(d, "\n".join(lines))


def node_outputs(w: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """Runway's `nodeOutputs` for the simple form `{nodeId: value}`, checked against the workflow's
    input nodes (a value already in Runway's `{key: {type, ...}}` form goes as given). Media values
    stay as given here (see `resolve`)."""
    ins = {n.id: n for n in nodes(w)[0]}
    out: dict[str, Any] = {}
    for node_id, value in inputs.items():
        n = ins.get(node_id)
        if n is None:
            raise ToolError(f"inputs.{node_id}: not an input node of this workflow (input nodes: "
                            f"{', '.join(ins) or 'none'}; describe_workflow says more)")
        if isinstance(value, dict):
            out[node_id] = value
        elif n.kind in MEDIA:
            if not isinstance(value, str) or not value.strip():
                raise ToolError(f"inputs.{node_id}: an {n.kind} node takes a local path, a task id or a URL")
            out[node_id] = {n.key: {"type": n.kind, "uri": value.strip()}}
        elif isinstance(value, (str, int, float, bool)):
            out[node_id] = {n.key: {"type": "primitive", "value": value}}
        else:
            raise ToolError(f"inputs.{node_id}: a {n.kind} node takes text or a number")
    return out


async def resolve(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """Media values as URIs Runway takes (see `media_uri`)."""
    for node_id, values in body.items():
        for v in values.values():
            if isinstance(v, dict) and v.get("type") in MEDIA and isinstance(v.get("uri"), str):
                v["uri"] = await media_uri(ctx, v["uri"], f"inputs.{node_id}")
    return body


async def guard(ctx: Context, workflow_id: str) -> budget.Verdict:
    """The spending guard: a run's price is not known before Runway answers."""
    return await budget.guard(ctx, [budget.Planned(f"workflow {workflow_id}", None)])


async def run_workflow(
    workflow_id: str,
    inputs: Annotated[dict[str, Any], Field(description="{nodeId: value}; media: path, task id or URL")],
    ctx: Context,
    approval: Annotated[budget.Approval, Resolve(guard)],
    wait_for_completion: Optional[bool] = None,
    max_wait_seconds: Optional[float] = None,
    force_new: Optional[bool] = None,
) -> Result:
    w = await _workflow(ctx, workflow_id)
    body = node_outputs(w, inputs)
    await budget.check(ctx, approval, lambda: [budget.Planned(f"workflow {workflow_id}", None)])
    body = await resolve(ctx, body)
    return await svc_of(ctx).run_workflow(ctx, "run_workflow", workflow_id, body, wait_for_completion is not False,
                                          max_wait_seconds, force_new is True)
