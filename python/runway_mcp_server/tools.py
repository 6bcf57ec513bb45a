"""The MCP tools. Generation tools are rows of one table (`GENERATORS`): a name, the endpoints and
capability tag that pick their models from the catalogue, and the parameters mapped to Runway's
fields; their input schemas (types, enums, ranges, defaults) and prices are derived from the
catalogue. A model-specific field no parameter covers goes in `options`, checked by the core.
0.1.0's tool and parameter names are kept."""

from __future__ import annotations

import inspect
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Annotated, Any, Callable, Literal, Optional

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

import runway_core
from runway_core import NotFoundError, RunwayError

from . import batch, budget, deletion, streaming
from . import catalog as cat
from .results import plain
from .service import RunwayService, name_params, svc_of

VIDEO_EXT = (".mp4", ".mov", ".webm", ".mkv", ".m4v")


# The published result shape, kept lean (every tools/list carries it); results hold more.
class TaskRef(BaseModel):
    model_config = ConfigDict(extra="allow", title="Task")
    task_id: str
    status: str


Result = Annotated[CallToolResult, TaskRef]
TaskId = str


def _svc(ctx: Context) -> RunwayService:
    return svc_of(ctx)


# ---- the table ----

@dataclass(frozen=True)
class P:
    """A tool parameter. `fields`: the Runway fields it fills (the first one the model has).
    Without `fields` a builder uses it. `annotation` overrides the type derived from the data."""

    name: str
    fields: tuple[str, ...] = ()
    desc: str = ""
    required: bool = False
    media: bool = False
    annotation: Any = None
    default: Any = None


@dataclass(frozen=True)
class Gen:
    name: str
    what: str
    endpoints: tuple[str, ...]
    params: tuple[P, ...]
    tag: Optional[str] = None
    default_model: Optional[str] = None
    # Per-endpoint defaults of a tool over several endpoints (else the endpoint's first model).
    defaults: tuple[tuple[str, str], ...] = ()
    # A parameter choosing the endpoint: (name, {value: endpoint}).
    selector: Optional[tuple[str, dict[str, str]]] = None
    build: Optional[Callable[[dict[str, Any], dict[str, Any], cat.Model], None]] = None


def _mode(body: dict[str, Any], m: cat.Model, mode: str) -> None:
    spec = m.spec("mode")
    if spec and mode in spec.get("values", []):
        body.setdefault("mode", mode)


def _guide_image(body: dict[str, Any], m: cat.Model, uri: str, param: str) -> None:
    if m.has("keyframes"):
        body["keyframes"] = [{"uri": uri, "at": 0}]
    elif m.has("references"):
        body["references"] = [{"uri": uri}]
    else:
        raise ToolError(f"{param}: model {m.name} takes no guide image")


def _typed(uri: str, kinds: tuple[str, str]) -> dict[str, str]:
    """A `{type, uri}` media object; the second kind when the input names a video file."""
    return {"type": kinds[1] if uri.lower().split("?")[0].endswith(VIDEO_EXT) else kinds[0], "uri": uri}


def _voice(spec: Optional[cat.Spec], voice: str, param: str = "voice") -> dict[str, Any]:
    """The voice object a model's spec takes for `voice`: a preset id, a custom voice id, or
    reference audio, whichever option of the spec fits."""
    if spec is None:
        raise ToolError(f"{param}: this model takes no voice")
    options = spec["options"] if spec.get("type") == "any_of" else [spec]
    for o in options:
        f = o.get("fields", {})
        kind = f.get("type", {}).get("values", [None])[0]
        if "presetId" in f and voice in f["presetId"].get("values", []):
            return {"type": kind, "presetId": voice}
    for o in options:
        f = o.get("fields", {})
        kind = f.get("type", {}).get("values", [None])[0]
        if "id" in f:
            return {"type": kind, "id": voice}
        if "audioUri" in f:
            return {"type": kind, "audioUri": voice}
    presets = [v for o in options for v in o.get("fields", {}).get("presetId", {}).get("values", [])]
    raise ToolError(f"{param}: '{voice}' is not a preset voice of this model; one of: {', '.join(presets)} (list_voices)")


def first_last(body: dict[str, Any], a: dict[str, Any], m: cat.Model) -> None:
    body["promptImage"] = [{"uri": a["first_frame"], "position": "first"}, {"uri": a["last_frame"], "position": "last"}]


def edit(body: dict[str, Any], a: dict[str, Any], m: cat.Model) -> None:
    if a.get("reference_image") and a.get("keyframes"):
        raise ToolError("reference_image: give either reference_image or keyframes, not both")
    if a.get("reference_image"):
        _guide_image(body, m, a["reference_image"], "reference_image")
    _mode(body, m, "edit")


def restyle(body: dict[str, Any], a: dict[str, Any], m: cat.Model) -> None:
    style, image = a.get("style_prompt"), a.get("style_image")
    if not style and not image:
        raise ToolError("style_prompt, style_image: give a style prompt, a style image, or both")
    body["promptText"] = (f"Restyle the whole video: {style}" if style
                          else "Restyle the whole video in the style of the guide image.")
    if image:
        _guide_image(body, m, image, "style_image")
    _mode(body, m, "edit")


