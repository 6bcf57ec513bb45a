"""Our catalogue against Runway's OFFICIAL Python SDK (runwayml, a dev dependency) as the oracle.

Nothing here reads our catalogue to decide what is expected: every expectation comes from introspecting the
SDK's request types (`runwayml/types/<x>_create_params.py`, one TypedDict per model, or a single TypedDict).

1. Per endpoint, our model set equals the SDK's; per model, our required fields, our full field set (wire names,
   i.e. the `PropertyInfo(alias=...)` when there is one) and, for every top-level Literal-typed field, our enum
   values equal the SDK's.
2. Bodies the SDK accepts are accepted by `runway_core.validate`: a minimal body (required keys only) and a
   maximal one (every key) generated from the SDK types, checked first by pydantic against the SDK TypedDict and
   turned into wire JSON by the SDK's own `maybe_transform` (what its `create()` sends).
3. An unknown model is refused, naming the field `model`.

SDK quirks handled:
- The params modules use `from __future__ import annotations`, so on Python < 3.13 the TypedDicts'
  `__required_keys__` cannot see `Required[...]` (it is empty): requiredness is read from
  `get_type_hints(include_extras=True)` instead (and cross-checked against `__required_keys__` if it is not empty).
- Wire names are `Annotated[..., PropertyInfo(alias=...)]`, at every nesting level.
- Nested unions (`Union[str, Iterable[TD]]`, `Union[int, Literal["auto"]]`, unions of TypedDicts): the minimal body
  takes the first member, the maximal body the last; `Iterable[object]` (untyped in the SDK) is avoided when a
  typed member exists.
"""

from __future__ import annotations

import collections.abc
import functools
import importlib
import inspect
import types
import typing
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional, Union, get_args, get_origin, get_type_hints

import pytest
import typing_extensions
from pydantic import TypeAdapter
from runwayml._utils import PropertyInfo, maybe_transform

import runway_core

# The task-creating generation endpoints (each is `runwayml.resources.<name>`, posting to /v1/<name>).
ENDPOINTS = [
    "image_to_video",
    "text_to_video",
    "video_to_video",
    "text_to_image",
    "character_performance",
    "video_upscale",
    "image_upscale",
    "video_to_hdr",
    "video_to_audio",
    "sound_effect",
    "text_to_speech",
    "speech_to_speech",
    "voice_dubbing",
    "voice_isolation",
    "avatar_videos",
]

# ---------------------------------------------------------------------------------------------------------------
# SDK introspection
# ---------------------------------------------------------------------------------------------------------------

_REQUIRED = {typing_extensions.Required, getattr(typing, "Required", typing_extensions.Required)}
_NOT_REQUIRED = {typing_extensions.NotRequired, getattr(typing, "NotRequired", typing_extensions.NotRequired)}
_UNIONS: set[Any] = {Union, types.UnionType}
_LITERALS: set[Any] = {Literal, typing_extensions.Literal}


@dataclass(frozen=True)
class SdkField:
    name: str  # the SDK's Python name (what TypedDict / pydantic see)
    wire: str  # the JSON name: the PropertyInfo alias when there is one
    type: Any  # with Required/NotRequired/Annotated stripped
    required: bool


@dataclass(frozen=True)
class SdkModel:
    endpoint: str
    model: str
    td: Any  # the TypedDict class
    union: Any  # the endpoint's ...CreateParams (what the SDK's create() transforms against)

    @property
    def id(self) -> str:
        return f"{self.endpoint}/{self.model}"


def strip(tp: Any) -> tuple[Any, Optional[str], Optional[bool]]:
    """(type without Required/NotRequired/Annotated wrappers, PropertyInfo alias, required-ness if marked)."""
    alias: Optional[str] = None
    required: Optional[bool] = None
    while True:
        origin = get_origin(tp)
        if origin in _REQUIRED:
            required, tp = True, get_args(tp)[0]
        elif origin in _NOT_REQUIRED:
            required, tp = False, get_args(tp)[0]
        elif origin is typing_extensions.Annotated or origin is typing.Annotated:
            base, *meta = get_args(tp)
            for m in meta:
                if isinstance(m, PropertyInfo) and m.alias:
                    alias = m.alias
            tp = base
        else:
            return tp, alias, required


