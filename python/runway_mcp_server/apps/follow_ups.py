"""One-click follow-ups on a task's output: what each one runs, priced before it runs.

A follow-up is one more generation call: either a generation tool's call on the output (its row
picks the model from the catalogue, and `generate.assemble` makes the request as for the model's
own call), or the journaled request again (a variation with a new seed; the retry of a failed
task). Either way it is created by the same `RunwayService.create` (journal, reattach, never paying
twice) behind the same budget guard."""

from __future__ import annotations

import mimetypes
import random
from dataclasses import dataclass, field
from typing import Any, Optional

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

import runway_core
from runway_core import RunwayError

from .. import budget, catalogue as cat
from ..pool import svc_of
from ..tools.generate import assemble, generator

# action -> the kind of output it takes -> the generation tool that does it. Kinds and tools not
# here have no such follow-up (audio has no upscale; the catalogue has HDR only for video).
BY_TOOL: dict[str, dict[str, str]] = {
    "upscale": {"video": "upscale_video_4k", "image": "upscale_image"},
    "extend": {"video": "extend_video"},
    "restyle": {"video": "restyle_video", "image": "generate_image_gen4"},
    "add_sound": {"video": "add_audio_to_video"},
    "hdr": {"video": "convert_video_to_hdr"},
}
# The journaled request again: a variation (new seed), a retry (a failed task, as it was).
AGAIN = ("variation", "retry")
ACTIONS = (*BY_TOOL, *AGAIN)
# The follow-ups that take the prompt (restyle needs it).
PROMPTED = ("restyle", "extend", "add_sound")


@dataclass(frozen=True)
class Plan:
    action: str
    tool: str
    endpoint: str
    body: dict[str, Any]
    model: str
    what: str
    credits: Optional[float]
    # Runway field -> the tool parameter that filled it (for errors), as the generation tools give.
    names: dict[str, str] = field(default_factory=dict)
    force_new: bool = False

    @property
    def planned(self) -> budget.Planned:
        return budget.Planned(f"{self.tool} with {self.model}", self.credits)


def kind_of(mime: Optional[str], url: Optional[str], model_output: Optional[str]) -> str:
    """image, video, audio or other: from the saved file's type, else the URL's extension, else
    what the catalogue says the model makes."""
    mime = mime or (mimetypes.guess_type((url or "").split("?")[0])[0] if url else None)
    top = (mime or "").split("/", 1)[0]
    if top in ("image", "video", "audio"):
        return top
    return model_output if model_output in ("image", "video", "audio") else "other"


def model_output(endpoint: Optional[str], model: Optional[str]) -> Optional[str]:
    m = cat.find(model or "", (endpoint or "",)) if endpoint else None
    if m is None and endpoint:  # a fixed model (recipe) or a model not named
        m = next((x for x in cat.all_models() if x.endpoint == endpoint), None)
    return str(m.output) if m is not None else None


def available(kind: str, status: Optional[str], row: Optional[dict[str, Any]]) -> list[str]:
    """The follow-ups a task can have: on a succeeded output, those for its kind, and a variation
    when the request is journaled; a retry for a failed journaled task."""
    again = row is not None and row.get("endpoint") in _ENDPOINTS
    if status == "FAILED":
        return ["retry"] if again else []
    if status != "SUCCEEDED":
        return []
    out = [a for a, kinds in BY_TOOL.items() if kind in kinds]
    return out + (["variation"] if again else [])


_ENDPOINTS = frozenset(e["name"] for e in cat.data()["endpoints"])


def _ratio(row: Optional[dict[str, Any]]) -> Optional[str]:
    r = ((row or {}).get("params") or {}).get("ratio")
    return r if isinstance(r, str) else None


