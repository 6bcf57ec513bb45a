"""The avatars set end to end through the SDK's in-process client against the simulator: an avatar
made from a local image and a live preset voice, listed, given a knowledge document, used in
generate_avatar_video; a realtime session started (its key returned, never logged), its
conversation listed and its transcript read; deletes only with the user's yes (accepted, declined,
and a client that cannot ask); bad input refused by name with nothing sent."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Optional

import pytest
from mcp import Client

import runway_core
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

import conftest
from conftest import FAST_POLL, api_requests, data, text

FACE = Path(__file__).resolve().parents[2] / "src/simulator/media/placeholder.png"
PERSONALITY = "A patient cooking teacher who explains each step."
UNKNOWN = "0f2c6f80-1111-4222-8333-444455556666"


def Asker(action: str = "accept", delete: bool = True) -> conftest.Asker:
    return conftest.Asker("delete", action, delete)


@pytest.fixture
def sim():
    s = runway_core.Simulator(task_seconds=0.8)
    yield s
    s.close()


def server(sim: runway_core.Simulator, tmp_path: Path, asker: Optional[Asker] = None, mode: str = "legacy") -> Client:
    settings = Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"),
                        journal=str(tmp_path / "journal.sqlite3"), max_wait=30, poll=FAST_POLL, toolsets=("all",))
    return Client(build(settings), elicitation_callback=asker, mode=mode)  # type: ignore[arg-type]


def face(tmp_path: Path) -> str:
    p = tmp_path / "face.png"
    p.write_bytes(FACE.read_bytes())
    return str(p)


async def made(c: Client, tmp_path: Path, name: str = "Chef Ada", voice: str = "clara") -> str:
    r = await c.call_tool("avatars", {"action": "create", "name": name, "image": face(tmp_path), "voice": voice,
                                      "personality": PERSONALITY, "start_script": "Ready to cook?"})
    assert not r.is_error and data(r)["avatars"][0]["status"] == "READY", text(r)
    return str(data(r)["avatars"][0]["id"])


async def document(c: Client, name: str = "Recipes") -> str:
    r = await c.call_tool("avatar_documents", {"action": "create", "name": name, "content": "# Pancakes\nFlour, milk."})
    assert not r.is_error, text(r)
    return str(data(r)["documents"][0]["id"])


def writes(sim: runway_core.Simulator, *prefixes: str) -> list[dict[str, Any]]:
    return [r for m in ("POST", "PATCH", "DELETE") for r in api_requests(sim, m)
            if r["path"].startswith(prefixes or ("/v1/avatars", "/v1/documents", "/v1/realtime_sessions"))]


async def test_an_avatar_made_listed_given_a_document_and_used_in_a_video(sim, tmp_path):
    async with server(sim, tmp_path) as c:
        avatar = await made(c, tmp_path)
        listed = await c.call_tool("avatars", {})
        assert [a["id"] for a in data(listed)["avatars"]] == [avatar] and "Chef Ada" in text(listed), text(listed)

        doc = await document(c)
        r = await c.call_tool("avatars", {"action": "update", "avatar": avatar, "documents": [doc],
                                          "name": "Chef Ada Lovelace"})
        assert not r.is_error, text(r)
        assert data(r)["avatars"][0]["documentIds"] == [doc] and "1 document" in text(r)
        r = await c.call_tool("avatar_documents", {"action": "read", "document": doc})
        assert data(r)["documents"][0]["usedBy"][0]["id"] == avatar and "Chef Ada Lovelace" in text(r), text(r)
        assert "Pancakes" in text(r)
        r = await c.call_tool("avatar_documents", {"action": "update", "document": doc, "content": "# Crepes"})
        assert not r.is_error and "Chef Ada Lovelace" in text(r), text(r)
        listed = await c.call_tool("avatar_documents", {})
        assert [d["id"] for d in data(listed)["documents"]] == [doc]

        # The start script is cleared with ''.
        r = await c.call_tool("avatars", {"action": "update", "avatar": avatar, "start_script": ""})
        assert not r.is_error and data(r)["avatars"][0]["startScript"] is None, text(r)

        # A custom avatar in generate_avatar_video.
        r = await c.call_tool("generate_avatar_video", {"avatar": avatar, "speech_text": "Welcome!", "voice": "clara"})
        assert not r.is_error and data(r)["status"] == "SUCCEEDED", text(r)
    create = [r for r in api_requests(sim, "POST") if r["path"] == "/v1/avatars"][0]["body"]
    assert create["voice"] == {"type": "runway-live-preset", "presetId": "clara"}
    assert create["referenceImage"].startswith(("runway://", "data:image/png")) and create["startScript"] == "Ready to cook?"
    video = [r for r in api_requests(sim, "POST") if r["path"] == "/v1/avatar_videos"][0]["body"]
    assert video["avatar"] == {"type": "custom", "avatarId": avatar}
    patches = [r["body"] for r in api_requests(sim, "PATCH") if r["path"].startswith("/v1/avatars/")]
    assert patches == [{"documentIds": [doc], "name": "Chef Ada Lovelace"}, {"startScript": None}]


async def test_a_custom_voice_for_an_avatar(sim, tmp_path):
    async with server(sim, tmp_path) as c:
        r = await c.call_tool("create_voice", {"name": "Narrator", "description": "A warm, calm narrator with a low voice."})
        assert not r.is_error, text(r)
        voice = data(r)["id"]
        await made(c, tmp_path, voice=voice)
    body = [r for r in api_requests(sim, "POST") if r["path"] == "/v1/avatars"][0]["body"]
    assert body["voice"] == {"type": "custom", "id": voice}


async def test_a_session_started_its_key_returned_not_logged_and_its_transcript_read(sim, tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    async with server(sim, tmp_path) as c:
        avatar = await made(c, tmp_path)
        r = await c.call_tool("start_avatar_session", {"avatar": avatar, "max_duration": 30,
                                                       "start_script": "Ready to cook?"})
        assert not r.is_error, text(r)
        s = data(r)
        assert s["status"] == "READY" and s["session_key"].startswith("sk_") and s["expires_at"], s
        assert f"/v1/realtime_sessions/{s['session_id']}/consume" in text(r) and "Bearer" in text(r)
        # A preset avatar too.
        r = await c.call_tool("start_avatar_session", {"avatar": "cooking-teacher"})
        assert not r.is_error and data(r)["session_key"], text(r)

        for _ in range(300):  # the simulated sessions run and end (polled: a loaded machine is slow)
            ended = data(await c.call_tool("avatar_conversations", {}))["conversations"]
            if len(ended) == 2 and all(x["status"] == "ended" for x in ended):
                break
            await asyncio.sleep(0.1)
        listed = await c.call_tool("avatar_conversations", {"avatar": avatar, "since": "2020-01-01"})
        assert [x["id"] for x in data(listed)["conversations"]] == [s["session_id"]], text(listed)
        every = await c.call_tool("avatar_conversations", {})
        assert len(data(every)["conversations"]) == 2
        none = await c.call_tool("avatar_conversations", {"until": "2020-01-01T00:00:00Z"})
        assert data(none)["conversations"] == [] and "No conversations" in text(none)
        r = await c.call_tool("avatar_conversations", {"conversation": s["session_id"]})
        assert not r.is_error, text(r)
        lines = text(r).splitlines()
        assert lines[1] == "assistant: Ready to cook?" and lines[2].startswith("user: "), text(r)
        assert data(r)["transcript"][0]["role"] == "assistant"
    bodies = [x["body"] for x in api_requests(sim, "POST") if x["path"] == "/v1/realtime_sessions"]
    assert bodies[0] == {"avatar": {"type": "custom", "avatarId": avatar}, "model": "gwm1_avatars", "maxDuration": 30,
                         "startScript": "Ready to cook?"}
    assert bodies[1]["avatar"] == {"type": "runway-preset", "presetId": "cooking-teacher"}
    out, err = capfd.readouterr()
    logged = "\n".join(rec.getMessage() for rec in caplog.records) + out + err
    assert s["session_key"] not in logged
    assert not any(s["session_key"] in str(rec.args) for rec in caplog.records)
    journal = [p for p in tmp_path.iterdir() if p.name.startswith("journal")]
    assert journal and not any(s["session_key"].encode() in p.read_bytes() for p in journal)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_deleting_an_avatar_and_a_document_asks_and_goes_on_yes(sim, tmp_path, mode):
    asker = Asker("accept", delete=True)
    async with server(sim, tmp_path, asker, mode) as c:
        avatar = await made(c, tmp_path)
        doc = await document(c)
        await c.call_tool("avatars", {"action": "update", "avatar": avatar, "documents": [doc]})
        r = await c.call_tool("delete_document", {"document": doc})
        assert not r.is_error and "deleted" in text(r), text(r)
        r = await c.call_tool("delete_avatar", {"avatar": avatar})
        assert not r.is_error and "deleted" in text(r), text(r)
        assert data(await c.call_tool("avatars", {}))["avatars"] == []
        assert data(await c.call_tool("avatar_documents", {}))["documents"] == []
    assert len(asker.asked) == 2 and doc in asker.asked[0] and "Chef Ada" in asker.asked[0], asker.asked
    assert avatar in asker.asked[1] and "Chef Ada" in asker.asked[1]
    assert [d["path"] for d in api_requests(sim, "DELETE")] == [f"/v1/documents/{doc}", f"/v1/avatars/{avatar}"]


@pytest.mark.parametrize("answer", [("decline", True), ("cancel", True), ("accept", False)])
async def test_the_user_says_no_and_nothing_is_deleted(sim, tmp_path, answer):
    asker = Asker(*answer)
    async with server(sim, tmp_path, asker) as c:
        avatar = await made(c, tmp_path)
        doc = await document(c)
        ra = await c.call_tool("delete_avatar", {"avatar": avatar})
        rd = await c.call_tool("delete_document", {"document": doc})
        assert len(data(await c.call_tool("avatars", {}))["avatars"]) == 1
    for r, which in ((ra, avatar), (rd, doc)):
        assert r.is_error and "Not deleted" in text(r) and "declined" in text(r) and which in text(r), text(r)
    assert len(asker.asked) == 2 and api_requests(sim, "DELETE") == []


async def test_a_client_that_cannot_ask_is_told_what_would_be_deleted(sim, tmp_path):
    async with server(sim, tmp_path) as c:
        avatar = await made(c, tmp_path)
        doc = await document(c, "Menu")
        ra = await c.call_tool("delete_avatar", {"avatar": avatar})
        rd = await c.call_tool("delete_document", {"document": doc})
    for r, which, name in ((ra, avatar, "Chef Ada"), (rd, doc, "Menu")):
        assert r.is_error and "Not deleted, nothing changed" in text(r) and "elicitation" in text(r), text(r)
        assert which in text(r) and name in text(r)
    assert api_requests(sim, "DELETE") == []


async def test_unknown_ids_are_not_asked_about(sim, tmp_path):
    asker = Asker("accept")
    async with server(sim, tmp_path, asker) as c:
        for tool, param in (("delete_avatar", "avatar"), ("delete_document", "document")):
            r = await c.call_tool(tool, {param: UNKNOWN})
            assert r.is_error and f"{param}: no" in text(r), text(r)
    assert asker.asked == [] and api_requests(sim, "DELETE") == []


CREATE = {"action": "create", "name": "Ada", "voice": "clara", "personality": PERSONALITY}


@pytest.mark.parametrize("tool, args, says", [
    ("avatars", {"action": "create", "name": "Ada"}, "image, voice, personality"),
    ("avatars", {**CREATE, "image": "/nowhere/face.png"}, "image"),
    ("avatars", {**CREATE, "image": "FACE", "voice": "clarra"}, "voice"),
    ("avatars", {**CREATE, "image": "FACE", "personality": "x" * 10001}, "personality"),
    ("avatars", {**CREATE, "image": "FACE", "name": " "}, "name"),
    ("avatars", {**CREATE, "image": "FACE", "start_script": "x" * 2001}, "start_script"),
    ("avatars", {**CREATE, "image": "FACE", "documents": [""]}, "documents"),
    ("avatars", {"action": "update", "name": "X"}, "avatar"),
    ("avatars", {"action": "update", "avatar": UNKNOWN}, "start_script, documents"),
    ("avatars", {"action": "teleport"}, "action"),
    ("avatar_documents", {"action": "create", "name": "X"}, "content"),
    ("avatar_documents", {"action": "create", "name": "X", "content": " "}, "content"),
    ("avatar_documents", {"action": "update", "name": "X"}, "document"),
    ("avatar_documents", {"action": "update", "document": UNKNOWN}, "name, content"),
    ("avatar_conversations", {"since": "last tuesday"}, "since"),
    ("avatar_conversations", {"until": "2026-13-01"}, "until"),
    ("avatar_conversations", {"conversation": UNKNOWN}, "conversation"),
    ("start_avatar_session", {"avatar": "cooking-teachr"}, "avatar"),
    ("start_avatar_session", {"avatar": "cooking-teacher", "max_duration": 5}, "max_duration"),
    ("start_avatar_session", {"avatar": "cooking-teacher", "personality": "x" * 10001}, "personality"),
    ("start_avatar_session", {}, "avatar"),
    ("delete_avatar", {}, "avatar"),
    ("delete_document", {"document": 5}, "document"),
])
async def test_bad_input_is_refused_by_name_with_nothing_sent(sim, tmp_path, tool, args, says):
    args = {k: face(tmp_path) if v == "FACE" else v for k, v in args.items()}
    async with server(sim, tmp_path, Asker("accept")) as c:
        r = await c.call_tool(tool, args)
        assert r.is_error and says in text(r), text(r)
    assert writes(sim) == [] and api_requests(sim, "POST", "/v1/uploads") == []


async def test_a_session_not_ready_in_time_is_cancelled(tmp_path):
    slow = runway_core.Simulator(task_seconds=600)  # NOT_READY for 150 s
    try:
        settings = Settings(api_key=slow.api_key, base_url=slow.base_url, output_dir=str(tmp_path / "out"),
                            journal=None, max_wait=0.5, poll=FAST_POLL, toolsets=("all",))
        async with Client(build(settings)) as c:
            r = await c.call_tool("start_avatar_session", {"avatar": "influencer"})
        assert r.is_error and "not ready in time" in text(r) and "cancelled" in text(r), text(r)
        made = [x for x in api_requests(slow, "POST") if x["path"] == "/v1/realtime_sessions"]
        deleted = [x["path"] for x in api_requests(slow, "DELETE")]
        assert len(made) == 1 and len(deleted) == 1 and deleted[0].startswith("/v1/realtime_sessions/")
    finally:
        slow.close()
