"""The body shapes the tool rows give as data, filled from arguments (tools/shapes.py), against
the catalogue's own specs."""

from __future__ import annotations

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from runway_mcp_server import catalogue as cat
from runway_mcp_server.tools.shapes import Absent, fill


def spec(endpoint: str, model: str, field: str):
    m = cat.find(model, (endpoint,))
    assert m is not None
    return m.spec(field)


def test_arguments_fill_placeholders_and_a_part_without_its_argument_is_left_out():
    frames = [{"uri": "$first", "position": "first"}, {"uri": "$last", "position": "last"}]
    assert fill(frames, {"first": "a.png", "last": "b.png"}, None) == [
        {"uri": "a.png", "position": "first"}, {"uri": "b.png", "position": "last"}]
    assert fill(frames, {"first": "a.png"}, None) == [{"uri": "a.png", "position": "first"}]
    with pytest.raises(Absent):
        fill(frames, {}, None)
    # "$" is the parameter the shape belongs to; a key ending in ? is left out alone.
    shape = {"type": "text", "text": "$", "note?": "$note"}
    assert fill(shape, {"speech": "hi"}, None, own="speech") == {"type": "text", "text": "hi"}
    with pytest.raises(Absent):
        fill({"type": "video", "uri": "$clip"}, {}, None)


def test_media_kind_comes_from_the_file_name():
    shape = {"type": {"$kind": "", "of": ["image", "video"]}, "uri": "$"}
    assert fill(shape, {"c": "/x/Face.MOV"}, None, own="c")["type"] == "video"
    assert fill(shape, {"c": "https://e.com/f.mp4?sig=1"}, None, own="c")["type"] == "video"
    assert fill(shape, {"c": "face.png"}, None, own="c")["type"] == "image"
    assert fill(shape, {"c": "17f20503-6c24-4c16-946b-35dbbce2af2f"}, None, own="c")["type"] == "image"


def test_text_is_formatted_or_falls_back():
    shape = {"$text": "Restyle: {style}", "else": "Restyle like the image."}
    assert fill(shape, {"style": "noir"}, None) == "Restyle: noir"
    assert fill(shape, {}, None) == "Restyle like the image."
    with pytest.raises(Absent):
        fill({"$text": "Restyle: {style}"}, {}, None)


def test_a_voice_or_avatar_id_picks_its_option_from_the_models_spec():
    voice = spec("text_to_speech", "eleven_multilingual_v2", "voice")
    presets = [v for o in voice.get("options", [voice]) for k, f in o.get("fields", {}).items()
               if k == "presetId" for v in f.get("values", [])]
    assert presets
    preset = fill({"$option": ""}, {"voice": presets[0]}, voice, own="voice")
    assert preset["presetId"] == presets[0] and preset["type"] is not None
    # This model takes preset voices only: another id is refused with the presets named.
    with pytest.raises(ToolError, match=presets[0]):
        fill({"$option": ""}, {"voice": "a1b2c3"}, voice, own="voice")
    avatar = spec("avatar_videos", "gwm1_avatars", "avatar")
    assert fill({"$option": ""}, {"a": "tennis-coach"}, avatar, own="a") == {"type": "runway-preset", "presetId": "tennis-coach"}
    assert fill({"$option": ""}, {"a": "my-avatar-id"}, avatar, own="a") == {"type": "custom", "avatarId": "my-avatar-id"}
    with pytest.raises(ToolError, match="takes no voice"):
        fill({"$option": ""}, {"voice": "x"}, None, own="voice")


def test_a_union_option_is_followed_by_its_tag_to_a_nested_field():
    speech = spec("avatar_videos", "gwm1_avatars", "speech")
    shape = {"type": "text", "text": "$", "voice?": {"$option": "voice"}}
    filled = fill(shape, {"speech_text": "Hello", "voice": "clara"}, speech, own="speech_text")
    assert filled["text"] == "Hello" and filled["voice"]["type"] == "preset" and filled["voice"]["presetId"] == "clara"
    assert "voice" not in fill(shape, {"speech_text": "Hello"}, speech, own="speech_text")
    # Not a preset: the custom option, by its one free id field.
    custom = fill(shape, {"speech_text": "Hello", "voice": "v-123"}, speech, own="speech_text")["voice"]
    assert custom == {"type": "custom", "id": "v-123"}