def extend(body: dict[str, Any], a: dict[str, Any], m: cat.Model) -> None:
    body.setdefault("promptText", "Continue the scene naturally, keeping the same subject, style and camera.")
    _mode(body, m, "extend")


def upscale(body: dict[str, Any], a: dict[str, Any], m: cat.Model) -> None:
    if m.has("resolution"):
        body.setdefault("resolution", "4k")


def audio(body: dict[str, Any], a: dict[str, Any], m: cat.Model) -> None:
    if a.get("voice"):
        body["voice"] = _voice(m.spec("voice"), a["voice"])
    if m.has("media"):  # speech_to_speech takes {type: audio|video, uri}
        body["media"] = _typed(a["input_audio"], ("audio", "video"))
    elif m.has("audioUri"):
        body["audioUri"] = a["input_audio"]


def character(body: dict[str, Any], a: dict[str, Any], m: cat.Model) -> None:
    body["character"] = _typed(a["character"], ("image", "video"))
    body["reference"] = {"type": "video", "uri": a["reference_video"]}


def avatar(body: dict[str, Any], a: dict[str, Any], m: cat.Model) -> None:
    text, speech_audio = a.get("speech_text"), a.get("speech_audio")
    if bool(text) == bool(speech_audio):
        raise ToolError("speech_text, speech_audio: give exactly one of them")
    spec = m.spec("avatar") or {}
    options = spec.get("options", [spec])
    presets = [v for o in options for v in o.get("fields", {}).get("presetId", {}).get("values", [])]
    body["avatar"] = ({"type": "runway-preset", "presetId": a["avatar"]} if a["avatar"] in presets
                      else {"type": "custom", "avatarId": a["avatar"]})
    if speech_audio:
        body["speech"] = {"type": "audio", "audio": speech_audio}
    else:
        body["speech"] = {"type": "text", "text": text}
        if a.get("voice"):
            speech = (m.spec("speech") or {}).get("options", [])
            text_opt: dict[str, Any] = next((o for o in speech if "text" in o.get("fields", {})), {})
            body["speech"]["voice"] = _voice(text_opt.get("fields", {}).get("voice"), a["voice"])


PROMPT = P("prompt_text", ("promptText",), required=True)
PROMPT_OPT = P("prompt_text", ("promptText",))
RATIO = P("ratio", ("ratio",))
DURATION = P("duration", ("duration",))
SEED = P("seed", ("seed",), annotation=int)
VIDEO_IN = P("input_video", ("videoUri", "promptVideo"), required=True, media=True)

GENERATORS: tuple[Gen, ...] = (
    Gen("generate_image_gen4", "Make images from a prompt and reference images.", ("text_to_image",),
        (PROMPT, RATIO,
         P("reference_images", ("referenceImages",), "[{uri, tag?}]; use @tag in the prompt.",
           annotation=Optional[list[dict[str, Any]]]),
         P("output_count", ("outputCount",)), SEED),
        default_model="gen4_image"),
    Gen("generate_video_text_to_video", "Make a video from a prompt.", ("text_to_video",),
        (PROMPT, RATIO, DURATION, P("audio", ("audio",), "Make sound"),
         P("negative_prompt", ("negativePrompt",)), SEED),
        default_model="veo3.1"),
    Gen("generate_video_image_to_video", "Make a video from a first frame.", ("image_to_video",),
        (P("prompt_image", ("promptImage",), "The first frame.", required=True, media=True), PROMPT_OPT, RATIO,
         DURATION, SEED),
        default_model="gen4_turbo"),
    Gen("generate_video_first_last_frame", "Make a video from a first to a last frame.", ("image_to_video",),
        (P("first_frame", (), required=True, media=True),
         P("last_frame", (), required=True, media=True), PROMPT_OPT, RATIO, DURATION, SEED),
        tag="last_frame", default_model="veo3.1", build=first_last),
    Gen("edit_video_with_aleph", "Edit a video by prompt and guide images.", ("video_to_video",),
        (VIDEO_IN, P("prompt_text", ("promptText",)),
         P("keyframes", ("keyframes",), "[{uri, seconds|at}] (aleph2)",
           annotation=Optional[list[dict[str, Any]]]),
         P("reference_image", (), "Guide image.", media=True),
         P("target_aspect_ratio", ("targetAspectRatio",), "Reframe."), RATIO, SEED),
        tag="edit", default_model="aleph2", build=edit),
    Gen("restyle_video", "Restyle a video by prompt and/or image.", ("video_to_video",),
        (VIDEO_IN, P("style_prompt", ()),
         P("style_image", (), "Style reference.", media=True), SEED),
        tag="restyle", default_model="aleph2", build=restyle),
    Gen("extend_video", "Continue a video with new footage.", ("video_to_video",),
        (VIDEO_IN, P("prompt_text", ("promptText",)),
         P("extension_duration", ("duration",), "New seconds."), SEED),
        tag="extend", default_model="seedance2_5", build=extend),
    Gen("upscale_video_4k", "Upscale a video (default 4K) or its frame rate.", ("video_upscale",),
        (VIDEO_IN, P("resolution", ("resolution",), "Default 4k.")),
        default_model="magnific_video_upscaler_creative", build=upscale),
    Gen("generate_audio", "Make speech from text, or sound effects.",
        ("text_to_speech", "sound_effect"),
        (P("prompt_text", ("promptText",), "Speech, or the sound.", required=True),
         P("kind", (), "Default speech.", annotation=Optional[cat.literal(["speech", "sound_effect"])]),
         P("voice", (), "See list_voices."), P("duration", ("duration",))),
        selector=("kind", {"speech": "text_to_speech", "sound_effect": "sound_effect"}), build=audio,
        defaults=(("text_to_speech", "eleven_multilingual_v2"), ("sound_effect", "eleven_text_to_sound_v2"))),
    Gen("process_audio", "Change, dub or isolate a voice.",
        ("speech_to_speech", "voice_dubbing", "voice_isolation"),
        (P("input_audio", (), "Audio (or video for change_voice).", required=True, media=True),
         P("operation", (), required=True,
           annotation=cat.literal(["change_voice", "dub", "isolate_voice"])),
         P("voice", (), "For change_voice (list_voices)."),
         P("target_language", ("targetLang",), "For dub.")),
        selector=("operation", {"change_voice": "speech_to_speech", "dub": "voice_dubbing",
                                "isolate_voice": "voice_isolation"}), build=audio),
    Gen("animate_character", "Animate a character with a performance video.",
        ("character_performance",),
        (P("character", (), "Image or video; face in frame.", required=True, media=True),
         P("reference_video", (), "The performance.", required=True, media=True), RATIO,
         P("body_control", ("bodyControl",)),
         P("expression_intensity", ("expressionIntensity",))),
        build=character),
    Gen("upscale_image", "Upscale an image.", ("image_upscale",),
        (P("input_image", ("imageUri",), required=True, media=True),
         P("scale_factor", ("scaleFactor",)))),
    Gen("add_audio_to_video", "Make sound effects for a video.", ("video_to_audio",),
        (VIDEO_IN, P("duration", ("duration",), "Seconds of audio.", required=True),
         P("prompt_text", ("promptText",)))),
    Gen("convert_video_to_hdr", "Convert an SDR video to HDR.", ("video_to_hdr",),
        (VIDEO_IN, P("output_format", ("outputFormat",)))),
    Gen("generate_avatar_video", "Make a talking-avatar video.", ("avatar_videos",),
        (P("avatar", (), "Preset or custom avatar id.", required=True),
         P("speech_text", ()),
         P("speech_audio", (), media=True),
         P("voice", (), "See list_voices.")),
        build=avatar),
)


