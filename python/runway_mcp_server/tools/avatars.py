"""Custom avatars (the `avatars` set): make and change avatars (a face, a voice, a personality,
knowledge documents), their documents, the conversations people had with them, and realtime
sessions to talk to one. Deleting an avatar or a document asks the user, as deleting a voice does.
A custom avatar's id also works in `generate_avatar_video` (its `avatar` picks `{type: custom}`).

The session key `start_avatar_session` returns lets whoever holds it join the session: it goes to
the client in the result and nowhere else (no log line names it)."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import date, datetime
from typing import Annotated, Any, Literal, Optional, Union

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

import runway_core
from runway_core import NotFoundError, RunwayError
from runway_core.spec import Spec

from .. import deletion
from ..pool import svc_of
from ..results import plain
from .common import closest, one_of
from .shapes import ids_of, option_for


def _body(op: str, field: str) -> Spec:
    o = next(o for o in runway_core.operations() if o["name"] == op)
    return (o.get("body") or {})[field]


VOICE_SPEC = _body("avatars.create", "voice")
AVATAR_SPEC = _body("realtime_sessions.create", "avatar")
SESSION_MODEL = str(_body("realtime_sessions.create", "model")["values"][0])
# Runway's field -> this set's parameter, for errors.
PARAMS = {"referenceImage": "image", "startScript": "start_script", "documentIds": "documents",
          "maxDuration": "max_duration", "avatarId": "avatar"}


def _error(e: RunwayError) -> ToolError:
    msg = str(e)
    for field, param in PARAMS.items():
        msg = re.sub(rf"\b{field}\b", param, msg)
    return ToolError(msg)


def _given(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v is not None}


async def _voice(ctx: Context, voice: str) -> dict[str, Any]:
    """A live preset voice by name, else the account's custom voice of that id."""
    presets = [str(v) for v in ids_of(VOICE_SPEC)]
    v = voice.strip()
    if v.lower() in presets:
        return option_for(VOICE_SPEC, v.lower(), "voice")
    try:
        await svc_of(ctx).client().api.voices.retrieve(v)
    except NotFoundError:
        raise ToolError(f"voice: '{v}' is neither a live preset voice{closest(v.lower(), presets)} nor a custom voice "
                        f"id; {one_of(presets, 'voice')}") from None
    except RunwayError as e:
        raise ToolError(f"voice: {e}") from None
    return option_for(VOICE_SPEC, v, "voice")


async def _avatar(ctx: Context, avatar: str) -> dict[str, Any]:
    """A preset avatar by name, else the account's custom avatar of that id."""
    presets = [str(v) for v in ids_of(AVATAR_SPEC)]
    a = avatar.strip()
    if a in presets:
        return option_for(AVATAR_SPEC, a, "avatar")
    try:
        await svc_of(ctx).client().api.avatars.retrieve(a)
    except NotFoundError:
        raise ToolError(f"avatar: '{a}' is neither a preset{closest(a, presets)} nor a custom avatar id (avatars "
                        f"lists them); presets: {', '.join(presets)}") from None
    except RunwayError as e:
        raise ToolError(f"avatar: {e}") from None
    return option_for(AVATAR_SPEC, a, "avatar")


class Avatars(BaseModel):
    avatars: list[dict[str, Any]] = Field(default_factory=list)


def _line(a: dict[str, Any]) -> str:
    v = a.get("voice") or {}
    docs = len(a.get("documentIds") or [])
    return (f"{a.get('name')} ({a['id']}): {a.get('status')}, voice {v.get('name') or v.get('presetId') or v.get('id')}"
            + (f", {docs} document{'s' if docs != 1 else ''}" if docs else ""))