def is_typeddict(tp: Any) -> bool:
    return bool(typing_extensions.is_typeddict(tp))


@functools.cache
def td_fields(td: Any) -> tuple[SdkField, ...]:
    out = []
    for name, hint in get_type_hints(td, include_extras=True).items():
        tp, alias, marked = strip(hint)
        required = bool(td.__total__) if marked is None else marked
        out.append(SdkField(name=name, wire=alias or name, type=tp, required=required))
    declared = set(getattr(td, "__required_keys__", ()))
    if declared:  # only trustworthy when annotations are not strings; if present it must agree
        assert declared == {f.name for f in out if f.required}, f"{td.__name__}: __required_keys__ disagrees"
    return tuple(out)


def literal_values(tp: Any) -> Optional[list[Any]]:
    """The Literal values of a type (a Literal, or a Union with Literal members); None if it has none."""
    tp = strip(tp)[0]
    origin = get_origin(tp)
    if origin in _LITERALS:
        return list(get_args(tp))
    if origin in _UNIONS:
        found = [v for m in get_args(tp) for v in (literal_values(m) or [])]
        return found or None
    return None


def params_module(endpoint: str) -> Any:
    """The `..._create_params` module the SDK resource for `endpoint` builds its request from."""
    resource = importlib.import_module(f"runwayml.resources.{endpoint}")
    mods = [
        v
        for v in vars(resource).values()
        if isinstance(v, types.ModuleType) and v.__name__.startswith("runwayml.types.")
        if v.__name__.endswith("_create_params")
    ]
    assert len(mods) == 1, f"{endpoint}: expected one *_create_params module, found {[m.__name__ for m in mods]}"
    return mods[0]


def create_params(endpoint: str) -> Any:
    mod = params_module(endpoint)
    names = [n for n in vars(mod) if n.endswith("CreateParams")]
    assert len(names) == 1, f"{mod.__name__}: expected one ...CreateParams, found {names}"
    return getattr(mod, names[0])


@functools.cache
def sdk_models(endpoint: str) -> tuple[SdkModel, ...]:
    union = create_params(endpoint)
    variants = get_args(union) if get_origin(union) in _UNIONS else (union,)
    out = []
    for td in variants:
        assert is_typeddict(td), f"{endpoint}: {td!r} is not a TypedDict"
        model = {f.name: f for f in td_fields(td)}["model"]
        names = literal_values(model.type)
        assert names is not None and len(names) == 1 and model.required, f"{td.__name__}: model is {model.type!r}"
        out.append(SdkModel(endpoint, str(names[0]), td, union))
    return tuple(out)


ALL_SDK_MODELS = [m for ep in ENDPOINTS for m in sdk_models(ep)]


# ---------------------------------------------------------------------------------------------------------------
# Our side (runway_core's compiled-in catalogue, definitions resolved)
# ---------------------------------------------------------------------------------------------------------------


@functools.cache
def catalogue() -> dict[str, Any]:
    return runway_core.catalogue()


def our_models(endpoint: str) -> dict[str, dict[str, Any]]:
    return {m["model"]: m for m in catalogue()["models"] if m["endpoint"] == endpoint}


def our_model(m: SdkModel) -> dict[str, Any]:
    __tracebackhide__ = True
    ours = our_models(m.endpoint).get(m.model)
    if ours is None:
        known = sorted(our_models(m.endpoint)) or "endpoint not in our catalogue"
        pytest.fail(f"{m.id}: model {m.model!r} is in the SDK but not in our catalogue (ours: {known})")
    return ours


def our_enum_values(spec: dict[str, Any]) -> Optional[list[Any]]:
    """The enum values a field spec allows: {"type": "enum"}, or the enum option(s) of an "any_of"."""
    if spec.get("type") == "enum":
        return list(spec["values"])
    if spec.get("type") == "any_of":
        found = [v for opt in spec["options"] for v in (our_enum_values(opt) or [])]
        return found or None
    return None