# ---- running a generation ----

def _pick(g: Gen, models: list[cat.Model], a: dict[str, Any]) -> tuple[str, cat.Model]:
    name = a.get("model")
    endpoint: Optional[str] = None
    if g.selector and a.get(g.selector[0]) is not None:
        endpoint = g.selector[1][a[g.selector[0]]]
    elif name:
        endpoint = next((m.endpoint for m in models if m.name == name), None)
    endpoint = endpoint or g.endpoints[0]
    if not name:
        first = next((m for m in models if m.endpoint == endpoint), None)
        default = dict(g.defaults).get(endpoint, g.default_model)
        name = default if default and cat.find(default, (endpoint,)) else (first.name if first else "")
    m = next((m for m in models if m.endpoint == endpoint and m.name == name), None)
    if m is None:
        offered = ", ".join(cat.names([x for x in models if x.endpoint == endpoint]))
        raise ToolError(f"model: '{name}' is not offered by {g.name} for {endpoint} (one of: {offered})")
    return endpoint, m


def assemble(g: Gen, models: list[cat.Model], a: dict[str, Any]) -> tuple[str, cat.Model, dict[str, Any], dict[str, str]]:
    """The Runway request a call of `g` with arguments `a` makes: (endpoint, model, body, and which
    tool parameter filled each Runway field)."""
    a = dict(a)
    options: dict[str, Any] = a.pop("options", None) or {}
    endpoint, m = _pick(g, models, a)
    body: dict[str, Any] = {"model": m.name}
    names: dict[str, str] = {}
    for p in g.params:
        value = a.get(p.name)
        if value is None or not p.fields:
            continue
        f = next((f for f in p.fields if m.has(f)), p.fields[0])
        body[f] = value
        names[f] = p.name
    if g.build:
        g.build(body, a, m)
    for k, v in options.items():
        if k in body:
            raise ToolError(f"options.{k}: already set by the tool's parameters; give it once")
        body[k] = v
    return endpoint, m, cat.fill_required(m, body), names


CALL_ONLY = ("wait_for_completion", "max_wait_seconds", "force_new", "approval")


def planned(g: Gen, models: list[cat.Model], a: dict[str, Any]) -> list[budget.Planned]:
    """The task a call would create, priced locally; none when its input is wrong (the call then
    fails on that before anything is sent)."""
    try:
        endpoint, m, body, _ = assemble(g, models, {k: v for k, v in a.items() if k not in CALL_ONLY})
        return [budget.Planned(f"{g.name} with {m.name}", runway_core.estimate_cost(endpoint, body))]
    except (ToolError, RunwayError):
        return []


async def reattaches(g: Gen, models: list[cat.Model], ctx: Context, a: dict[str, Any]) -> bool:
    """Whether the call would reattach to an identical request's running task (and spend nothing)."""
    if a.get("force_new") is True:
        return False
    try:
        endpoint, _, body, _ = assemble(g, models, {k: v for k, v in a.items() if k not in CALL_ONLY})
        return await _svc(ctx).in_flight(endpoint, body)
    except (ToolError, RunwayError):  # a wrong input: the question, then the create reports it
        return False