async def avatars(
    ctx: Context,
    action: Literal["list", "create", "update"] = "list",
    avatar: Annotated[Optional[str], Field(description="Avatar id (update)")] = None,
    name: Optional[str] = None,
    image: Annotated[Optional[str], Field(description="Face: path, task id or URL")] = None,
    voice: Annotated[Optional[str], Field(description="Live preset voice or custom voice id")] = None,
    personality: Annotated[Optional[str], Field(description="How it behaves (system prompt)")] = None,
    start_script: Annotated[Optional[str], Field(description="First words; '' clears")] = None,
    documents: Annotated[Optional[list[str]], Field(description="Document ids; replaces the list")] = None,
) -> Annotated[CallToolResult, Avatars]:
    svc = svc_of(ctx)
    api = svc.client().api
    if action == "list":
        try:
            found = [a async for a in api.avatars.list(limit=100)]
        except RunwayError as e:
            raise ToolError(str(e)) from None
        return plain(Avatars(avatars=found), "\n".join(map(_line, found)) or "No custom avatars.")
    for param, value in (("name", name), ("personality", personality), ("image", image)):
        if value is not None and not value.strip():
            raise ToolError(f"{param}: give a non-empty value")
    if action == "create":
        missing = [p for p, v in (("name", name), ("image", image), ("voice", voice), ("personality", personality))
                   if v is None]
        if missing:
            raise ToolError(f"{', '.join(missing)}: required to create an avatar")
        if avatar is not None:
            raise ToolError("avatar: not for create (Runway gives the id)")
    elif not avatar:
        raise ToolError("avatar: the avatar's id is required to update")
    elif all(v is None for v in (name, image, voice, personality, start_script, documents)):
        raise ToolError("name, image, voice, personality, start_script, documents: give one to change")
    fields = _given(name=name and name.strip(), personality=personality, referenceImage=image, documentIds=documents)
    if voice is not None:
        fields["voice"] = await _voice(ctx, voice)
    try:
        if action == "create":
            if start_script:
                fields["startScript"] = start_script
            a = await api.avatars.create(**fields)
            a = await _ready(svc, api, a)
            state = "is ready" if a.get("status") == "READY" else f"is still {a.get('status')}"
            return plain(Avatars(avatars=[a]), f"Avatar {a['name']} ({a['id']}) {state}. Use its id as avatar in "
                                               "start_avatar_session and generate_avatar_video.")
        assert avatar is not None
        if start_script is not None:
            fields["startScript"] = start_script or None
        a = await api.avatars.update(avatar, **fields)
    except NotFoundError:
        raise ToolError(f"avatar: no custom avatar '{avatar}'; action list lists them") from None
    except RunwayError as e:
        raise _error(e) from None
    return plain(Avatars(avatars=[a]), f"Updated: {_line(a)}.")


async def _ready(svc: Any, api: Any, a: dict[str, Any]) -> dict[str, Any]:
    """A new avatar is PROCESSING its image for a while: wait for READY, within the usual limit."""
    deadline = time.monotonic() + svc.max_wait(None)
    delay = 0.2
    while a.get("status") == "PROCESSING" and time.monotonic() < deadline:
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 5.0)
        a = await api.avatars.retrieve(a["id"])
    return a


class Documents(BaseModel):
    documents: list[dict[str, Any]] = Field(default_factory=list)


def _doc_line(d: dict[str, Any]) -> str:
    used = ", ".join(f"{u.get('name')} ({u.get('id')})" for u in d.get("usedBy") or [])
    return f"{d.get('name')} ({d['id']})" + (f": used by {used}" if used else ": used by no avatar")


