"""The tools, listed without being built. The SDK builds a tool from its function
(`Tool.from_function`): a pydantic model of the signature, that model's JSON schema and the result
model's: about 65 ms for our 27 tools, at every start, and most of what a start costs beyond
importing the SDK. Listing a tool needs only the schemas, and the annotations our tools use are a
small closed set (plain types, Optional, Literal, list, dict, `Field` descriptions and limits), so
they are rendered here straight from the signature, as pydantic renders them, in a few ms. The SDK gets
`LazyTool`s carrying those schemas, each building the SDK's own tool on its first call and handing
every call to it: calls are validated and run exactly as before. A signature with anything else in
it is built by the SDK at start, as before. `tests/test_lazytools.py` holds every tool's rendering
to the SDK's, byte for byte."""

from __future__ import annotations

import copy
import inspect
import logging
import types
import typing
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Callable, Literal, Optional, Sequence, Union

import annotated_types
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Resolve
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult
from pydantic import BaseModel, ConfigDict, PrivateAttr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .tools import ToolSpec

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context as Ctx

log = logging.getLogger("runway_mcp_server")


class Unrenderable(Exception):
    """A signature with something this module does not render: the SDK builds that tool."""


class LazyTool(Tool):
    """An SDK tool whose schemas were rendered here: listed without any pydantic work, built for
    real (`Tool.from_function`, as `MCPServer.add_tool` does) on its first call."""

    # Made with model_construct only: its validator is never needed.
    model_config = ConfigDict(defer_build=True)

    _output_schema: Optional[dict[str, Any]] = PrivateAttr(default=None)
    _real: Optional[Tool] = PrivateAttr(default=None)

    @cached_property
    def output_schema(self) -> Optional[dict[str, Any]]:
        return self._output_schema

    def real(self) -> Tool:
        """The SDK's tool for the function, built on first use."""
        if self._real is None:
            real = Tool.from_function(self.fn, name=self.name, title=self.title, description=self.description,
                                      annotations=self.annotations, icons=self.icons, meta=self.meta)
            if entry(real) != entry(self):
                # The tests hold the two equal; another pydantic may render a detail otherwise. The
                # listing still describes the same arguments, and the SDK's tool checks every call.
                log.debug("tool %s: the SDK renders its schemas otherwise than the listing", self.name)
            self._real = real
        return self._real

    async def run(self, arguments: dict[str, Any], context: Ctx[Any, Any], convert_result: bool = False) -> Any:
        return await self.real().run(arguments, context, convert_result=convert_result)


def entry(t: Tool) -> dict[str, Any]:
    """What a listing and a call take from the function."""
    return {"name": t.name, "parameters": t.parameters, "output_schema": t.output_schema, "is_async": t.is_async,
            "context_kwarg": t.context_kwarg}


# ---- rendering: pydantic's JSON schema of the SDK's arguments model, for the forms our tools use ----

_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}
_LIMITS = ((annotated_types.Ge, "ge", "minimum"), (annotated_types.Le, "le", "maximum"),
           (annotated_types.Gt, "gt", "exclusiveMinimum"), (annotated_types.Lt, "lt", "exclusiveMaximum"))
# What else a `Field(...)` may set that reaches a schema: rendered here only while all are unset.
_FIELD_UNSET = ("title", "alias", "serialization_alias", "validation_alias", "examples", "json_schema_extra",
                "deprecated", "discriminator", "default_factory", "field_title_generator")


def _field(f: FieldInfo, s: dict[str, Any]) -> None:
    """Adds a `Field(...)`'s description and limits to `s`."""
    if f.default is not PydanticUndefined or any(getattr(f, a, None) is not None for a in _FIELD_UNSET):
        raise Unrenderable(repr(f))
    # Limits of a plain number only: pydantic renders them otherwise on a union or an enum.
    if f.metadata and (s.get("type") not in ("integer", "number")
                       or set(s) - {"type", "description"} - {key for _, _, key in _LIMITS}):
        raise Unrenderable(repr(f))
    for m in f.metadata:
        name = next(((attr, key) for kind, attr, key in _LIMITS if type(m) is kind), None)
        value = getattr(m, name[0]) if name else None
        if name is None or type(value) not in (int, float):
            raise Unrenderable(repr(m))
        s[name[1]] = value
    if f.description is not None:
        s["description"] = f.description