def diff(label: str, sdk: set[str], ours: set[str]) -> str:
    parts = []
    if sdk - ours:
        parts.append(f"missing from ours {sorted(sdk - ours)}")
    if ours - sdk:
        parts.append(f"not in the SDK {sorted(ours - sdk)}")
    return f"{label}: " + "; ".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# 1. Structure: models, fields, Literal values
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_sdk_introspection_is_sound(endpoint: str) -> None:
    """The resource we read posts to /v1/<endpoint>, and every variant is a TypedDict naming one model."""
    source = inspect.getsource(importlib.import_module(f"runwayml.resources.{endpoint}"))
    assert f'"/v1/{endpoint}"' in source
    models = [m.model for m in sdk_models(endpoint)]
    assert models and len(models) == len(set(models)), f"{endpoint}: duplicate or no models {models}"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_model_set_matches_sdk(endpoint: str) -> None:
    sdk = {m.model for m in sdk_models(endpoint)}
    ours = set(our_models(endpoint))
    assert ours == sdk, diff(f"{endpoint} models", sdk, ours)


@pytest.mark.parametrize("m", ALL_SDK_MODELS, ids=lambda m: m.id)
def test_required_fields_match_sdk(m: SdkModel) -> None:
    fields = our_model(m)["fields"]
    sdk = {f.wire for f in td_fields(m.td) if f.required and f.name != "model"}
    ours = {k for k, spec in fields.items() if spec.get("required")}
    assert ours == sdk, diff(f"{m.id} required fields", sdk, ours)


@pytest.mark.parametrize("m", ALL_SDK_MODELS, ids=lambda m: m.id)
def test_field_names_match_sdk(m: SdkModel) -> None:
    fields = our_model(m)["fields"]
    sdk = {f.wire for f in td_fields(m.td) if f.name != "model"}
    ours = set(fields)
    assert ours == sdk, diff(f"{m.id} fields", sdk, ours)


@pytest.mark.parametrize("m", ALL_SDK_MODELS, ids=lambda m: m.id)
def test_literal_values_match_sdk(m: SdkModel) -> None:
    fields = our_model(m)["fields"]
    problems = []
    for f in td_fields(m.td):
        sdk_values = literal_values(f.type)
        if f.name == "model" or sdk_values is None:
            continue
        sdk = {str(v) for v in sdk_values}  # compare as strings: Literal[4, 6, 8] vs our enum [4, 6, 8]
        spec = fields.get(f.wire)
        if spec is None:
            problems.append(f"{f.wire}: not in our catalogue (SDK values {sorted(sdk)})")
            continue
        values = our_enum_values(spec)
        if values is None:
            problems.append(f"{f.wire}: SDK has Literal {sorted(sdk)} but our spec has no enum: {spec}")
            continue
        ours = {str(v) for v in values}
        if ours != sdk:
            problems.append(diff(f.wire, sdk, ours))
    assert not problems, f"{m.id} Literal values differ:\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------------------------------------------------------
# 2. Bodies the SDK accepts are accepted by us
# ---------------------------------------------------------------------------------------------------------------

Mode = Literal["minimal", "maximal"]

KIND_EXT = {"image": "png", "video": "mp4", "audio": "mp3"}
# Plain `str` fields whose documentation asks for a format (by SDK Python name).
STR_SAMPLES = {
    "ratio": "1280:720",  # aleph2: free-form "W:H" string
    "language_code": "en",  # "Language code ... such as en or pt"
    "background_color": "#FF8800",  # "a six-digit hex string"
    "colors": "#FF8800",  # items: "six-digit hex values, such as #FF8800"
    "tag": "fox_ref",  # "3-16 characters, start with a letter, and use only letters, digits, and underscores"
}
# Fields whose documentation says they exclude every other generation field: the maximal body leaves them out,
# and each gets its own body (the required keys plus that field).
#   draft_task_id (seedance2_5 text_to_video): "no other generation fields may be provided".
EXCLUSIVE_FIELDS = {"draft_task_id"}
DURATION_CANDIDATES = (5, 4, 8, 10, 6, 3, 2, 15, 12, 1)