async def avatar_documents(
    ctx: Context,
    action: Literal["list", "read", "create", "update"] = "list",
    document: Annotated[Optional[str], Field(description="Document id (read, update)")] = None,
    name: Optional[str] = None,
    content: Annotated[Optional[str], Field(description="Markdown or text; update replaces it")] = None,
) -> Annotated[CallToolResult, Documents]:
    api = svc_of(ctx).client().api
    for param, value in (("name", name), ("content", content)):
        if value is not None and not value.strip():
            raise ToolError(f"{param}: give a non-empty value")
    try:
        if action == "list":
            found = [d async for d in api.documents.list(order="desc", sort="createdAt", limit=100)]
            return plain(Documents(documents=found), "\n".join(map(_doc_line, found)) or "No documents.")
        if action == "create":
            if name is None or content is None:
                raise ToolError("name, content: required to create a document")
            d = await api.documents.create(name=name.strip(), content=content)
            return plain(Documents(documents=[d]), f"Document {_doc_line(d)}. Attach it with avatars (documents).")
        if not document:
            raise ToolError(f"document: the document's id is required to {action}")
        if action == "update":
            if name is None and content is None:
                raise ToolError("name, content: give one to change")
            await api.documents.update(document, **_given(name=name and name.strip(), content=content))
        d = await api.documents.retrieve(document)
    except NotFoundError:
        raise ToolError(f"document: no document '{document}'; action list lists them") from None
    except RunwayError as e:
        raise ToolError(str(e)) from None
    if action == "update":
        return plain(Documents(documents=[d]), f"Updated: {_doc_line(d)}.")
    return plain(Documents(documents=[d]), f"{_doc_line(d)}\n\n{d.get('content', '')}")


class Conversations(BaseModel):
    conversations: list[dict[str, Any]] = Field(default_factory=list)
    transcript: Optional[list[dict[str, Any]]] = None


def _day(value: Optional[str], param: str) -> Optional[str]:
    if value is None:
        return None
    v = value.strip()
    try:
        (date.fromisoformat if len(v) == 10 else datetime.fromisoformat)(v)
    except ValueError:
        raise ToolError(f"{param}: '{value}' is not an ISO-8601 date or datetime (2026-01-31)") from None
    return v


async def avatar_conversations(
    ctx: Context,
    conversation: Annotated[Optional[str], Field(description="Id: its transcript")] = None,
    avatar: Annotated[Optional[str], Field(description="Only with this custom avatar")] = None,
    since: Annotated[Optional[str], Field(description="ISO date or datetime")] = None,
    until: Optional[str] = None,
) -> Annotated[CallToolResult, Conversations]:
    start, end = _day(since, "since"), _day(until, "until")
    api = svc_of(ctx).client().api
    try:
        if conversation is None:
            found = [c async for c in api.avatar_conversations.list(
                limit=100, **_given(avatar=avatar, startDate=start, endDate=end))]
            text = "\n".join(f"{c.get('createdAt')} {c.get('name')} ({c['id']}): {c.get('status')}"
                             + (f", {c['duration']} s" if c.get("duration") is not None else "") for c in found)
            return plain(Conversations(conversations=found), text or "No conversations.")
        c = await api.avatar_conversations.retrieve(conversation)
    except NotFoundError:
        raise ToolError(f"conversation: no conversation '{conversation}'") from None
    except RunwayError as e:
        raise ToolError(str(e).replace("startDate", "since").replace("endDate", "until")) from None
    transcript = list(c.pop("transcript", None) or [])
    lines = [f"{t.get('role')}: {t.get('content')}" for t in transcript] or ["(no transcript yet)"]
    head = f"{c.get('name')} ({c['id']}), {c.get('status')}" + (
        f", {c['duration']} s" if c.get("duration") is not None else "")
    return plain(Conversations(conversations=[c], transcript=transcript), "\n".join([head, *lines]))


class Session(BaseModel):
    session_id: str
    status: str
    session_key: Optional[str] = Field(default=None, description="Bearer key to consume the session")
    expires_at: Optional[str] = None


CONSUME = "POST /v1/realtime_sessions/{id}/consume at Runway's API with Authorization: Bearer <session_key>"


