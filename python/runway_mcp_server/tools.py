"""The MCP tools. Each declares its parameters (allowed values come from the catalogue), builds a
Runway request body, and hands it to the service. 0.1.0's tool and parameter names are kept."""

from __future__ import annotations

import os
from typing import Annotated, Any, Optional

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

import runway_core
from runway_core import NotFoundError, RunwayError

from . import catalog as cat
from .results import TaskResult, plain
from .service import RunwayService

# Models per tool, read from the catalogue once.
IMAGE = cat.models("text_to_image")
T2V = cat.models("text_to_video")
I2V = cat.models("image_to_video")
FIRST_LAST = cat.models("image_to_video", lambda m: "last" in str(m["fields"]["promptImage"]))
ALEPH = cat.models("video_to_video", lambda m: "keyframes" in m["fields"])
EXTEND = cat.models("video_to_video", lambda m: "extend" in str(m["fields"].get("mode", {})))
UPSCALE = cat.models("video_upscale")

Wait = Annotated[bool, Field(description="Wait for the result (at most max_wait_seconds). If false, return the task id at once.")]
MaxWait = Annotated[Optional[float], Field(ge=0, le=3600, description="Longest wait in seconds (default: the server's RUNWAY_MCP_MAX_WAIT, 45). A task still running then is returned with its id, not lost.")]
Seed = Annotated[Optional[int], Field(ge=0, le=4294967295, description="Random seed, for repeatable results.")]
TaskId = Annotated[str, Field(description="A Runway task id (UUID) from an earlier call.")]
MEDIA = ("a local file path (absolute or ~), an https URL, a data URI, a runway:// upload URI, or an earlier "
         "task's id for its output (<task id>#N for output N)")


def _svc(ctx: Context) -> RunwayService:
    svc: RunwayService = ctx.request_context.lifespan_context
    return svc


def _body(models: list[dict[str, Any]], model: str, body: dict[str, Any]) -> dict[str, Any]:
    return cat.fill_required(cat.find(models, model), {"model": model, **body})


Result = Annotated[CallToolResult, TaskResult]


async def generate_image_gen4(
    prompt_text: Annotated[str, Field(description="What to draw (at most 1000 characters for Gen-4). Refer to a reference image as @tag.")],
    ctx: Context,
    model: Annotated[cat.literal(cat.names(IMAGE)), Field(description="Image model.")] = "gen4_image",
    ratio: Annotated[Optional[cat.literal(cat.enum_values(IMAGE, "ratio"))], Field(description="Width:height. " + cat.describe_field(IMAGE, "ratio"))] = None,
    reference_images: Annotated[Optional[list[dict[str, str]]], Field(description=f"Up to 3 reference images as {{uri, tag}}; uri is {MEDIA}; tag (3-16 letters, digits, _; starts with a letter) names it in the prompt as @tag. gen4_image_turbo needs 1-3.")] = None,
    seed: Seed = None,
    wait_for_completion: Wait = True,
    max_wait_seconds: MaxWait = None,
) -> Result:
    body = _body(IMAGE, model, {"promptText": prompt_text, "ratio": ratio, "referenceImages": reference_images, "seed": seed})
    return await _svc(ctx).submit(ctx, "generate_image_gen4", "text_to_image", body, wait_for_completion, max_wait_seconds)


async def generate_video_text_to_video(
    prompt_text: Annotated[str, Field(description="What the video shows (at most 1000 characters).")],
    ctx: Context,
    model: Annotated[cat.literal(cat.names(T2V)), Field(description="Video model.")] = "veo3.1",
    ratio: Annotated[Optional[cat.literal(cat.enum_values(T2V, "ratio"))], Field(description="Width:height. " + cat.describe_field(T2V, "ratio"))] = None,
    duration: Annotated[Optional[int], Field(ge=2, le=10, description="Seconds. " + cat.describe_field(T2V, "duration"))] = None,
    audio: Annotated[Optional[bool], Field(description="Veo only: generate sound (default true; costs more).")] = None,
    negative_prompt: Annotated[Optional[str], Field(description="Veo only: what to avoid.")] = None,
    seed: Seed = None,
    wait_for_completion: Wait = True,
    max_wait_seconds: MaxWait = None,
) -> Result:
    body = _body(T2V, model, {"promptText": prompt_text, "ratio": ratio, "duration": duration, "audio": audio,
                              "negativePrompt": negative_prompt, "seed": seed})
    return await _svc(ctx).submit(ctx, "generate_video_text_to_video", "text_to_video", body, wait_for_completion, max_wait_seconds)