def _tool_args(action: str, tool: str, ref: str, prompt: Optional[str], row: Optional[dict[str, Any]]) -> dict[str, Any]:
    g = generator(tool)
    media = next(p.name for p in g.params if p.media and p.required) if tool != "generate_image_gen4" else None
    a: dict[str, Any] = {media: ref} if media else {}
    if action == "restyle":
        if not prompt:
            raise ToolError("restyle: give the new style as prompt")
        if media is None:  # an image: the output as a reference, the prompt naming it
            a = {"prompt_text": f"@source {prompt}", "reference_images": [{"uri": ref, "tag": "source"}]}
            if _ratio(row):
                a["ratio"] = _ratio(row)
        else:
            a["style_prompt"] = prompt
    elif action == "extend" and prompt:
        a["prompt_text"] = prompt
    elif action == "add_sound":
        seconds = ((row or {}).get("params") or {}).get("duration")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
            raise ToolError("add_sound: the source video's length is not in the journal, so the sound's length "
                            "is unknown; call add_audio_to_video with a duration instead")
        a["duration"] = seconds
        if prompt:
            a["prompt_text"] = prompt
    return a


async def plan(ctx: Context, task_id: str, action: str, prompt: Optional[str] = None, index: int = 0) -> Plan:
    """What `action` on output `index` of `task_id` would run, priced. ToolError when it cannot."""
    if action not in ACTIONS:
        raise ToolError(f"action: '{action}' is not one of {', '.join(ACTIONS)}")
    client = svc_of(ctx).client()
    try:
        task = await client.get_task(task_id)
        row = await client.journal_entry(task_id) if client.has_journal else None
    except RunwayError as e:
        raise ToolError(str(e)) from None
    if action in AGAIN:
        return _again(action, task, row)
    if task.status != "SUCCEEDED" or not 0 <= index < len(task.output):
        raise ToolError(f"{action}: task {task_id} has no output {index} ({task.status})")
    files = await svc_of(ctx).saved_files(task_id) or []
    mime = files[index].mime_type if index < len(files) else None
    kind = kind_of(mime, task.output[index], model_output((row or {}).get("endpoint"), (row or {}).get("model")))
    tool = BY_TOOL[action].get(kind)
    if tool is None:
        raise ToolError(f"{action}: not offered for {kind} outputs (it is for {', '.join(BY_TOOL[action])})")
    g = generator(tool)
    ref = f"{task_id}#{index}"
    endpoint, m, body, names = assemble(g, cat.select(g.endpoints, g.tag), _tool_args(action, tool, ref, prompt, row))
    used = prompt if prompt and action in PROMPTED else None
    what = f"{tool} ({m.name}) on output {index} of task {task_id}" + (f": {used}" if used else "")
    return Plan(action, tool, endpoint, body, m.name, what, runway_core.estimate_cost(endpoint, body), names)


def _again(action: str, task: runway_core.Task, row: Optional[dict[str, Any]]) -> Plan:
    if row is None or row.get("endpoint") not in _ENDPOINTS:
        raise ToolError(f"{action}: task {task.id}'s request is not in this server's journal, so it cannot be "
                        "made again from here")
    if action == "retry" and task.status != "FAILED":
        raise ToolError(f"retry: task {task.id} did not fail ({task.status}); retry is for failed tasks")
    if action == "variation" and task.status != "SUCCEEDED":
        raise ToolError(f"variation: task {task.id} has not succeeded ({task.status})")
    endpoint, model = str(row["endpoint"]), str(row.get("model") or "")
    body = dict(row.get("params") or {})
    force_new = False
    if action == "variation":
        m = cat.find(model, (endpoint,))
        seed = m.spec("seed") if m is not None else None
        if seed is not None:
            body["seed"] = random.randint(int(seed.get("min", 0)), int(seed.get("max", 2**31 - 1)))
        else:  # the model takes no seed: the same request, made anew (its outputs vary by themselves)
            force_new = True
    what = f"{row['tool']} ({model}) again" + (f" with seed {body['seed']}" if "seed" in body and action == "variation" else "")
    return Plan(action, str(row["tool"]), endpoint, body, model, what, runway_core.estimate_cost(endpoint, body),
                force_new=force_new)