async def doubt(g: Gen, models: list[cat.Model], ctx: Context, a: dict[str, Any]) -> Optional[str]:
    """Why the call might pay twice: an identical earlier request may have made a task (see budget)."""
    if a.get("force_new") is True:
        return None
    try:
        endpoint, _, body, _ = assemble(g, models, {k: v for k, v in a.items() if k not in CALL_ONLY})
        return await _svc(ctx).may_have_created(endpoint, body)
    except (ToolError, RunwayError):  # a wrong input: the create reports it
        return None


def budget_resolver(g: Gen, models: list[cat.Model], names: list[str]) -> Callable[..., Any]:
    """The spending guard for `g`, run by the SDK before the tool body with the call's arguments."""

    async def resolve(ctx: Context, **a: Any) -> budget.Verdict:
        return await budget.guard(ctx, planned(g, models, a), lambda: reattaches(g, models, ctx, a),
                                  lambda: doubt(g, models, ctx, a))

    kw_only = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("ctx", kw_only, annotation=Context)]
    params += [inspect.Parameter(n, kw_only) for n in names]
    setattr(resolve, "__signature__", inspect.Signature(params, return_annotation=budget.Verdict))
    resolve.__annotations__ = {"ctx": Context, "return": budget.Verdict}
    # The wire key of the question (it must be the same on every server process).
    resolve.__qualname__ = f"budget.{g.name}"
    return resolve


async def run(g: Gen, models: list[cat.Model], ctx: Context, a: dict[str, Any]) -> CallToolResult:
    approval = a.pop("approval")
    await budget.check(ctx, approval, lambda: planned(g, models, a), lambda: doubt(g, models, ctx, a))
    wait = a.pop("wait_for_completion", None) is not False
    max_wait = a.pop("max_wait_seconds", None)
    force_new = a.pop("force_new", None) is True or budget.pay_again(approval)
    endpoint, _, body, names = assemble(g, models, a)
    return await _svc(ctx).submit(ctx, g.name, endpoint, body, wait, max_wait, names, force_new,
                                  budget.reattach_only(approval))


def _annotation(p: P, models: list[cat.Model]) -> tuple[Any, str]:
    if p.annotation is not None:
        return p.annotation, p.desc
    if p.media or not p.fields:
        return str, p.desc
    s = cat.shape(models, p.fields)
    desc = p.desc or s.hint
    extra = Field(description=desc, **s.limits) if desc else Field(**s.limits)
    return Annotated[s.annotation, extra], ""


# Above this many models, the schema names the count instead of listing them: 25 names cost an
# agent ~450 bytes in every conversation, and list_available_models says more than names.
MAX_MODEL_ENUM = 4


def _model_annotation(g: Gen, offered: list[str]) -> Any:
    if len(offered) <= MAX_MODEL_ENUM:
        return Optional[cat.literal(offered)]
    return Optional[str]


def offers_choice(g: Gen, models: list[cat.Model]) -> bool:
    """Whether some endpoint of the tool has more than one model."""
    return any(sum(m.endpoint == ep for m in models) > 1 for ep in g.endpoints)


def make_tool(g: Gen) -> Callable[..., Any]:
    models = cat.select(g.endpoints, g.tag)
    if not models:
        raise RuntimeError(f"{g.name}: no model in the catalogue for {g.endpoints} {g.tag or ''}")

    async def tool(ctx: Context, **kw: Any) -> CallToolResult:
        return await run(g, models, ctx, kw)

    kw_only = inspect.Parameter.KEYWORD_ONLY
    params = []
    for p in sorted(g.params, key=lambda p: not p.required):
        ann, desc = _annotation(p, models)
        if desc:
            ann = Annotated[ann, Field(description=desc)]
        if p.required:
            params.append(inspect.Parameter(p.name, kw_only, annotation=ann))
        else:
            params.append(inspect.Parameter(p.name, kw_only, default=p.default, annotation=Optional[ann]))
    offered = cat.names(models)
    default = g.default_model if g.default_model in offered else None
    # The parameters every generation tool shares are explained once, in the server instructions.
    # A model parameter only where there is a choice: it appears when the data adds a second model.
    if offers_choice(g, models):
        params.append(inspect.Parameter("model", kw_only, default=default, annotation=_model_annotation(g, offered)))
    params += [
        inspect.Parameter("options", kw_only, default=None, annotation=Optional[dict[str, Any]]),
        # None means true (the instructions say so): a bare boolean schema is shorter.
        inspect.Parameter("wait_for_completion", kw_only, default=None, annotation=Optional[bool]),
        inspect.Parameter("force_new", kw_only, default=None, annotation=Optional[bool]),
        # Clamped to [0, RUNWAY_MCP_MAX_WAIT limit] by the service.
        inspect.Parameter("max_wait_seconds", kw_only, default=None, annotation=Optional[float]),
        inspect.Parameter("ctx", kw_only, annotation=Context),
    ]
    # Filled by the budget guard (the SDK leaves it out of the input schema), never by the model.
    guard = budget_resolver(g, models, [p.name for p in params if p.name != "ctx"])
    params.append(inspect.Parameter("approval", kw_only, annotation=Annotated[budget.Approval, Resolve(guard)]))
    setattr(tool, "__signature__", inspect.Signature(params, return_annotation=Result))
    tool.__annotations__ = {p.name: p.annotation for p in params} | {"return": Result}
    tool.__name__ = tool.__qualname__ = g.name
    return tool