async def start_avatar_session(
    ctx: Context,
    avatar: Annotated[str, Field(description="Preset or custom avatar id")],
    max_duration: Annotated[Optional[int], Field(description="Seconds, 10-1800")] = None,
    personality: Annotated[Optional[str], Field(description="Replaces the avatar's, this session")] = None,
    start_script: Optional[str] = None,
) -> Annotated[CallToolResult, Session]:
    if max_duration is not None and not 10 <= max_duration <= 1800:
        raise ToolError(f"max_duration: {max_duration} seconds; a session takes 10-1800")
    for param, value in (("personality", personality), ("start_script", start_script)):
        if value is not None and not value.strip():
            raise ToolError(f"{param}: give a non-empty value")
    svc = svc_of(ctx)
    api = svc.client().api
    which = await _avatar(ctx, avatar)
    try:
        made = await api.realtime_sessions.create(
            avatar=which, model=SESSION_MODEL,  # type: ignore[arg-type]
            **_given(maxDuration=max_duration, personality=personality, startScript=start_script))
        sid = made["id"]
        s = await api.realtime_sessions.retrieve(sid)
        deadline = time.monotonic() + min(svc.max_wait(None), 60.0)
        delay = 0.05
        while s.get("status") == "NOT_READY" and time.monotonic() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 1.0)
            s = await api.realtime_sessions.retrieve(sid)
    except RunwayError as e:
        raise _error(e) from None
    status = str(s.get("status"))
    if status == "NOT_READY":
        try:
            await api.realtime_sessions.delete(sid)
        except RunwayError:
            pass
        raise ToolError(f"Session {sid} was not ready in time; it is cancelled, nothing to join. Try again.")
    if status != "READY" or not s.get("sessionKey"):
        why = f": {s['failure']}" if s.get("failure") else ""
        return plain(Session(session_id=sid, status=status),
                     f"Session {sid} is {status}{why}; its key is no longer given, start another to join.")
    r = Session(session_id=sid, status=status, session_key=s["sessionKey"], expires_at=s.get("expiresAt"))
    return plain(r, f"Session {sid} is ready to join until {r.expires_at}. session_key: {r.session_key}. To join, "
                    f"{CONSUME.format(id=sid)}; the answer says how to connect. Conversation and transcript: "
                    f"avatar_conversations (same id).")


# ---- deleting, only with the user's yes ----


async def ask_avatar(ctx: Context, avatar: str) -> Union[deletion.DeleteIt, Elicit[deletion.DeleteIt]]:
    try:
        a = await svc_of(ctx).client().api.avatars.retrieve(avatar)
    except RunwayError:
        return deletion.NOT_ASKED
    return deletion.ask_to_delete(ctx, f"avatar '{a.get('name')}' ({avatar})", "sessions and videos can no longer use it.")


async def ask_document(ctx: Context, document: str) -> Union[deletion.DeleteIt, Elicit[deletion.DeleteIt]]:
    try:
        d = await svc_of(ctx).client().api.documents.retrieve(document)
    except RunwayError:
        return deletion.NOT_ASKED
    used = ", ".join(str(u.get("name")) for u in d.get("usedBy") or [])
    return deletion.ask_to_delete(ctx, f"document '{d.get('name')}' ({document})",
                      f"the avatars using it ({used}) lose it." if used else "no avatar uses it.")


async def delete_avatar(ctx: Context, avatar: str,
                        answer: Annotated[deletion.ObjectAnswer, Resolve(ask_avatar)]) -> Annotated[CallToolResult, Avatars]:
    api = svc_of(ctx).client().api
    try:
        a = await deletion.delete_if_yes(answer, f"avatar {avatar}", lambda: api.avatars.retrieve(avatar),
                                         lambda: api.avatars.delete(avatar))
    except NotFoundError:
        raise ToolError(f"avatar: no custom avatar '{avatar}'; avatars lists them") from None
    except RunwayError as e:
        raise ToolError(str(e)) from None
    return plain(Avatars(avatars=[a]), f"Avatar {a.get('name')} ({avatar}) is deleted at Runway.")


async def delete_document(ctx: Context, document: str,
                          answer: Annotated[deletion.ObjectAnswer, Resolve(ask_document)]) -> Annotated[CallToolResult, Documents]:
    api = svc_of(ctx).client().api
    try:
        d = await deletion.delete_if_yes(answer, f"document {document}", lambda: api.documents.retrieve(document),
                                         lambda: api.documents.delete(document))
    except NotFoundError:
        raise ToolError(f"document: no document '{document}'; avatar_documents lists them") from None
    except RunwayError as e:
        raise ToolError(str(e)) from None
    return plain(Documents(documents=[d]), f"Document {d.get('name')} ({document}) is deleted at Runway.")
