"""Prompts for the common jobs (slash commands in clients that show them), each a short template
that says which tools to use, and completions for what a user types into them: voice ids, dubbing
languages and ratios from the catalogue, and the user's own task ids for the output resource.
Nothing about Runway is stated here: the allowed values come from the catalogue."""

from __future__ import annotations

from typing import Any, Optional

from mcp.server.mcpserver import MCPServer
from mcp.types import Completion, CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference

from . import catalogue as cat

# Completions list at most this many values (the protocol's own cap is 100).
MAX_VALUES = 100


def register_prompts(mcp: MCPServer) -> None:
    @mcp.prompt(title="Storyboard to video", description="Turn scene descriptions into one video, scene by scene.")
    def storyboard_to_video(scenes: str, ratio: str = "1280:720") -> str:
        return (f"Make a video from this storyboard, one scene per line, at ratio {ratio}:\n\n{scenes}\n\n"
                "For each scene make a first frame with generate_image_gen4, then animate it with "
                "generate_video_image_to_video, giving the still's task id as prompt_image. Start the scenes "
                "together with batch_generate_videos, tell me the estimated cost first, and list the saved files "
                "in scene order at the end.")

    @mcp.prompt(title="Product ad from photos", description="A product ad video from product photos (a Runway recipe).")
    def product_ad_from_photos(photos: str, product: str = "", seconds: str = "10") -> str:
        about = f" The product: {product}." if product else ""
        return (f"Make a {seconds}-second product ad from these photos: {photos}.{about} Use run_recipe with recipe "
                "product_ad (turn on the recipes toolset with the toolsets tool if run_recipe is missing), the "
                "photos as productImages in options. Say what it will cost before starting, and give me the saved file.")

    @mcp.prompt(title="Dub a video", description="Dub a video's speech into another language.")
    def dub_video(video: str, target_language: str) -> str:
        return (f"Dub the speech of {video} into {target_language} with process_audio (operation dub, "
                f"target_language {target_language}). Tell me the cost first and give me the saved file.")

    @mcp.prompt(title="Voice-over", description="Read a script aloud in a chosen voice.")
    def voice_over(script: str, voice: str = "") -> str:
        who = f"the voice {voice}" if voice else "a voice that suits it (list_voices shows them)"
        return (f"Read this script aloud with generate_audio (kind speech) in {who}:\n\n{script}\n\n"
                "Give me the saved audio file.")

    @mcp.completion()  # type: ignore[no-untyped-call, untyped-decorator]  # the SDK leaves it untyped
    async def complete(ref: Any, argument: CompletionArgument, context: Optional[CompletionContext]) -> Completion:
        if isinstance(ref, PromptReference):
            return _values(_prompt_values(ref.name, argument.name), argument.value)
        if isinstance(ref, ResourceTemplateReference) and argument.name == "task_id":
            return _values(await _task_ids(mcp), argument.value)
        return Completion(values=[])


def _values(values: list[str], typed: str) -> Completion:
    """The values that start with what was typed (case aside), the first MAX_VALUES of them."""
    found = [v for v in values if v.lower().startswith(typed.lower())]
    return Completion(values=found[:MAX_VALUES], total=len(found), has_more=len(found) > MAX_VALUES)


def _prompt_values(prompt: str, argument: str) -> list[str]:
    """What a prompt argument may be, from the catalogue: the field its tool fills."""
    fields = {("voice_over", "voice"): ("text_to_speech", "voice"),
              ("dub_video", "target_language"): ("voice_dubbing", "targetLang"),
              ("storyboard_to_video", "ratio"): ("image_to_video", "ratio")}
    where = fields.get((prompt, argument))
    if where is None:
        return []
    out: list[str] = []
    for m in cat.select((where[0],)):
        spec = m.spec(where[1])
        for v in _enum_values(spec):
            if v not in out:
                out.append(v)
    return out


def _enum_values(spec: Any) -> list[str]:
    """Every enum value inside a spec: its own, its options', its object fields' (a voice's presetId)."""
    if not isinstance(spec, dict):
        return []
    out = [str(v) for v in spec.get("values", [])] if spec.get("type") == "enum" else []
    for o in spec.get("options", []):
        out += _enum_values(o)
    for name, f in (spec.get("fields") or {}).items():
        if name != "type":
            out += _enum_values(f)
    return out


async def _task_ids(mcp: MCPServer) -> list[str]:
    """The ids of the tasks this server made for the key (its journal), newest first. Over HTTP a
    completion carries no key to tell whose tasks to show, so none are shown."""
    pool = getattr(mcp, "pool", None)
    settings = getattr(mcp, "settings_", None)
    if pool is None or settings is None or settings.remote:
        return []
    client = pool.default.client()
    if not client.has_journal:
        return []
    return [t["task_id"] for t in await client.list_tasks(limit=200) if t.get("task_id")]