def tools_for(m: cat.Model) -> list[str]:
    return [g.name for g in GENERATORS if m.endpoint in g.endpoints and (g.tag is None or g.tag in m.tags)]


# ---- the other tools ----

async def get_task_status(task_id: TaskId, ctx: Context) -> Result:
    svc = _svc(ctx)
    try:
        task = await svc.client().get_task(task_id)
    except RunwayError as e:
        raise ToolError(str(e)) from None
    return await svc.finished(task) if task.status == "SUCCEEDED" else svc.respond(await svc.result(task))


async def wait_for_task(task_id: TaskId, ctx: Context, max_wait_seconds: Optional[float] = None) -> Result:
    return await _svc(ctx).wait(ctx, task_id, max_wait_seconds)


class UploadResult(BaseModel):
    uri: str
    path: str


async def upload_file(
    path: Annotated[str, Field(description=f"Local media file, up to {runway_core.UPLOAD_MAX_BYTES >> 20} MiB.")],
    ctx: Context,
) -> Annotated[CallToolResult, UploadResult]:
    try:
        uri = await _svc(ctx).client().upload(os.path.expanduser(path))
    except RunwayError as e:
        raise ToolError(str(e)) from None
    r = UploadResult(uri=uri, path=path)
    return plain(r, f"Uploaded {path}: {uri} (usable as a media input for 24 hours). Tools also take the path itself.")


class CancelResult(BaseModel):
    task_id: str
    action: str = Field(description="cancelled, deleted (it had finished; outputs gone) or already_gone.")
    previous_status: Optional[str] = None
    message: str


async def cancel_task(task_id: TaskId, ctx: Context,
                      answer: Annotated[deletion.Answer, Resolve(deletion.ask)]) -> Annotated[CallToolResult, CancelResult]:
    client = _svc(ctx).client()
    try:
        task: Optional[runway_core.Task] = await client.get_task(task_id)
    except NotFoundError:
        task = None
    except RunwayError as e:
        raise ToolError(str(e)) from None
    # Finished since the question was (or was not) put: deleting it needs the user's yes.
    if task is not None and task.is_terminal and not deletion.confirmed(answer):
        if not deletion.asked(answer):
            raise ToolError(f"Not deleted, nothing changed: task {task_id} finished ({task.status}) before it could be "
                            "cancelled. Call again to delete it; the user will be asked.")
        raise ToolError(f"Not deleted, nothing changed: the user declined deleting task {task_id} ({task.status}).")
    try:
        done = await client.cancel_task(task_id)
    except RunwayError as e:
        raise ToolError(str(e)) from None
    before = task.status if task is not None else None
    if not done or task is None:
        r = CancelResult(task_id=task_id, action="already_gone", message=f"Task {task_id} was already cancelled or deleted (or never existed).")
    elif task.is_terminal:
        r = CancelResult(task_id=task_id, action="deleted", previous_status=before,
                         message=f"Task {task_id} had finished ({before}); it is deleted and its outputs at Runway are gone.")
    else:
        note = " Runway may still charge for work already done." if before == "RUNNING" else ""
        r = CancelResult(task_id=task_id, action="cancelled", previous_status=before, message=f"Task {task_id} was {before} and is cancelled.{note}")
    return plain(r, r.message)


class Listing(BaseModel):
    model_config = ConfigDict(extra="allow")
    models: list[dict[str, Any]]


async def list_available_models(
    endpoint: Optional[str] = None,
    output: Optional[Literal["image", "video", "audio"]] = None,
    capability: Annotated[Optional[str], Field(description="A tag, e.g. last_frame")] = None,
) -> Annotated[CallToolResult, Listing]:
    ms = [m for m in cat.all_models()
          if (endpoint is None or m.endpoint == endpoint.strip("/").removeprefix("v1/"))
          and (output is None or m.output == output) and (capability is None or capability in m.tags)]
    rows = [{"model": m.name, "endpoint": m.endpoint, "title": m.title, "output": m.output, "tags": sorted(m.tags),
             "cost": cat.cost_text(m), "tools": tools_for(m)} for m in ms]
    text = "\n".join(f"{r['model']} ({r['endpoint']}; {', '.join(r['tools']) or 'no tool'}): {r['cost']}" for r in rows)
    return plain(Listing(models=rows), text or "No model matches these filters.")


