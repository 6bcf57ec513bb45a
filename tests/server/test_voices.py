"""The voice tools end to end through the SDK's in-process client against the simulator: a voice
designed (a preview first), kept from the same description, used for an avatar's speech, renamed,
and deleted only with the user's yes (accepted, declined, and a client that cannot ask); a voice
cloned from a local sample; bad input refused by name with nothing sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import pytest
from mcp import Client

import runway_core
from runway_mcp_server import catalogue as cat
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

import conftest
from conftest import FAST_POLL, api_requests, data, text

DESCRIPTION = "A warm, calm narrator with a low voice and an unhurried pace."
SAMPLE = Path(__file__).resolve().parents[2] / "src/simulator/media/placeholder.wav"


def Asker(action: str = "accept", delete: bool = True) -> conftest.Asker:
    return conftest.Asker("delete", action, delete)


@pytest.fixture
def sim():
    s = runway_core.Simulator(task_seconds=0.4)
    yield s
    s.close()


def server(sim: runway_core.Simulator, tmp_path: Path, asker: Optional[Asker] = None, mode: str = "legacy") -> Client:
    settings = Settings(toolsets=("all",), api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"),
                        journal=str(tmp_path / "journal.sqlite3"), max_wait=30, poll=FAST_POLL)
    return Client(build(settings), elicitation_callback=asker, mode=mode)  # type: ignore[arg-type]


async def designed(c: Client, name: str = "Narrator") -> str:
    r = await c.call_tool("create_voice", {"name": name, "description": DESCRIPTION})
    assert not r.is_error and data(r)["status"] == "READY", text(r)
    return str(data(r)["id"])


def voice_requests(sim: runway_core.Simulator, method: str) -> list[dict[str, Any]]:
    return [r for r in api_requests(sim, method) if r["path"].startswith("/v1/voices")]


async def test_a_voice_designed_kept_used_for_speech_and_renamed(sim, tmp_path):
    async with server(sim, tmp_path) as c:
        r = await c.call_tool("design_voice", {"description": DESCRIPTION})
        assert not r.is_error, text(r)
        p = data(r)
        assert p["url"] in text(r) and p["duration_seconds"] and "create_voice" in text(r)
        assert p["path"] and Path(p["path"]).exists() and Path(p["path"]).suffix == ".mp3"

        voice_id = await designed(c)
        listed = await c.call_tool("list_voices", {})
        assert voice_id in [v["id"] for v in data(listed)["custom"]]

        # Speech in the custom voice, where the model takes custom voices (avatars).
        r = await c.call_tool("generate_avatar_video", {"avatar": "cooking-teacher", "speech_text": "Welcome back!",
                                                        "voice": voice_id})
        assert not r.is_error and data(r)["status"] == "SUCCEEDED", text(r)
        assert data(r)["files"] and Path(data(r)["files"][0]["path"]).exists()

        r = await c.call_tool("rename_voice", {"voice_id": voice_id, "name": "Warm narrator"})
        assert not r.is_error and data(r)["name"] == "Warm narrator", text(r)
        listed = await c.call_tool("list_voices", {})
        assert "Warm narrator" in text(listed)
    # The voice was kept from the same description and model as its preview.
    preview, create = voice_requests(sim, "POST")
    assert preview["path"] == "/v1/voices/preview" and create["path"] == "/v1/voices"
    assert create["body"]["from"] == {"type": "text", "prompt": preview["body"]["prompt"],
                                      "model": preview["body"]["model"]}
    speech = [r for r in api_requests(sim, "POST") if r["path"] == "/v1/avatar_videos"][0]["body"]["speech"]
    assert speech["voice"] == {"type": "custom", "id": voice_id}


async def test_a_voice_cloned_from_a_local_sample(sim, tmp_path):
    sample = tmp_path / "me.wav"
    sample.write_bytes(SAMPLE.read_bytes())
    async with server(sim, tmp_path) as c:
        r = await c.call_tool("create_voice", {"name": "Me", "sample": str(sample)})
        assert not r.is_error and data(r)["status"] == "READY", text(r)
    body = voice_requests(sim, "POST")[0]["body"]
    assert body["from"]["type"] == "audio" and not body["from"]["audio"].startswith("/")


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_deleting_a_voice_asks_and_goes_on_yes(sim, tmp_path, mode):
    asker = Asker("accept", delete=True)
    async with server(sim, tmp_path, asker, mode) as c:
        voice_id = await designed(c)
        r = await c.call_tool("delete_voice", {"voice_id": voice_id})
        assert not r.is_error and data(r)["action"] == "deleted", text(r)
        listed = await c.call_tool("list_voices", {})
    assert len(asker.asked) == 1 and voice_id in asker.asked[0] and "Narrator" in asker.asked[0]
    assert [d["path"] for d in voice_requests(sim, "DELETE")] == [f"/v1/voices/{voice_id}"]
    assert data(listed)["custom"] == []


@pytest.mark.parametrize("answer", [("decline", True), ("cancel", True), ("accept", False)])
async def test_the_user_says_no_and_the_voice_stays(sim, tmp_path, answer):
    asker = Asker(*answer)
    async with server(sim, tmp_path, asker) as c:
        voice_id = await designed(c)
        r = await c.call_tool("delete_voice", {"voice_id": voice_id})
        listed = await c.call_tool("list_voices", {})
    assert r.is_error and "Not deleted" in text(r) and "declined" in text(r) and voice_id in text(r), text(r)
    assert len(asker.asked) == 1 and voice_requests(sim, "DELETE") == []
    assert [v["id"] for v in data(listed)["custom"]] == [voice_id]


async def test_a_client_that_cannot_ask_is_told_what_would_be_deleted(sim, tmp_path):
    async with server(sim, tmp_path) as c:
        voice_id = await designed(c)
        r = await c.call_tool("delete_voice", {"voice_id": voice_id})
    assert r.is_error and "Not deleted, nothing changed" in text(r), text(r)
    assert voice_id in text(r) and "Narrator" in text(r) and "elicitation" in text(r)
    assert voice_requests(sim, "DELETE") == []


async def test_an_unknown_voice_is_not_asked_about(sim, tmp_path):
    asker = Asker("accept")
    unknown = "0f2c6f80-1111-4222-8333-444455556666"
    async with server(sim, tmp_path, asker) as c:
        r = await c.call_tool("delete_voice", {"voice_id": unknown})
        assert not r.is_error and data(r)["action"] == "already_gone", text(r)
        r = await c.call_tool("rename_voice", {"voice_id": unknown, "name": "X"})
        assert r.is_error and "voice_id" in text(r) and "list_voices" in text(r), text(r)
    assert asker.asked == [] and voice_requests(sim, "DELETE") == []


@pytest.mark.parametrize("tool, args, says", [
    ("design_voice", {"description": "too short"}, "description"),
    ("create_voice", {"name": "X"}, "description, sample"),
    ("create_voice", {"name": "X", "description": DESCRIPTION, "sample": "/tmp/a.wav"}, "description, sample"),
    ("create_voice", {"name": " ", "description": DESCRIPTION}, "name"),
    ("create_voice", {"name": "X", "description": "x" * 1001}, "description"),
    ("create_voice", {"name": "X", "sample": "/nowhere/a.wav"}, "sample"),
    ("create_voice", {"name": "X" * 101, "description": DESCRIPTION}, "name"),
    ("rename_voice", {"voice_id": "0f2c6f80-1111-4222-8333-444455556666", "name": ""}, "name"),
])
async def test_bad_voice_input_is_refused_by_name_with_nothing_sent(sim, tmp_path, tool, args, says):
    async with server(sim, tmp_path) as c:
        r = await c.call_tool(tool, args)
        assert r.is_error and says in text(r), text(r)
    assert voice_requests(sim, "POST") == [] and voice_requests(sim, "PATCH") == []


async def test_a_designed_voice_reads_a_script_through_reference_audio(sim, tmp_path):
    # "Design a warm narrator voice and read this script": the preview, saved, is the reference
    # audio of a speech model that takes one (Runway's preset-voice models take no custom voice).
    readers = [m for m in cat.select(("text_to_speech",)) if m.spec("voice") is not None
               and "reference-audio" in json.dumps(m.spec("voice"))]
    assert readers
    async with server(sim, tmp_path) as c:
        r = await c.call_tool("design_voice", {"description": "A warm, calm narrator with a low, slow voice."})
        assert not r.is_error and "generate_audio" in text(r), text(r)
        preview = data(r)["path"]
        r = await c.call_tool("generate_audio", {"prompt_text": "Once upon a time.", "kind": "speech",
                                                 "model": readers[0].name, "voice": preview})
        assert not r.is_error, text(r)
        assert data(r)["status"] == "SUCCEEDED" and data(r)["files"]
    body = [x for x in api_requests(sim, "POST") if x["path"] == "/v1/text_to_speech"][0]["body"]
    assert body["voice"]["type"] == "reference-audio" and body["voice"]["audioUri"].startswith(("data:", "runway://"))