async def generate_video_image_to_video(
    prompt_image: Annotated[str, Field(description=f"The first frame: {MEDIA}.")],
    ctx: Context,
    prompt_text: Annotated[Optional[str], Field(description="What happens in the video (at most 1000 characters; required for gen4.5).")] = None,
    model: Annotated[cat.literal(cat.names(I2V)), Field(description="Video model.")] = "gen4_turbo",
    ratio: Annotated[Optional[cat.literal(cat.enum_values(I2V, "ratio"))], Field(description="Width:height. " + cat.describe_field(I2V, "ratio"))] = None,
    duration: Annotated[Optional[int], Field(ge=2, le=10, description="Seconds. " + cat.describe_field(I2V, "duration"))] = None,
    seed: Seed = None,
    wait_for_completion: Wait = True,
    max_wait_seconds: MaxWait = None,
) -> Result:
    body = _body(I2V, model, {"promptImage": prompt_image, "promptText": prompt_text, "ratio": ratio, "duration": duration, "seed": seed})
    return await _svc(ctx).submit(ctx, "generate_video_image_to_video", "image_to_video", body, wait_for_completion, max_wait_seconds)


async def generate_video_first_last_frame(
    first_frame: Annotated[str, Field(description=f"The first frame: {MEDIA}.")],
    last_frame: Annotated[str, Field(description=f"The last frame: {MEDIA}.")],
    ctx: Context,
    prompt_text: Annotated[Optional[str], Field(description="What happens between the frames (at most 1000 characters).")] = None,
    model: Annotated[cat.literal(cat.names(FIRST_LAST)), Field(description="A model that takes first and last frames.")] = "veo3.1",
    ratio: Annotated[Optional[cat.literal(cat.enum_values(FIRST_LAST, "ratio"))], Field(description="Width:height.")] = None,
    duration: Annotated[Optional[cat.literal(cat.enum_values(FIRST_LAST, "duration"))], Field(description="Seconds (default 8).")] = None,
    seed: Seed = None,
    wait_for_completion: Wait = True,
    max_wait_seconds: MaxWait = None,
) -> Result:
    frames = [{"uri": first_frame, "position": "first"}, {"uri": last_frame, "position": "last"}]
    body = _body(FIRST_LAST, model, {"promptImage": frames, "promptText": prompt_text, "ratio": ratio, "duration": duration, "seed": seed})
    return await _svc(ctx).submit(ctx, "generate_video_first_last_frame", "image_to_video", body, wait_for_completion, max_wait_seconds)


async def edit_video_with_aleph(
    input_video: Annotated[str, Field(description=f"The video to edit: {MEDIA}.")],
    ctx: Context,
    prompt_text: Annotated[Optional[str], Field(description="The edit to make (at most 1000 characters).")] = None,
    model: Annotated[cat.literal(cat.names(ALEPH)), Field(description="Video editing model.")] = "aleph2",
    keyframes: Annotated[Optional[list[dict[str, Any]]], Field(description=f"Up to 5 guide images, each {{uri, seconds}} or {{uri, at}} (at: 0..1 of the video); uri is {MEDIA}.")] = None,
    reference_image: Annotated[Optional[str], Field(description=f"A guide image for the look of the edit ({MEDIA}); sent as a keyframe at the start. Do not combine with keyframes.")] = None,
    target_aspect_ratio: Annotated[Optional[cat.literal(cat.enum_values(ALEPH, "targetAspectRatio"))], Field(description="Reframe to this aspect ratio (outpainting).")] = None,
    ratio: Annotated[Optional[str], Field(description="Output size as width:height.")] = None,
    seed: Seed = None,
    wait_for_completion: Wait = True,
    max_wait_seconds: MaxWait = None,
) -> Result:
    if reference_image and keyframes:
        raise ToolError("reference_image: give either reference_image or keyframes, not both")
    frames = [{"uri": reference_image, "at": 0}] if reference_image else keyframes
    body = _body(ALEPH, model, {"videoUri": input_video, "promptText": prompt_text, "keyframes": frames,
                                "targetAspectRatio": target_aspect_ratio, "ratio": ratio, "seed": seed})
    return await _svc(ctx).submit(ctx, "edit_video_with_aleph", "video_to_video", body, wait_for_completion, max_wait_seconds)


async def restyle_video(
    input_video: Annotated[str, Field(description=f"The video to restyle: {MEDIA}.")],
    ctx: Context,
    style_prompt: Annotated[Optional[str], Field(description="The style, e.g. 'hand-drawn watercolor animation'.")] = None,
    style_image: Annotated[Optional[str], Field(description=f"An image in the target style ({MEDIA}).")] = None,
    seed: Seed = None,
    wait_for_completion: Wait = True,
    max_wait_seconds: MaxWait = None,
) -> Result:
    if not style_prompt and not style_image:
        raise ToolError("style_prompt, style_image: give a style prompt, a style image, or both")
    prompt = f"Restyle the whole video: {style_prompt}" if style_prompt else "Restyle the whole video in the style of the keyframe image."
    frames = [{"uri": style_image, "at": 0}] if style_image else None
    body = _body(ALEPH, "aleph2", {"videoUri": input_video, "promptText": prompt, "keyframes": frames, "seed": seed})
    return await _svc(ctx).submit(ctx, "restyle_video", "video_to_video", body, wait_for_completion, max_wait_seconds)