def _example(m: cat.Model) -> dict[str, Any]:
    """A call that reaches the model: its first tool with the required parameters filled."""
    tool = next((g for g in GENERATORS if g.name in tools_for(m)), None)
    if tool is None:
        return {}
    args: dict[str, Any] = {}
    samples = {"image": "/path/to/image.png", "video": "/path/to/video.mp4", "audio": "/path/to/audio.mp3"}
    for p in tool.params:
        if not p.required:
            continue
        if p.media:
            kind = "video" if "video" in p.name else "audio" if "audio" in p.name else "image"
            args[p.name] = samples[kind]
        elif p.annotation is not None and hasattr(p.annotation, "__args__"):
            args[p.name] = p.annotation.__args__[0]
        else:
            spec = next((m.spec(f) for f in p.fields if m.has(f)), None) or {}
            args[p.name] = spec.get("values", ["..."])[0] if spec.get("type") == "enum" else (5 if spec.get("type") in ("int", "number") else "...")
    if tool.selector:
        args[tool.selector[0]] = next(k for k, v in tool.selector[1].items() if v == m.endpoint)
    args["model"] = m.name
    covered = {f for p in tool.params for f in p.fields} | {"model"}
    extra = {k: cat.allowed(s) for k, s in m.fields.items() if s.get("required") and k not in covered
             and not (tool.build and k in ("promptImage", "character", "reference", "media", "audioUri", "avatar", "speech", "voice"))}
    if extra:
        args["options"] = extra
    return {"tool": tool.name, "arguments": args}


async def describe_model(
    model: str,
    endpoint: Optional[str] = None,
) -> Annotated[CallToolResult, Listing]:
    ms = [m for m in cat.all_models() if m.name == model and (endpoint is None or m.endpoint == endpoint)]
    if not ms:
        raise ToolError(f"model: '{model}' is not in the catalogue; list_available_models lists them")
    rows: list[dict[str, Any]] = []
    for m in ms:
        fields = {k: {"allowed": cat.allowed(s), **{x: s[x] for x in ("required", "default", "description") if x in s}}
                  for k, s in m.fields.items()}
        rows.append({"model": m.name, "endpoint": m.endpoint, "title": m.title, "output": m.output,
                     "tags": sorted(m.tags), "fields": fields, "rules": [r["message"] for r in m.rules],
                     "cost": cat.cost_text(m), "notes": m.notes, "tools": tools_for(m), "example": _example(m)})
    lines = []
    for r in rows:
        lines.append(f"{r['model']} ({r['title']}, {r['endpoint']} -> {r['output']}); tools: {', '.join(r['tools'])}; cost: {r['cost']}")
        lines += [f"  {k}{'*' if f.get('required') else ''}: {f['allowed']}" for k, f in r["fields"].items()]
        lines += [f"  rule: {x}" for x in r["rules"]]
    return plain(Listing(models=rows), "\n".join(lines) + "\n(* required; fields are Runway's names: pass those without a tool parameter in options)")


def _presets(endpoints: tuple[str, ...]) -> list[str]:
    out: list[str] = []

    def walk(spec: Any) -> None:
        if isinstance(spec, dict):
            if "presetId" in spec.get("fields", {}):
                for v in spec["fields"]["presetId"].get("values", []):
                    if v not in out:
                        out.append(v)
            for v in spec.values():
                walk(v)
        elif isinstance(spec, list):
            for v in spec:
                walk(v)

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
        custom = [{k: v.get(k) for k in ("id", "name", "status", "description")} for v in await _svc(ctx).client().list_voices()]
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


class Tasks(BaseModel):
    tasks: list[dict[str, Any]]


