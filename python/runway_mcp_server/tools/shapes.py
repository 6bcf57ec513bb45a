"""Runway's body shapes, filled from tool arguments: the small template language the table's rows
use to say how a parameter becomes Runway's JSON (a frame list with positions, a `{type, uri}`
media object, a voice or avatar object), so that no tool needs code of its own for its body.

A shape is JSON with these placeholders:
- `"$name"`: the argument `name` (`"$"`: the parameter the shape belongs to).
- `{"$kind": "name", "of": ["image", "video"]}`: which of those media kinds the argument's file
  name says (by extension), else the first.
- `{"$option": "name"}`: the option of the union Runway takes at this place that the argument fits:
  the one whose list of ids (an enum such as `presetId`) holds it, else the one with a single free
  id field (`id`, `avatarId`, `audioUri`); its `type` tag filled in.
- `{"$text": "Restyle the video: {style}", "else": "..."}`: the arguments formatted into the text;
  `else` (if given) when one is missing.
An object or list item that names a missing argument is left out whole, unless its key ends in
`?` (`"voice?": ...`): then only that entry is left out.
"""

from __future__ import annotations

import string
from typing import Any, Mapping, Optional

from mcp.server.mcpserver.exceptions import ToolError

from runway_core.spec import Scalar, Spec

from .common import closest, one_of

EXTENSIONS = {
    "video": (".mp4", ".mov", ".webm", ".mkv", ".m4v"),
    "audio": (".mp3", ".wav", ".m4a", ".aac", ".ogg", ".flac"),
    "image": (".png", ".jpg", ".jpeg", ".webp", ".gif"),
}


class Absent(Exception):
    """A shape names an argument that was not given."""


def fill(shape: Any, args: Mapping[str, Any], spec: Optional[Spec], own: str = "") -> Any:
    """`shape` with `args` filled in, checked against nothing: the core checks the body. `spec` is
    the catalogue's spec at this place (for `$option`); `own` names the parameter `"$"` stands for.
    Raises Absent when a required part names a missing argument."""
    if isinstance(shape, str) and shape.startswith("$"):
        return _arg(args, shape[1:] or own)
    if isinstance(shape, list):
        items = []
        for item in shape:
            try:
                items.append(fill(item, args, _items(spec), own))
            except Absent:
                continue
        if not items:
            raise Absent
        return items
    if not isinstance(shape, dict):
        return shape
    if "$kind" in shape:
        value = str(_arg(args, shape["$kind"] or own)).lower().split("?")[0]
        kinds: list[str] = shape["of"]
        return next((k for k in kinds if value.endswith(EXTENSIONS.get(k, ()))), kinds[0])
    if "$option" in shape:
        name = shape["$option"] or own
        return option_for(spec, _arg(args, name), name)
    if "$text" in shape:
        try:
            return shape["$text"].format_map({k: _arg(args, k) for k in _names(shape["$text"])})
        except Absent:
            if "else" in shape:
                return shape["else"]
            raise
    out: dict[str, Any] = {}
    tag = shape.get("type")
    for key, sub in shape.items():
        optional = key.endswith("?")
        field = key.rstrip("?")
        try:
            out[field] = fill(sub, args, _field(spec, field, tag), own)
        except Absent:
            if not optional:
                raise
    return out


def _arg(args: Mapping[str, Any], name: str) -> Any:
    value = args.get(name)
    if value is None:
        raise Absent(name)
    return value


def _names(text: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(text) if f]


def _options(spec: Optional[Spec]) -> list[Spec]:
    if spec is None:
        return []
    return list(spec.get("options", [])) if spec["type"] == "any_of" else [spec]


def _tag(option: Spec) -> Optional[Scalar]:
    t = option.get("fields", {}).get("type")
    values = t.get("values", []) if t else []
    return values[0] if len(values) == 1 else None


def _field(spec: Optional[Spec], name: str, tag: Any) -> Optional[Spec]:
    """The spec of field `name` inside `spec` (of the union option tagged `tag`, if a union)."""
    for o in _options(spec):
        if tag is None or _tag(o) in (tag, None):
            f = o.get("fields", {}).get(name)
            if f is not None:
                return f
    return None


def _items(spec: Optional[Spec]) -> Optional[Spec]:
    for o in _options(spec):
        if o["type"] == "array" and "items" in o:
            return o["items"]
    return None


def option_for(spec: Optional[Spec], value: Any, param: str) -> dict[str, Any]:
    """The object of the union `spec` that `value` fits: by a list of ids that holds it, else by
    the option's one free id field."""
    options = [o for o in _options(spec) if o["type"] == "object"]
    if not options:
        raise ToolError(f"{param}: this model takes no {param}")
    for o in options:
        for k, f in o.get("fields", {}).items():
            if k != "type" and f.get("type") == "enum" and value in f.get("values", []):
                return _tagged(o, k, value)
    for o in options:
        free = [k for k, f in o.get("fields", {}).items() if k != "type" and f.get("type") in ("text", "media")]
        if len(free) == 1:
            return _tagged(o, free[0], value)
    ids = ids_of(spec)
    raise ToolError(f"{param}: '{value}' is not one this model takes{closest(value, ids)}; {one_of(ids, param)}")


def ids_of(spec: Optional[Spec]) -> list[Scalar]:
    """The ids an object (or a union of objects) takes from a list: its enum fields besides `type`
    (a voice's `presetId`, an avatar's)."""
    return [v for o in _options(spec) if o["type"] == "object" for k, f in o.get("fields", {}).items()
            if k != "type" and f.get("type") == "enum" for v in f.get("values", [])]


def _tagged(option: Spec, key: str, value: Any) -> dict[str, Any]:
    tag = _tag(option)
    return {"type": tag, key: value} if tag is not None else {key: value}