async def extend_video(
    input_video: Annotated[str, Field(description=f"The video to continue: {MEDIA}.")],
    ctx: Context,
    prompt_text: Annotated[Optional[str], Field(description="What happens next. Default: continue the scene naturally.")] = None,
    extension_duration: Annotated[Optional[int], Field(ge=4, le=30, description="Seconds of new footage (default 5).")] = None,
    model: Annotated[cat.literal(cat.names(EXTEND)), Field(description="Video extension model.")] = "seedance2_5",
    seed: Seed = None,
    wait_for_completion: Wait = True,
    max_wait_seconds: MaxWait = None,
) -> Result:
    prompt = prompt_text or "Continue the scene naturally, keeping the same subject, style and camera."
    body = _body(EXTEND, model, {"promptVideo": input_video, "mode": "extend", "promptText": prompt,
                                 "duration": extension_duration, "seed": seed})
    return await _svc(ctx).submit(ctx, "extend_video", "video_to_video", body, wait_for_completion, max_wait_seconds)


async def upscale_video_4k(
    input_video: Annotated[str, Field(description=f"The video to upscale: {MEDIA}.")],
    ctx: Context,
    model: Annotated[cat.literal(cat.names(UPSCALE)), Field(description="Upscaler.")] = "magnific_video_upscaler_creative",
    resolution: Annotated[cat.literal(cat.enum_values(UPSCALE, "resolution")), Field(description="Target resolution.")] = "4k",
    wait_for_completion: Wait = True,
    max_wait_seconds: MaxWait = None,
) -> Result:
    body = _body(UPSCALE, model, {"videoUri": input_video, "resolution": resolution})
    return await _svc(ctx).submit(ctx, "upscale_video_4k", "video_upscale", body, wait_for_completion, max_wait_seconds)


async def get_task_status(task_id: TaskId, ctx: Context) -> Result:
    svc = _svc(ctx)
    try:
        task = await svc.client().get_task(task_id)
    except RunwayError as e:
        raise ToolError(str(e)) from None
    return await svc.finished(task) if task.status == "SUCCEEDED" else svc.respond(svc.result(task))


async def wait_for_task(task_id: TaskId, ctx: Context, max_wait_seconds: MaxWait = None) -> Result:
    return await _svc(ctx).wait(ctx, task_id, max_wait_seconds)


class UploadResult(BaseModel):
    uri: str = Field(description="A runway:// URI usable as any media input for 24 hours.")
    path: str


