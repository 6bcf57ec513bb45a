"""Custom voices: design one from a description (a preview to hear first), keep it (`create_voice`
from the same description, or from an audio sample), rename it, delete it (asks the user, as
deleting a task does). A custom voice's id works wherever a model takes custom voices (the
generation tools' `voice` picks the custom option by its id field: see shapes `$option`).
`list_voices` (models.py) lists presets and custom voices."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Annotated, Any, Final, Optional, Union

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

import runway_core
from runway_core import NotFoundError, RunwayError, ValidationError
from runway_core.spec import Spec

from .. import deletion
from ..pool import svc_of
from ..results import plain
from .common import media_uri



def _preview_field(name: str) -> Spec:
    op = next(o for o in runway_core.operations() if o["name"] == "voices.preview")
    return (op.get("body") or {})[name]


# Runway's voice design model, the catalogue's first (the newer); design and keep use the same one.
DESIGN_MODEL: Final[str] = str(_preview_field("model").get("values", [""])[0])
# A description's length limits, as Runway's voice preview takes them.
LIMITS = (int(_preview_field("prompt").get("min", 1)), int(_preview_field("prompt").get("max", 1000)))
DESCRIPTION = Annotated[str, Field(description=f"The voice, in {LIMITS[0]}-{LIMITS[1]} characters")]


def _described(description: str) -> str:
    d = description.strip()
    if not LIMITS[0] <= len(d) <= LIMITS[1]:
        raise ToolError(f"description: {len(d)} characters; a voice description takes {LIMITS[0]}-{LIMITS[1]}")
    return d


def _error(e: RunwayError, names: dict[str, str]) -> ToolError:
    msg = str(e)
    if isinstance(e, ValidationError):
        named = [f"{f} is the tool parameter {p}" for f, p in names.items() if f in msg]
        msg += f" ({'; '.join(named)})" if named else ""
    return ToolError(msg)


class Preview(BaseModel):
    url: str = Field(description="MP3 preview (expires)")
    duration_seconds: Optional[float] = None
    path: Optional[str] = None
    description: str


async def design_voice(description: DESCRIPTION, ctx: Context) -> Annotated[CallToolResult, Preview]:
    d = _described(description)
    svc = svc_of(ctx)
    try:
        p = await svc.client().call("voices.preview", body={"model": DESIGN_MODEL, "prompt": d})
    except RunwayError as e:
        raise _error(e, {"prompt": "description"}) from None
    r = Preview(url=p["url"], duration_seconds=p.get("durationSecs"), description=d)
    if svc.settings.save_outputs:
        dest = os.path.join(svc.settings.output_dir, f"voice_preview_{int(time.time() * 1000)}.mp3")
        try:
            r.path = (await svc.client().download(r.url, dest))["path"]
        except RunwayError:
            pass  # the URL still works for a while
    where = f" Saved: {r.path}." if r.path else ""
    secs = f" ({r.duration_seconds:g} s)" if r.duration_seconds is not None else ""
    # Runway's preset-voice speech models take no custom voice; one taking reference audio reads in this one.
    return plain(r, f"Voice preview{secs}: {r.url}.{where} To keep this voice, call create_voice with a name and "
                    "the same description. To read a script in it now: generate_audio (kind speech) with voice set to "
                    "the saved file, on a model that takes reference audio (describe_model tells).")


class Voice(BaseModel):
    id: str
    name: Optional[str] = None
    status: Optional[str] = None
    preview_url: Optional[str] = None
    failure: Optional[str] = None


def _voice(v: dict[str, Any]) -> Voice:
    return Voice(id=v["id"], name=v.get("name"), status=v.get("status"), preview_url=v.get("previewUrl"),
                 failure=v.get("failureReason"))


USE = "Use its id as voice in generate_avatar_video (and wherever a model takes custom voices; list_voices lists them)."


async def create_voice(
    name: str,
    ctx: Context,
    description: Optional[DESCRIPTION] = None,
    sample: Annotated[Optional[str], Field(description="Audio of 10 s-5 min: path, task id or URL")] = None,
) -> Annotated[CallToolResult, Voice]:
    if (description is None) == (sample is None):
        raise ToolError("description, sample: give one of them (a description designs the voice, a sample clones one)")
    if not name.strip():
        raise ToolError("name: a voice needs a name")
    source: dict[str, Any] = ({"type": "text", "prompt": _described(description), "model": DESIGN_MODEL}
                              if description is not None else {"type": "audio", "audio": str(sample).strip()})
    svc = svc_of(ctx)
    client = svc.client()
    if "audio" in source:  # the core leaves a voice's sample as given
        source["audio"] = await media_uri(ctx, source["audio"], "sample")
    try:
        made = await client.api.voices.create(name=name.strip(), from_=source,
                                              description=_described(description) if description else None)
        v = await client.api.voices.retrieve(made["id"])
        # A new voice is PROCESSING for a while; wait for it to be READY, within the usual limit.
        deadline = time.monotonic() + svc.max_wait(None)
        delay = 0.2
        while v.get("status") == "PROCESSING" and time.monotonic() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 5.0)
            v = await client.api.voices.retrieve(made["id"])
    except RunwayError as e:
        raise _error(e, {"name": "name", "from.prompt": "description", "from.audio": "sample", "from": "sample"}) from None
    r = _voice(v)
    if r.status == "FAILED":
        return plain(r, f"Voice {r.name} ({r.id}) failed: {r.failure or 'no reason given'}.")
    state = "is ready" if r.status == "READY" else f"is still {r.status}; list_voices shows when it is ready"
    return plain(r, f"Voice {r.name} ({r.id}) {state}. {USE}")


async def rename_voice(voice_id: str, name: str, ctx: Context) -> Annotated[CallToolResult, Voice]:
    if not name.strip():
        raise ToolError("name: a voice needs a name")
    try:
        v = await svc_of(ctx).client().api.voices.update(voice_id, name=name.strip())
    except NotFoundError:
        raise ToolError(f"voice_id: no custom voice '{voice_id}'; list_voices lists them") from None
    except RunwayError as e:
        raise _error(e, {"name": "name"}) from None
    r = _voice({"id": voice_id, **v})
    return plain(r, f"Voice {voice_id} is now named {r.name}.")


async def ask(ctx: Context, voice_id: str) -> Union[deletion.DeleteIt, Elicit[deletion.DeleteIt]]:
    try:
        v = await svc_of(ctx).client().api.voices.retrieve(voice_id)
    except RunwayError:
        return deletion.NOT_ASKED  # unknown, or unread: the tool body looks again and says which
    return deletion.ask_to_delete(ctx, f"custom voice '{v.get('name')}' ({voice_id}, {v.get('status')})",
                                  "avatars and calls that use it stop working.")


class Deleted(BaseModel):
    voice_id: str
    action: str = Field(description="deleted or already_gone")


async def delete_voice(voice_id: str, ctx: Context,
                       answer: Annotated[deletion.ObjectAnswer, Resolve(ask)]) -> Annotated[CallToolResult, Deleted]:
    yes, gone = deletion.said_yes(answer), deletion.not_asked(answer)
    if not yes and not gone:
        raise ToolError(f"Not deleted, nothing changed: the user declined deleting voice {voice_id}.")
    if gone:
        # Read again: the question's look may have failed on something other than 404.
        try:
            await svc_of(ctx).client().api.voices.retrieve(voice_id)
        except NotFoundError:
            r = Deleted(voice_id=voice_id, action="already_gone")
            return plain(r, f"There is no custom voice {voice_id} (already deleted, or never made); nothing changed.")
        except RunwayError as e:
            raise ToolError(str(e)) from None
        raise ToolError(f"Not deleted, nothing changed: voice {voice_id} could not be read to ask the user; try again.")
    try:
        await svc_of(ctx).client().api.voices.delete(voice_id)
    except NotFoundError:
        r = Deleted(voice_id=voice_id, action="already_gone")
        return plain(r, f"Voice {voice_id} was already deleted.")
    except RunwayError as e:
        raise ToolError(str(e)) from None
    r = Deleted(voice_id=voice_id, action="deleted")
    return plain(r, f"Voice {voice_id} is deleted at Runway.")