def _schema(a: Any) -> dict[str, Any]:
    """The JSON schema pydantic gives the annotation `a`."""
    origin = typing.get_origin(a)
    if isinstance(a, type) and a in _TYPES:
        return {"type": _TYPES[a]}
    if origin is Annotated:
        s = _schema(typing.get_args(a)[0])
        for m in a.__metadata__:
            if not isinstance(m, FieldInfo):
                raise Unrenderable(repr(m))
            _field(m, s)
        return s
    if origin is Union or origin is types.UnionType:
        alts: list[dict[str, Any]] = []
        for x in typing.get_args(a):
            s = {"type": "null"} if x is type(None) else _schema(x)
            alts += s["anyOf"] if list(s) == ["anyOf"] else [s]  # a bare inner union is spliced in
        return {"anyOf": alts}
    if origin is Literal:
        values = typing.get_args(a)
        kinds = {type(v) for v in values}
        if len(kinds) != 1 or next(iter(kinds)) not in _TYPES:
            raise Unrenderable(repr(a))
        s = {"const": values[0]} if len(values) == 1 else {"enum": list(values)}
        return {**s, "type": _TYPES[next(iter(kinds))]}
    if origin is dict and typing.get_args(a) == (str, Any):
        return {"additionalProperties": True, "type": "object"}
    if origin is list and len(typing.get_args(a)) == 1:
        return {"items": _schema(typing.get_args(a)[0]), "type": "array"}
    raise Unrenderable(repr(a))


def _sorted(value: Any, parent: Optional[str] = None) -> Any:
    """Keys in pydantic's order: sorted at every level but a properties' list and a default value."""
    if isinstance(value, dict):
        keys = value if parent in ("properties", "default") else sorted(value)
        return {k: _sorted(value[k], k) for k in keys}
    if isinstance(value, list):
        return [_sorted(v, parent) for v in value]
    return value


def _is_context(a: Any) -> bool:
    return inspect.isclass(a) and issubclass(a, Context)


def _is_resolved(a: Any) -> bool:
    return typing.get_origin(a) is Annotated and any(isinstance(m, Resolve) for m in a.__metadata__)


def input_schema(fn: Callable[..., Any], sig: inspect.Signature) -> dict[str, Any]:
    """The tool's `parameters`: the context and `Resolve(...)` parameters left out, as the SDK does."""
    props: dict[str, Any] = {}
    required: list[str] = []
    for p in sig.parameters.values():
        if _is_context(p.annotation) or _is_resolved(p.annotation):
            continue
        if (p.annotation is inspect.Parameter.empty or p.name.startswith("_") or hasattr(BaseModel, p.name)
                or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)):
            raise Unrenderable(f"parameter {p.name}")  # the SDK types, renames or refuses these
        s = {**_schema(p.annotation), "title": p.name.title().replace("_", " ")}
        if p.default is inspect.Parameter.empty:
            required.append(p.name)
        elif p.default is None or type(p.default) in _TYPES:
            s["default"] = p.default
        else:
            raise Unrenderable(f"default of {p.name}")
        props[p.name] = s
    schema: dict[str, Any] = {"properties": props, "title": f"{fn.__name__}Arguments", "type": "object"}
    if required:
        schema["required"] = required
    return typing.cast(dict[str, Any], _sorted(schema))


def output_schema(sig: inspect.Signature, models: dict[type, dict[str, Any]]) -> dict[str, Any]:
    """The published result schema of a tool returning `Annotated[CallToolResult, Model]`: the model's
    (`models` keeps each model's, as tools share them)."""
    ann = sig.return_annotation
    meta: tuple[Any, ...] = getattr(ann, "__metadata__", ())
    model = meta[0] if len(meta) == 1 else None
    if not (typing.get_origin(ann) is Annotated and typing.get_args(ann)[0] is CallToolResult
            and inspect.isclass(model) and issubclass(model, BaseModel)):
        raise Unrenderable("return annotation")
    if model not in models:
        models[model] = model.model_json_schema()
    schema = models[model]
    if "$ref" in schema:  # a self-referential model: the SDK inlines its root
        raise Unrenderable("self-referential result model")
    return copy.deepcopy(schema)


def lazy(s: ToolSpec, models: dict[type, dict[str, Any]]) -> LazyTool:
    """A tool carrying rendered schemas; Unrenderable when its signature has a form not handled here."""
    if not inspect.isfunction(s.fn):  # a partial, a callable object: the SDK knows how to call those
        raise Unrenderable("not a function")
    sig = inspect.signature(s.fn, eval_str=True)
    context = next((p.name for p in sig.parameters.values() if _is_context(p.annotation)), None)
    # The fields Tool.from_function would set; fn_metadata and the resolvers are left to the real
    # tool (nothing but Tool.run reads them).
    t = LazyTool.model_construct(fn=s.fn, name=s.name, title=None, description=s.description or s.fn.__doc__ or "",
                                 parameters=input_schema(s.fn, sig), is_async=inspect.iscoroutinefunction(s.fn),
                                 context_kwarg=context, annotations=s.annotations, icons=None, meta=None)
    t._output_schema = output_schema(sig, models)
    return t


def build_tools(specs: Sequence[ToolSpec]) -> list[Tool]:
    """The SDK tools for `specs`: lazy ones where the signature renders here, else built now."""
    models: dict[type, dict[str, Any]] = {}
    out: list[Tool] = []
    for s in specs:
        try:
            out.append(lazy(s, models))
        except Unrenderable as e:
            log.debug("tool %s built at start: %s", s.name, e)
            out.append(Tool.from_function(s.fn, name=s.name, description=s.description, annotations=s.annotations))
    return out