async def upload_file(
    path: Annotated[str, Field(description="A local image, video or audio file (absolute or ~ path), up to 200 MB.")],
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
    action: str = Field(description="cancelled (it was still queued or running), deleted (it had finished; its outputs are gone) or already_gone.")
    previous_status: Optional[str] = None
    message: str


async def cancel_task(task_id: TaskId, ctx: Context) -> Annotated[CallToolResult, CancelResult]:
    client = _svc(ctx).client()
    try:
        before = (await client.get_task(task_id)).status
    except NotFoundError:
        before = None
    except RunwayError as e:
        raise ToolError(str(e)) from None
    try:
        done = await client.cancel_task(task_id)
    except RunwayError as e:
        raise ToolError(str(e)) from None
    if not done or before is None:
        r = CancelResult(task_id=task_id, action="already_gone", message=f"Task {task_id} was already cancelled or deleted (or never existed).")
    elif before in ("SUCCEEDED", "FAILED", "CANCELLED"):
        r = CancelResult(task_id=task_id, action="deleted", previous_status=before,
                         message=f"Task {task_id} had finished ({before}); it is deleted and its outputs are gone.")
    else:
        note = " Runway may still charge for work already done." if before == "RUNNING" else ""
        r = CancelResult(task_id=task_id, action="cancelled", previous_status=before, message=f"Task {task_id} was {before} and is cancelled.{note}")
    return plain(r, r.message)


class ModelInfo(BaseModel):
    model: str
    title: str
    endpoint: str
    ratios: list[str] = Field(default_factory=list)
    durations: str = ""
    cost: str
    notes: Optional[str] = None


class ModelsResult(BaseModel):
    tools: dict[str, list[ModelInfo]]


TOOL_MODELS = {
    "generate_image_gen4": IMAGE, "generate_video_text_to_video": T2V, "generate_video_image_to_video": I2V,
    "generate_video_first_last_frame": FIRST_LAST, "edit_video_with_aleph": ALEPH, "restyle_video": ALEPH,
    "extend_video": EXTEND, "upscale_video_4k": UPSCALE,
}


async def list_available_models() -> Annotated[CallToolResult, ModelsResult]:
    tools: dict[str, list[ModelInfo]] = {}
    lines = []
    for tool, ms in TOOL_MODELS.items():
        infos = [
            ModelInfo(model=m["model"], title=m["title"], endpoint=m["endpoint"],
                      ratios=[str(v) for v in m["fields"].get("ratio", {}).get("values", [])],
                      durations=cat.describe_field([m], "duration").split(": ", 1)[1] if "duration" in m["fields"] else "",
                      cost=cat.cost_text(m).split(": ", 1)[1], notes=m.get("notes"))
            for m in ms
        ]
        tools[tool] = infos
        lines.append(f"{tool}: " + "; ".join(f"{i.model} ({i.cost})" for i in infos))
    return plain(ModelsResult(tools=tools), "\n".join(lines))


class ApiInfo(BaseModel):
    server_version: str
    runway_api_version: str
    base_url: str
    simulated: bool
    api_key_set: bool
    max_wait_seconds: float
    output_dir: str
    input_dirs: Optional[list[str]] = Field(None, description="The only folders local files may be read from; null: any.")
    models: int


async def get_api_info(ctx: Context) -> Annotated[CallToolResult, ApiInfo]:
    svc = _svc(ctx)
    info = ApiInfo(server_version=runway_core.__version__, runway_api_version=runway_core.API_VERSION, base_url=svc.base_url,
                   simulated=svc.simulated, api_key_set=svc.key_is_set(), max_wait_seconds=svc.settings.max_wait,
                   output_dir=svc.settings.output_dir,
                   input_dirs=list(svc.settings.input_dirs) if svc.settings.input_dirs is not None else None,
                   models=len(runway_core.models()))
    mode = "SIMULATOR (no credits are spent)" if info.simulated else "live Runway API"
    key = "set" if info.api_key_set else "NOT set: set RUNWAYML_API_SECRET, or run with --simulate"
    return plain(info, f"runway-mcp-server {info.server_version} on the {mode} at {info.base_url}; API key {key}; "
                       f"waits up to {info.max_wait_seconds:g} s; saves outputs in {info.output_dir}.")


PAID = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
LOCAL = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
CANCEL = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)

GENERATORS = [
    (generate_image_gen4, "Generate images from a prompt (and up to 3 reference images) with Runway.", IMAGE),
    (generate_video_text_to_video, "Generate a video from a text prompt with Runway.", T2V),
    (generate_video_image_to_video, "Generate a video that starts from an image with Runway.", I2V),
    (generate_video_first_last_frame, "Generate a video that goes from a first frame to a last frame with Runway.", FIRST_LAST),
    (edit_video_with_aleph, "Edit a video with a prompt (and optional guide images) with Runway Aleph.", ALEPH),
    (restyle_video, "Restyle a whole video after a style prompt and/or a style image with Runway Aleph.", ALEPH),
    (extend_video, "Continue a video with new footage with Runway.", EXTEND),
    (upscale_video_4k, "Upscale a video (to 4K by default) with Runway.", UPSCALE),
]

WAIT_NOTE = (" Waits for the result up to max_wait_seconds; if the task is still running then, returns its task_id "
             "(not an error): call wait_for_task to keep waiting. Only call when the user asked for it: it spends credits.")


def register(mcp: MCPServer) -> None:
    for fn, what, ms in GENERATORS:
        mcp.add_tool(fn, description=f"{what} {cat.costs(ms)}{WAIT_NOTE}", annotations=PAID)
    mcp.add_tool(get_task_status, description="Get a Runway task's status, progress, cost and output URLs (fresh URLs while the task exists).", annotations=READ)
    mcp.add_tool(wait_for_task, description="Keep waiting for a Runway task (up to max_wait_seconds) and return its result. Free: it only reads.", annotations=READ)
    mcp.add_tool(cancel_task, description="Cancel a queued or running Runway task, or delete a finished one together with its outputs.", annotations=CANCEL)
    mcp.add_tool(upload_file, description="Upload a local image, video or audio file to Runway and get a runway:// URI (valid 24 h). Usually not needed: media parameters take local paths directly.", annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True))
    mcp.add_tool(list_available_models, description="List the Runway models each tool can use, with their ratios, durations and costs. Free.", annotations=LOCAL)
    mcp.add_tool(get_api_info, description="Show this server's version and configuration: base URL, simulator on or off, wait cap, whether an API key is set (never the key).", annotations=LOCAL)