def _since_ms(since: Optional[str]) -> Optional[int]:
    if not since:
        return None
    try:
        when = datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ToolError(f"since: '{since}' is not an ISO 8601 date or time, e.g. 2026-11-30 or 2026-11-30T09:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp() * 1000)


async def list_tasks(
    ctx: Context,
    status: Annotated[Optional[str], Field(description="e.g. running")] = None,
    tool: Optional[str] = None,
    model: Optional[str] = None,
    since: Annotated[Optional[str], Field(description="ISO date/time")] = None,
    text: Annotated[Optional[str], Field(description="In the prompt")] = None,
    limit: Optional[int] = None,
) -> Annotated[CallToolResult, Tasks]:
    client = _svc(ctx).client()
    if not client.has_journal:
        raise ToolError("the task journal is off (RUNWAY_MCP_JOURNAL=off); tasks are not remembered")
    try:
        rows = await client.list_tasks(status=status, tool=tool, model=model, since_ms=_since_ms(since), text=text,
                                       limit=limit)
    except RunwayError as e:
        raise ToolError(str(e)) from None
    keep = ("task_id", "status", "tool", "model", "prompt", "estimated_cost", "cost", "files", "failure", "note",
            "created_at", "finished_at")
    out = [{k: r.get(k) for k in keep} for r in rows]
    for r in out:
        r["files"] = [f.get("path") for f in r["files"] or [] if f.get("path")]
        if r["prompt"] and len(r["prompt"]) > 120:
            r["prompt"] = r["prompt"][:117] + "..."
    lines = [f"{r['created_at']} {r['task_id'] or '(no id: ' + (r['note'] or '') + ')'} {r['status'] or 'SUBMITTED'} "
             f"{r['tool']} {r['model']} cost {r['cost'] if r['cost'] is not None else r['estimated_cost']}"
             + (f" -> {', '.join(r['files'])}" if r["files"] else "") for r in out]
    return plain(Tasks(tasks=out), "\n".join(lines) or "No task matches.")


class Estimate(BaseModel):
    tool: str
    endpoint: str
    model: str
    estimated_credits: Optional[float]
    pricing: str


SHARED = ("model", "options", "wait_for_completion", "max_wait_seconds", "force_new")


def generator(tool: str) -> Gen:
    g = next((g for g in GENERATORS if g.name == tool), None)
    if g is None:
        raise ToolError(f"tool: '{tool}' is not a generation tool; one of: {', '.join(x.name for x in GENERATORS)}")
    return g


def checked_args(g: Gen, arguments: dict[str, Any]) -> None:
    unknown = sorted(set(arguments) - {p.name for p in g.params} - set(SHARED))
    if unknown:
        raise ToolError(f"arguments: {', '.join(unknown)} not parameters of {g.name} (a model's other fields go in options)")


async def estimate_cost(
    tool: str,
    arguments: dict[str, Any],
) -> Annotated[CallToolResult, Estimate]:
    g = generator(tool)
    checked_args(g, arguments)
    args = {k: v for k, v in arguments.items() if k not in SHARED[2:]}
    endpoint, m, body, names = assemble(g, cat.select(g.endpoints, g.tag), args)
    try:
        credits = runway_core.estimate_cost(endpoint, body)
    except RunwayError as e:
        raise ToolError(str(e)) from None
    r = Estimate(tool=tool, endpoint=endpoint, model=m.name, estimated_credits=credits, pricing=cat.cost_text(m))
    figure = (f"at most {credits:g} credits (${credits / 100:.2f})" if credits is not None
              else "not known locally (Runway's estimate comes back when the task is created)")
    return plain(r, f"{tool} with {m.name}: {figure}. Pricing: {r.pricing}. Nothing was sent.")


def batch_item(i: int, item: Any) -> batch.Item:
    """One item of a batch as the request it makes, checked and priced here; or why it is not sent."""
    tool = str(item.get("tool")) if isinstance(item, dict) else "?"
    try:
        if not isinstance(item, dict) or set(item) - {"tool", "arguments"} or not isinstance(item.get("arguments", {}), dict):
            raise ToolError("each item is {tool, arguments}")
        g = generator(tool)
        args = dict(item.get("arguments") or {})
        checked_args(g, args)
        if set(args) & {"wait_for_completion", "max_wait_seconds"}:
            raise ToolError("wait_for_completion and max_wait_seconds are set for the whole batch")
        force_new = args.pop("force_new", None) is True
        endpoint, m, body, names = assemble(g, cat.select(g.endpoints, g.tag), args)
        try:
            credits = runway_core.estimate_cost(endpoint, body)  # also checks the body: nothing is sent
        except RunwayError as e:
            raise ToolError(name_params(str(e), names)) from None
        return batch.Item(i, tool, endpoint, m.name, body, names, force_new, credits)
    except ToolError as e:
        return batch.Item(i, tool, error=str(e))


def batch_planned(items: list[batch.Item]) -> list[budget.Planned]:
    return [budget.Planned(f"#{it.index} {it.tool} with {it.model}", it.credits) for it in items if not it.error]


async def batch_doubts(ctx: Context, items: list[batch.Item]) -> dict[int, str]:
    """The items that might pay twice (see `doubt`), by index."""
    out = {}
    for it in items:
        if it.error or it.force_new:
            continue
        try:
            why = await _svc(ctx).may_have_created(it.endpoint, it.body)
        except (ToolError, RunwayError):
            why = None
        if why:
            out[it.index] = why
    return out


def _doubt_of(ctx: Context, items: list[batch.Item]) -> budget.Doubt:
    async def why() -> Optional[str]:
        return "; ".join(f"#{i}: {d}" for i, d in (await batch_doubts(ctx, items)).items()) or None
    return why


async def batch_guard(ctx: Context, items: list[dict[str, Any]]) -> budget.Verdict:
    prepared = [batch_item(i, x) for i, x in enumerate(items)]
    return await budget.guard(ctx, batch_planned(prepared), doubt=_doubt_of(ctx, prepared))


class Batch(BaseModel):
    items: list[dict[str, Any]]


async def batch_generate_videos(
    items: Annotated[list[dict[str, Any]], Field(description="[{tool, arguments}]")],
    ctx: Context,
    approval: Annotated[budget.Approval, Resolve(batch_guard)],
    wait_for_completion: Optional[bool] = None,
    max_wait_seconds: Optional[float] = None,
) -> Annotated[CallToolResult, Batch]:
    if not 0 < len(items) <= batch.MAX_ITEMS:
        raise ToolError(f"items: give 1 to {batch.MAX_ITEMS} {{tool, arguments}}, not {len(items)}")
    prepared = [batch_item(i, x) for i, x in enumerate(items)]
    await budget.check(ctx, approval, lambda: batch_planned(prepared), _doubt_of(ctx, prepared))
    if budget.pay_again(approval):
        again = await batch_doubts(ctx, prepared)
        prepared = [replace(it, force_new=True) if it.index in again else it for it in prepared]
    svc = _svc(ctx)
    entries = await batch.run(svc, ctx, prepared, wait_for_completion is not False, max_wait_seconds)
    head = "[SIMULATED: no credits spent] " if svc.simulated else ""
    failed = all(e["status"] in ("NOT_SENT", "FAILED") for e in entries)
    return CallToolResult(content=[TextContent(type="text", text=head + batch.summary(entries))],
                          structured_content=Batch(items=entries).model_dump(), is_error=failed)


class Credits(BaseModel):
    credit_balance: Optional[float] = None
    max_monthly_credit_spend: Optional[float] = None
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # From the journal (final cost, else Runway's estimate), UTC days; None without a journal.
    spent_today: Optional[float] = None
    spent_last_7_days: Optional[float] = None


async def get_credits(ctx: Context) -> Annotated[CallToolResult, Credits]:
    try:
        org = await _svc(ctx).client().organization()
    except RunwayError as e:
        raise ToolError(str(e)) from None
    tier = org.get("tier") or {}
    used = (org.get("usage") or {}).get("models") or {}
    limits = {name: {**lim, "used_today": (used.get(name) or {}).get("dailyGenerations", 0)}
              for name, lim in (tier.get("models") or {}).items()}
    r = Credits(credit_balance=org.get("creditBalance"), max_monthly_credit_spend=tier.get("maxMonthlyCreditSpend"),
                models=limits)
    client = _svc(ctx).client()
    if client.has_journal:
        midnight = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        r.spent_today = await client.spent_since(int(midnight.timestamp() * 1000))
        r.spent_last_7_days = await client.spent_since(int(midnight.timestamp() * 1000) - 6 * 86_400_000)
    busy = ", ".join(f"{k} {v['used_today']}/{v.get('maxDailyGenerations') or '-'}" for k, v in limits.items() if v["used_today"])
    spent = (f" Spent by this server's tasks: {r.spent_today:g} today, {r.spent_last_7_days:g} in the last 7 days."
             if r.spent_today is not None else "")
    return plain(r, f"Balance: {r.credit_balance} credits (${(r.credit_balance or 0) / 100:.2f}). "
                    f"Used today (generations/daily limit): {busy or 'nothing'}.{spent}")


class ApiInfo(BaseModel):
    server_version: str
    runway_api_version: str
    base_url: str
    simulated: bool
    api_key_set: bool
    max_wait_seconds: float
    # None over HTTP: the server's folders are no caller's business.
    output_dir: Optional[str] = None
    input_dirs: Optional[list[str]] = None
    models: int


async def get_api_info(ctx: Context) -> Annotated[CallToolResult, ApiInfo]:
    svc = _svc(ctx)
    info = ApiInfo(server_version=runway_core.__version__, runway_api_version=runway_core.API_VERSION, base_url=svc.base_url,
                   simulated=svc.simulated, api_key_set=svc.key_is_set(), max_wait_seconds=svc.settings.max_wait,
                   models=len(runway_core.models()))
    if not svc.settings.remote:
        info.output_dir = svc.settings.output_dir
        info.input_dirs = list(svc.settings.input_dirs) if svc.settings.input_dirs is not None else None
    mode = "SIMULATOR (no credits are spent)" if info.simulated else "live Runway API"
    key = "set" if info.api_key_set else "NOT set: set RUNWAYML_API_SECRET, or run with --simulate"
    saves = f"saves outputs in {info.output_dir}" if info.output_dir else "outputs are runway:// resources"
    return plain(info, f"runway-mcp-server {info.server_version} on the {mode} at {info.base_url}; API key {key}; "
                       f"waits up to {info.max_wait_seconds:g} s; {saves}.")


PAID = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
# Reads a task, and saves a finished task's outputs on this machine: not read-only.
FETCH = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
LOCAL = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
CANCEL = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)
UPLOAD = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)