def url_kind(key: str, path: tuple[str, ...]) -> Optional[str]:
    """image/video/audio if this str is a media URI, judged by its name, else by the enclosing names."""
    lowered = key.lower()
    for kind in ("video", "audio", "image"):
        if kind in lowered:
            return kind
    if "uri" in lowered or "media" in lowered or "reference" in lowered:
        for name in reversed(path):
            for kind in ("video", "audio", "image"):
                if kind in name.lower():
                    return kind
        return "image"  # e.g. keyframes[].uri, references: images
    return None


def untyped(tp: Any) -> bool:
    """True for SDK types that say nothing about their items (`object`, `Iterable[object]`)."""
    tp = strip(tp)[0]
    if tp is object:
        return True
    return any(untyped(a) for a in get_args(tp)) if get_origin(tp) not in _LITERALS else False


def is_list_type(origin: Any) -> bool:
    return origin in (list, collections.abc.Iterable, collections.abc.Sequence)


class BodyGen:
    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.notes: list[str] = []

    def pick(self, options: list[Any]) -> Any:
        return options[0] if self.mode == "minimal" else options[-1]

    def value(self, tp: Any, key: str, path: tuple[str, ...]) -> Any:
        tp = strip(tp)[0]
        origin = get_origin(tp)
        if origin in _LITERALS:
            return self.pick(list(get_args(tp)))
        if origin in _UNIONS:
            members = [a for a in get_args(tp) if a is not type(None)]
            typed = [a for a in members if not untyped(a)] or members
            return self.value(self.pick(typed), key, path)
        if is_typeddict(tp):
            return self.typeddict(tp, path + (key,))
        if is_list_type(origin):
            (item,) = get_args(tp)
            return [self.value(item, key, path)]
        if tp is object:
            # Iterable[object] with no typed alternative (kling_4 referenceVideos): the SDK gives no item shape.
            # ASSUMPTION, not SDK knowledge: a {uri} object like the model's typed `references` items.
            self.notes.append(f"{key}: untyped in the SDK, sent [{{uri}}]")
            return {"uri": f"https://example.com/a.{KIND_EXT[url_kind(key, path) or 'image']}"}
        if tp is bool:
            return True
        if tp is int or tp is float:
            # Every documented numeric range includes 1. Durations: 5 (top level: probed below when not a Literal;
            # Kling multiPrompt segments: "total duration across all segments must be between 3 and 15 seconds").
            value = 5 if key == "duration" else 1
            return float(value) if tp is float else value
        if tp is str:
            kind = url_kind(key, path)
            if kind is not None:
                return f"https://example.com/a.{KIND_EXT[kind]}"
            if key in STR_SAMPLES:
                return STR_SAMPLES[key]
            if key == "id" or key.endswith("_id"):
                return str(uuid.UUID(int=1))
            return "a red fox running through fresh snow"
        raise AssertionError(f"no generator for {key}: {tp!r} (at {'/'.join(path)})")

    def typeddict(self, td: Any, path: tuple[str, ...]) -> dict[str, Any]:
        fields = td_fields(td)
        # A `type: Literal["video"]` beside a `uri` says what the uri is (act_two's `reference` is a video).
        marker = tuple(str(v) for f in fields if f.name == "type" for v in (literal_values(f.type) or []))
        keep = [f for f in fields if f.required or (self.mode == "maximal" and f.name not in EXCLUSIVE_FIELDS)]
        return {f.name: self.value(f.type, f.name, path + (td.__name__, *marker)) for f in keep}


def _prores(body: dict[str, Any], literal: Callable[[str], list[Any]]) -> None:
    # proresProfile: "Only valid when outputFormat is prores" (hdr_prores where plain prores is not offered).
    if "prores_profile" in body and "output_format" in body:
        body["output_format"] = "prores" if "prores" in literal("output_format") else "hdr_prores"


def _draft(body: dict[str, Any], literal: Callable[[str], list[Any]]) -> None:
    # draft: "Draft mode only supports mp4".
    if body.get("draft") is True and "output_format" in body:
        body["output_format"] = "mp4"


