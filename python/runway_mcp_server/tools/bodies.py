"""Builders of Runway's body shapes that a parameter table cannot say: promptImage positions,
guide images, voices, avatars."""

from __future__ import annotations

from typing import Any, Optional

from mcp.server.mcpserver.exceptions import ToolError

from runway_core.spec import Field, Scalar, Spec

from .. import catalogue as cat

VIDEO_EXT = (".mp4", ".mov", ".webm", ".mkv", ".m4v")


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


def _presets(options: list[Spec]) -> list[str]:
    """The preset ids the options of a voice or avatar spec offer."""
    out: list[str] = []
    for o in options:
        preset = o.get("fields", {}).get("presetId")
        out += [str(v) for v in preset.get("values", [])] if preset else []
    return out


def _tag(fields: dict[str, Field]) -> Scalar:
    """The value of an object option's `type` field (`preset`, `custom`), None when it has none."""
    t = fields.get("type")
    return t["values"][0] if t and t.get("values") else None


def _voice(spec: Optional[Spec], voice: str, param: str = "voice") -> dict[str, Any]:
    """The voice object a model's spec takes for `voice`: a preset id, a custom voice id, or
    reference audio, whichever option of the spec fits."""
    if spec is None:
        raise ToolError(f"{param}: this model takes no voice")
    options = spec["options"] if spec.get("type") == "any_of" else [spec]
    for o in options:
        f = o.get("fields", {})
        kind = _tag(f)
        if "presetId" in f and voice in f["presetId"].get("values", []):
            return {"type": kind, "presetId": voice}
    for o in options:
        f = o.get("fields", {})
        kind = _tag(f)
        if "id" in f:
            return {"type": kind, "id": voice}
        if "audioUri" in f:
            return {"type": kind, "audioUri": voice}
    presets = _presets(options)
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
    spec = m.spec("avatar")
    presets = _presets(spec.get("options", [spec]) if spec else [])
    body["avatar"] = ({"type": "runway-preset", "presetId": a["avatar"]} if a["avatar"] in presets
                      else {"type": "custom", "avatarId": a["avatar"]})
    if speech_audio:
        body["speech"] = {"type": "audio", "audio": speech_audio}
    else:
        body["speech"] = {"type": "text", "text": text}
        if a.get("voice"):
            speech = m.spec("speech")
            text_opt = next((o for o in (speech or {"type": "any"}).get("options", []) if "text" in o.get("fields", {})),
                            None)
            body["speech"]["voice"] = _voice(text_opt.get("fields", {}).get("voice") if text_opt else None, a["voice"])