RESOURCE_MAX_BYTES = 100 << 20


async def task_output(task_id: str, name: str, ctx: Context) -> bytes:
    """Output N of a task (`runway://task/<id>/output/<N>.<ext>`), fetched now from Runway with a
    fresh link, for clients on another machine. Only the key that made the task can read it."""
    client = _svc(ctx).client()
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


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the server registers it: `server.build()` makes it an SDK tool (its schemas from
    the function's signature)."""

    fn: Callable[..., Any]
    name: str
    description: str
    annotations: ToolAnnotations


def specs() -> list[ToolSpec]:
    """Every tool, in the order tools/list gives them."""
    out = [ToolSpec(make_tool(g), g.name, f"{g.what} {cat.cost_summary(cat.select(g.endpoints, g.tag))}", PAID)
           for g in GENERATORS]
    for fn, description, annotations in (
        (batch_generate_videos, "Several generations at once.", PAID),
        (get_task_status, "Task status, cost, outputs (saved locally).", FETCH),
        (wait_for_task, "Wait longer for a task.", FETCH),
        (cancel_task, "Cancel a running task; delete a finished one (asks the user).", CANCEL),
        (upload_file, "runway:// URI (24 h) for a local file; tools take paths too.", UPLOAD),
        (list_available_models, "Models: tools, tags, costs. Free.", LOCAL),
        (describe_model, "A model's fields, limits, rules, cost, example. Free.", LOCAL),
        (list_voices, "Preset and custom voices. Free.", READ),
        (list_tasks, "Tasks started here: status, cost, files. Free.", LOCAL),
        (estimate_cost, "Price a generation call. Sends nothing.", LOCAL),
        (get_credits, "Credits left; per-model limits, use today.", READ),
        (get_api_info, "Server version, settings. Free.", LOCAL),
    ):
        out.append(ToolSpec(fn, fn.__name__, description, annotations))
    return out


def register_resources(mcp: MCPServer) -> None:
    mcp.resource("runway://task/{task_id}/output/{name}", name="task_output",
                 description="A task's output file, fetched fresh from Runway.")(task_output)