def _mode(body: dict[str, Any], literal: Callable[[str], list[Any]]) -> None:
    # mode: "`extend` ... `ratio` may not be provided. `edit` ... does not accept `ratio`"; reference takes it.
    if "ratio" in body and body.get("mode") in ("extend", "edit"):
        body["mode"] = "reference"


def _frames(body: dict[str, Any], literal: Callable[[str], list[Any]]) -> None:
    # promptImage positions: a lone "last" frame is not a video's first frame; a one-item list says "first".
    images = body.get("prompt_image")
    if isinstance(images, list) and len(images) == 1 and images[0].get("position") == "last":
        images[0]["position"] = "first"


def _window(body: dict[str, Any], literal: Callable[[str], list[Any]]) -> None:
    # aleph2 keyframes[].range: "the keyframe timestamp must fall within it" and end is exclusive: a window [0, 2)
    # holding a keyframe at 0 (seconds) or at 0.0 (fraction of the video).
    for kf in body.get("keyframes", []):
        if "range" in kf:
            kf["range"] = {"start_seconds": 0, "end_seconds": 2}
            for t in ("seconds", "at"):
                if t in kf:
                    kf[t] = 0.0


def _mask(body: dict[str, Any], literal: Callable[[str], list[Any]]) -> None:
    # ideogram_4_5 (reference §5.4): "ratio not allowed with maskUri/preciseEdit" (the edit keeps the image's size).
    if "mask_uri" in body or body.get("precise_edit"):
        body.pop("ratio", None)


# The documented cross-field rules a mechanically generated body can break, applied in order.
CROSS_FIELD_RULES: list[Callable[[dict[str, Any], Callable[[str], list[Any]]], None]] = [
    _prores,
    _draft,
    _mode,
    _frames,
    _window,
    _mask,
]


@dataclass
class Body:
    python: dict[str, Any]  # SDK Python names
    wire: dict[str, Any]  # what the SDK sends
    notes: list[str]


def build_body(m: SdkModel, kind: str) -> Body:
    gen = BodyGen("maximal" if kind == "maximal" else "minimal")
    body = gen.typeddict(m.td, ())
    fields = {f.name: f for f in td_fields(m.td)}
    if kind.startswith("only:"):
        name = kind.removeprefix("only:")
        body[name] = gen.value(fields[name].type, name, (m.td.__name__,))

    def literal(name: str) -> list[Any]:
        return literal_values(fields[name].type) or []

    for rule in CROSS_FIELD_RULES:
        rule(body, literal)

    duration = fields.get("duration")
    value = body.get("duration")
    if duration is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        if value not in (literal_values(duration.type) or []):  # a bare int/float: the SDK gives no range
            probe_duration(m, body, gen.notes)

    # Sanity: the SDK's own types accept the body (pydantic drops unknown keys, so compare the keys too).
    validated = type_adapter(m.td).validate_python(body)
    assert set(validated) == set(body), f"{m.id}: keys pydantic does not know: {set(body) - set(validated)}"
    wire = to_wire(m, body)
    assert set(wire) == {fields[k].wire for k in body}, f"{m.id}: the SDK's wire names are not our reading of them"
    return Body(body, wire, gen.notes)


def to_wire(m: SdkModel, body: dict[str, Any]) -> dict[str, Any]:
    """The JSON the SDK's create() sends: its own transform (aliases applied) against the endpoint's params type."""
    wire = maybe_transform(body, m.union)
    assert isinstance(wire, dict)
    return wire


@functools.cache
def type_adapter(td: Any) -> TypeAdapter[Any]:
    return TypeAdapter(td)


def probe_duration(m: SdkModel, body: dict[str, Any], notes: list[str]) -> None:
    """An int/float duration the SDK does not bound: try values, keep the first our validator has no quarrel with
    (its issues do not point at `duration`). The choice is recorded in the notes."""
    as_float = isinstance(body["duration"], float)
    for candidate in DURATION_CANDIDATES:
        body["duration"] = float(candidate) if as_float else candidate
        wire = to_wire(m, body)
        try:
            runway_core.validate(m.endpoint, wire)
        except runway_core.ValidationError as e:
            paths = [issue.get("path", [])[:1] for issue in e.issues]
            if ["duration"] in paths:
                continue
            if not e.issues or ["model"] in paths:
                notes.append(f"duration {body['duration']}: probe inconclusive (we do not know the model)")
                return
        notes.append(f"duration {body['duration']} chosen by probing our validator")
        return
    body["duration"] = float(DURATION_CANDIDATES[0]) if as_float else DURATION_CANDIDATES[0]
    notes.append(f"no duration in {DURATION_CANDIDATES} accepted; sent {body['duration']}")


