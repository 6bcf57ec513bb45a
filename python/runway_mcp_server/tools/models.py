"""Free tools over the catalogue: models, one model's description, voices, a call's price."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Optional

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field

import runway_core
from runway_core import RunwayError
from runway_core.spec import Spec

from .. import catalogue as cat
from ..results import plain
from ..pool import svc_of
from .common import closest
from .examples import example
from .generate import CALL_ONLY, assemble, checked, generator, tools_for


class Listing(BaseModel):
    model_config = ConfigDict(extra="allow")
    models: list[dict[str, Any]]


async def list_available_models(
    endpoint: Optional[str] = None,
    output: Optional[Literal["image", "video", "audio"]] = None,
    capability: Annotated[Optional[str], Field(description="A tag, e.g. last_frame")] = None,
) -> Annotated[CallToolResult, Listing]:
    # Recipes and router generation are operations with one fixed model, not models to choose.
    ms = [m for m in cat.all_models() if not m.fixed
          and (endpoint is None or m.endpoint == runway_core.endpoint_name(endpoint))
          and (output is None or m.output == output) and (capability is None or capability in m.tags)]
    rows = [{"model": m.name, "endpoint": m.endpoint, "title": m.title, "output": m.output, "tags": sorted(m.tags),
             "cost": m.cost_text, "tools": tools_for(m)} for m in ms]
    text = "\n".join(f"{r['model']} ({r['endpoint']}; {', '.join(r['tools']) or 'no tool'}): {r['cost']}" for r in rows)
    return plain(Listing(models=rows), text or "No model matches these filters.")


async def describe_model(
    model: str,
    endpoint: Optional[str] = None,
) -> Annotated[CallToolResult, Listing]:
    ms = [m for m in cat.all_models() if m.name == model and (endpoint is None or m.endpoint == runway_core.endpoint_name(endpoint))]
    if not ms:
        near = closest(model, cat.names([m for m in cat.all_models() if not m.fixed]))
        raise ToolError(f"model: '{model}' is not in the catalogue{near}; list_available_models lists them")
    rows: list[dict[str, Any]] = []
    for m in ms:
        fields = {k: {"allowed": s["allowed"], **{x: s[x] for x in ("required", "default", "description") if x in s}}
                  for k, s in m.fields.items()}
        rows.append({"model": m.name, "endpoint": m.endpoint, "title": m.title, "output": m.output,
                     "tags": sorted(m.tags), "fields": fields, "rules": [r["message"] for r in m.rules],
                     "cost": m.cost_text, "notes": m.notes, "tools": tools_for(m), "example": example(m)})
    lines = []
    for r in rows:
        lines.append(f"{r['model']} ({r['title']}, {r['endpoint']} -> {r['output']}); tools: {', '.join(r['tools'])}; cost: {r['cost']}")
        lines += [f"  {k}{'*' if f.get('required') else ''}: {f['allowed']}" for k, f in r["fields"].items()]
        lines += [f"  rule: {x}" for x in r["rules"]]
        if r["example"]:
            ex = r["example"]
            lines.append(f"  example: {ex['tool']} {json.dumps(ex['arguments'])}" + (f" ({ex['note']})" if "note" in ex else ""))
    return plain(Listing(models=rows), "\n".join(lines) + "\n(* required; fields are Runway's names: pass those without a tool parameter in options)")


def _presets(endpoints: tuple[str, ...]) -> list[str]:
    out: list[str] = []

    def walk(spec: Optional[Spec]) -> None:
        if spec is None:
            return
        fields = spec.get("fields", {})
        preset = fields.get("presetId")
        for v in preset.get("values", []) if preset else []:
            if isinstance(v, str) and v not in out:
                out.append(v)
        # Presets sit in nested objects, union options and list items.
        for nested in [*fields.values(), *spec.get("options", []), *([spec["items"]] if "items" in spec else [])]:
            walk(nested)

    for m in cat.all_models():
        if m.endpoint in endpoints:
            walk(m.spec("voice"))
            walk(m.spec("speech"))
    return out


class Voices(BaseModel):
    speech_presets: list[str]
    avatar_presets: list[str]
    custom: list[dict[str, Any]]
    custom_error: Optional[str] = None


async def list_voices(ctx: Context) -> Annotated[CallToolResult, Voices]:
    custom: list[dict[str, Any]] = []
    error = None
    try:
        custom = [{k: v.get(k) for k in ("id", "name", "status", "description")} for v in await svc_of(ctx).client().list_voices()]
    except (RunwayError, ToolError) as e:
        error = str(e)
    speech = _presets(("text_to_speech", "speech_to_speech"))
    live = _presets(("avatar_videos",))
    data = Voices(speech_presets=speech, avatar_presets=live, custom=custom, custom_error=error)
    mine = ", ".join(f"{v['name']} ({v['id']})" for v in custom) or "none"
    text = (f"Speech presets (generate_audio, process_audio): {', '.join(speech)}\n"
            f"Avatar voices (generate_avatar_video): {', '.join(live)}\n"
            f"Custom voices: {mine}" + (f" (could not list them: {error})" if error else ""))
    return plain(data, text)


class Estimate(BaseModel):
    tool: str
    endpoint: str
    model: str
    estimated_credits: Optional[float]
    pricing: str


async def estimate_cost(
    tool: str,
    arguments: dict[str, Any],
) -> Annotated[CallToolResult, Estimate]:
    g = generator(tool)
    checked(g, arguments)
    args = {k: v for k, v in arguments.items() if k not in CALL_ONLY}
    endpoint, m, body, names = assemble(g, cat.select(g.endpoints, g.tag), args)
    try:
        credits = runway_core.estimate_cost(endpoint, body)
    except RunwayError as e:
        raise ToolError(str(e)) from None
    r = Estimate(tool=tool, endpoint=endpoint, model=m.name, estimated_credits=credits, pricing=m.cost_text)
    figure = (f"at most {credits:g} credits (${credits / 100:.2f})" if credits is not None
              else "not known locally (Runway's estimate comes back when the task is created)")
    return plain(r, f"{tool} with {m.name}: {figure}. Pricing: {r.pricing}. Nothing was sent.")
