"""The generation tools as rows of one table (`GENERATORS`): a name, the endpoints and capability
tag that pick their models from the catalogue, and the parameters mapped to Runway's fields,
with the body shapes Runway takes written as data (`shapes.py` fills them). 0.1.0's tool and
parameter names are kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .. import catalogue as cat


@dataclass(frozen=True)
class P:
    """A tool parameter. `fields`: the Runway fields it fills (the first one the model has); a
    field in `shapes` gets the parameter in that shape (`"$"` is the parameter) rather than as it
    is. Without `fields` a shape of another parameter or of the row uses it. `default`: the value
    when the caller gives none and the model has the field. `schema`: its JSON schema where the
    data does not give it (a parameter without `fields` is text unless it says otherwise)."""

    name: str
    fields: tuple[str, ...] = ()
    desc: str = ""
    required: bool = False
    media: bool = False
    schema: Optional[dict[str, Any]] = None
    shapes: Optional[dict[str, Any]] = None
    default: Optional[Any] = None


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
    # Runway fields made from several parameters: field -> shape (shapes.py).
    body: Optional[dict[str, Any]] = None
    # Fields set to a value when the model takes that value (a `mode` some models have).
    modes: Optional[dict[str, Any]] = None
    # Groups of parameters of which the caller must give at least one.
    require_any: tuple[tuple[str, ...], ...] = ()


OBJECTS = {"type": "array", "items": {"type": "object"}}


PROMPT = P("prompt_text", ("promptText",), required=True)


PROMPT_OPT = P("prompt_text", ("promptText",))


RATIO = P("ratio", ("ratio",))


DURATION = P("duration", ("duration",))


SEED = P("seed", ("seed",), schema={"type": "integer"})


VIDEO_IN = P("input_video", ("videoUri", "promptVideo"), required=True, media=True)


# A guide image: a keyframe at the start, or a reference, whichever the model takes.
GUIDE = {"keyframes": [{"uri": "$", "at": 0}], "references": [{"uri": "$"}]}


# `{type, uri}`, the type told by the file's name.
def typed(*kinds: str) -> dict[str, Any]:
    return {"type": {"$kind": "", "of": list(kinds)}, "uri": "$"}


TEXT = {"type": "string"}


# Runway's recipes, from the catalogue: `recipes/<name>` endpoints, each with one fixed model.
RECIPES = tuple(m.endpoint for m in cat.all_models() if m.fixed and m.endpoint.startswith("recipes/"))


GENERATORS: tuple[Gen, ...] = (
    Gen("generate_image_gen4", "Make images from a prompt and reference images.", ("text_to_image",),
        (PROMPT, RATIO,
         P("reference_images", ("referenceImages",), "[{uri, tag?}]; use @tag in the prompt.",
           schema=OBJECTS),
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
        tag="last_frame", default_model="veo3.1",
        body={"promptImage": [{"uri": "$first_frame", "position": "first"},
                              {"uri": "$last_frame", "position": "last"}]}),
    Gen("edit_video_with_aleph", "Edit a video by prompt and guide images.", ("video_to_video",),
        (VIDEO_IN, P("prompt_text", ("promptText",)),
         P("keyframes", ("keyframes",), "[{uri, seconds|at}] (aleph2)",
           schema=OBJECTS),
         P("reference_image", ("keyframes", "references"), "Guide image.", media=True, shapes=GUIDE),
         P("target_aspect_ratio", ("targetAspectRatio",), "Reframe."), RATIO, SEED),
        tag="edit", default_model="aleph2", modes={"mode": "edit"}),
    Gen("restyle_video", "Restyle a video by prompt and/or image.", ("video_to_video",),
        (VIDEO_IN, P("style_prompt", ()),
         P("style_image", ("keyframes", "references"), "Style reference.", media=True, shapes=GUIDE), SEED),
        tag="restyle", default_model="aleph2", modes={"mode": "edit"}, require_any=(("style_prompt", "style_image"),),
        body={"promptText": {"$text": "Restyle the whole video: {style_prompt}",
                             "else": "Restyle the whole video in the style of the guide image."}}),
    Gen("extend_video", "Continue a video with new footage.", ("video_to_video",),
        (VIDEO_IN, P("prompt_text", ("promptText",),
                     default="Continue the scene naturally, keeping the same subject, style and camera."),
         P("extension_duration", ("duration",), "New seconds."), SEED),
        tag="extend", default_model="seedance2_5", modes={"mode": "extend"}),
    Gen("upscale_video_4k", "Upscale a video (default 4K) or its frame rate.", ("video_upscale",),
        (VIDEO_IN, P("resolution", ("resolution",), "Default 4k.", default="4k")),
        default_model="magnific_video_upscaler_creative"),
    Gen("generate_audio", "Make speech from text, or sound effects.",
        ("text_to_speech", "sound_effect"),
        (P("prompt_text", ("promptText",), "Speech, or the sound.", required=True),
         P("kind", (), "Default speech.", schema=cat.enum(["speech", "sound_effect"])),
         P("voice", ("voice",), "See list_voices.", schema=TEXT, shapes={"voice": {"$option": ""}}),
         P("duration", ("duration",))),
        selector=("kind", {"speech": "text_to_speech", "sound_effect": "sound_effect"}),
        defaults=(("text_to_speech", "eleven_multilingual_v2"), ("sound_effect", "eleven_text_to_sound_v2"))),
    Gen("process_audio", "Change, dub or isolate a voice.",
        ("speech_to_speech", "voice_dubbing", "voice_isolation"),
        (P("input_audio", ("media", "audioUri"), "Audio (or video for change_voice).", required=True, media=True,
           shapes={"media": typed("audio", "video")}),
         P("operation", (), required=True,
           schema=cat.enum(["change_voice", "dub", "isolate_voice"])),
         P("voice", ("voice",), "For change_voice (list_voices).", schema=TEXT, shapes={"voice": {"$option": ""}}),
         P("target_language", ("targetLang",), "For dub.")),
        selector=("operation", {"change_voice": "speech_to_speech", "dub": "voice_dubbing",
                                "isolate_voice": "voice_isolation"})),
    Gen("animate_character", "Animate a character with a performance video.",
        ("character_performance",),
        (P("character", ("character",), "Image or video; face in frame.", required=True, media=True,
           shapes={"character": typed("image", "video")}),
         P("reference_video", ("reference",), "The performance.", required=True, media=True,
           shapes={"reference": {"type": "video", "uri": "$"}}), RATIO,
         P("body_control", ("bodyControl",)),
         P("expression_intensity", ("expressionIntensity",)))),
    Gen("upscale_image", "Upscale an image.", ("image_upscale",),
        (P("input_image", ("imageUri",), required=True, media=True),
         P("scale_factor", ("scaleFactor",)))),
    Gen("add_audio_to_video", "Make sound effects for a video.", ("video_to_audio",),
        (VIDEO_IN, P("duration", ("duration",), "Seconds of audio.", required=True),
         P("prompt_text", ("promptText",)))),
    Gen("convert_video_to_hdr", "Convert an SDR video to HDR.", ("video_to_hdr",),
        (VIDEO_IN, P("output_format", ("outputFormat",)))),
    Gen("generate_avatar_video", "Make a talking-avatar video.", ("avatar_videos",),
        (P("avatar", ("avatar",), "Preset or custom avatar id.", required=True, schema=TEXT,
           shapes={"avatar": {"$option": ""}}),
         P("speech_text", ("speech",), schema=TEXT,
           shapes={"speech": {"type": "text", "text": "$", "voice?": {"$option": "voice"}}}),
         P("speech_audio", ("speech",), media=True, shapes={"speech": {"type": "audio", "audio": "$"}}),
         P("voice", (), "See list_voices.")),
        require_any=(("speech_text", "speech_audio"),)),
    Gen("run_recipe", "Runway's packaged jobs: product ads, ad localization, multi-shot video, product swap, "
        "UGC, campaign and stock images. Inputs go in options (describe_model <recipe>).", RECIPES,
        (P("recipe", (), required=True, schema=cat.enum([e.split("/", 1)[1] for e in RECIPES])),),
        selector=("recipe", {e.split("/", 1)[1]: e for e in RECIPES})),
)