def body_cases() -> list[Any]:
    cases = []
    for m in ALL_SDK_MODELS:
        names = {f.name for f in td_fields(m.td)}
        kinds = ["minimal", "maximal"] + [f"only:{n}" for n in sorted(EXCLUSIVE_FIELDS & names)]
        cases += [pytest.param(m, k, id=f"{m.id}/{k}") for k in kinds]
    return cases


@pytest.mark.parametrize(("m", "kind"), body_cases())
def test_sdk_body_is_accepted(m: SdkModel, kind: str, record_property: Callable[[str, object], None]) -> None:
    body = build_body(m, kind)
    for note in body.notes:
        record_property("generator_note", note)
    refusal = None
    try:
        runway_core.validate(m.endpoint, body.wire)
    except runway_core.ValidationError as e:
        refusal = str(e)
    if refusal is not None:  # (failed outside the except block: no chained traceback)
        notes = f"\n  generator notes: {body.notes}" if body.notes else ""
        pytest.fail(f"{m.id}: we refuse a {kind} body the SDK accepts:\n  {refusal}\n  body: {body.wire}{notes}")


# ---------------------------------------------------------------------------------------------------------------
# 3. Unknown models are refused, naming the field
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_unknown_model_is_refused_naming_model(endpoint: str) -> None:
    with pytest.raises(runway_core.ValidationError) as caught:
        runway_core.validate(endpoint, {"model": "no_such_model"})
    message = str(caught.value)
    paths = [issue.get("path") for issue in caught.value.issues]
    assert "model" in message and ["model"] in paths, f"{endpoint}: the refusal does not name `model`: {message!r}"


# ---------------------------------------------------------------------------------------------------------------
# 4. The simulator takes the same bodies and makes the right kind of output
# ---------------------------------------------------------------------------------------------------------------

OUTPUT_EXT = {
    # The SDK's endpoint -> what Runway returns (reference §5-§7): audio endpoints give audio files.
    "text_to_image": (".png", ".svg"), "image_upscale": (".png",),
    "sound_effect": (".mp3", ".wav"), "text_to_speech": (".mp3", ".wav"), "speech_to_speech": (".mp3", ".wav"),
    "voice_dubbing": (".mp3", ".wav"), "voice_isolation": (".mp3", ".wav"), "video_to_audio": (".mp3", ".wav"),
}


async def test_simulator_runs_every_sdk_body() -> None:
    from conftest import FAST_POLL

    import asyncio

    with runway_core.Simulator(task_seconds=0.3) as sim:
        async with runway_core.Client(sim.api_key, sim.base_url, poll=FAST_POLL) as client:
            cases = [(m, kind, build_body(m, kind)) for m in ALL_SDK_MODELS for kind in ("minimal", "maximal")]

            async def run(endpoint: str, wire: dict[str, Any]) -> runway_core.Task:
                # validate=False: the simulator's own check is what is tested here.
                task = await client.create_task(endpoint, wire, validate=False)
                return await client.wait_for_task(task.id, timeout=30)

            done = await asyncio.gather(*(run(m.endpoint, b.wire) for m, _, b in cases), return_exceptions=True)
    problems = []
    for (m, kind, _), t in zip(cases, done):
        if isinstance(t, BaseException):
            problems.append(f"{m.id}/{kind}: {t}")
            continue
        want = OUTPUT_EXT.get(m.endpoint, (".mp4",))
        paths = [u.split("?")[0] for u in t.output]
        if t.status != "SUCCEEDED" or not paths or not all(p.endswith(want) for p in paths):
            problems.append(f"{m.id}/{kind}: {t.status} {paths}")
    assert problems == [], "\n".join(problems)
