"""The tools listed from their signatures (lazytools): every tool, and every annotation form the
renderer takes, lists byte for byte what the SDK's own build lists; a form it does not take is
built by the SDK at start; calls on lazy tools answer as on the SDK's (results, argument errors,
the budget question); and a start really builds no tool (no Tool.from_function, no pydantic model)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Optional, Union

import pytest
from mcp import Client
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

import runway_core
from runway_mcp_server import lazytools, tools
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

from conftest import FAST_POLL, text


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")
    task_id: str
    count: Optional[int] = None


class Inner(BaseModel):
    name: str


class Nested(BaseModel):
    items: list[Inner]
    note: Optional[str] = None


def sdk(fn: Callable[..., Any], name: str = "t") -> Tool:
    return Tool.from_function(fn, name=name, description="d", annotations=tools.LOCAL)


def rendered(fn: Callable[..., Any], name: str = "t") -> lazytools.LazyTool:
    return lazytools.lazy(tools.ToolSpec(fn, name, "d", tools.LOCAL), {})


def listed(t: Tool) -> str:
    return json.dumps(lazytools.entry(t))


def kinds(server: MCPServer) -> set[str]:
    return {type(t).__name__ for t in server._tool_manager.list_tools()}


def settings(sim: runway_core.Simulator, out: Path, **more: Any) -> Settings:
    return Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(out), max_wait=30, poll=FAST_POLL,
                    progress_interval=0.5, **more)


def pair(sim: runway_core.Simulator, tmp_path: Path, **more: Any) -> tuple[MCPServer, MCPServer]:
    """The server as it starts (lazy tools), and the same server with the tools registered by the
    SDK's own MCPServer.add_tool, as before lazytools."""
    lazy = build(settings(sim, tmp_path / "out-lazy", **more))
    assert kinds(lazy) == {"LazyTool"}
    eager = build(settings(sim, tmp_path / "out-eager", **more))
    eager._tool_manager._tools.clear()
    for s in tools.specs():
        eager.add_tool(s.fn, name=s.name, description=s.description, annotations=s.annotations)
    assert kinds(eager) == {"Tool"}
    return eager, lazy


async def listing(server: MCPServer) -> str:
    """tools/list as the client receives it, serialized: every field."""
    async with Client(server) as c:
        result = await c.list_tools()
    return json.dumps(result.model_dump(mode="json", by_alias=True))


def test_every_tool_renders_as_the_sdk_builds_it():
    specs = tools.specs()
    built = lazytools.build_tools(specs)
    assert [type(t) for t in built] == [lazytools.LazyTool] * len(specs)
    for s, t in zip(specs, built):
        assert listed(t) == listed(sdk(s.fn, s.name)), s.name


async def test_tools_list_is_what_the_sdks_registration_lists(sim, tmp_path):
    eager, lazy = pair(sim, tmp_path)
    first = await listing(eager)
    assert await listing(lazy) == first
    assert [t["name"] for t in json.loads(first)["tools"]] == [s.name for s in tools.specs()]


# Every form the renderer takes, alone and combined as the tools combine them.
FORMS: list[tuple[Any, Any]] = [
    (str, ...), (int, ...), (float, ...), (bool, ...), (dict[str, Any], ...), (list[str], ...),
    (list[dict[str, Any]], ...), (Optional[str], None), (Optional[int], 3), (Optional[bool], True),
    (Optional[float], 2.5), (str, "x"), (Literal["a", "b"], ...), (Literal[1, 2, 4], ...), (Literal["only"], "only"),
    (Optional[Literal["a", "b"]], None), (Union[int, Literal["auto"]], ...), (Optional[Union[int, Literal["auto"]]], None),
    (Annotated[str, Field(description="a path")], ...), (Annotated[int, Field(ge=1, le=5)], ...),
    (Annotated[float, Field(gt=0, lt=10.5, description="secs")], ...),
    (Optional[Annotated[int, Field(ge=2, description="n")]], None),
    (Annotated[Optional[str], Field(description="e.g. x")], None),
    (Optional[Annotated[Optional[Literal["a", "b"]], Field(description="k")]], None),
    (Optional[Annotated[list[dict[str, Any]], Field(description="[{uri}]")]], None),
    (Annotated[Annotated[int, Field(ge=0)], Field(description="nested")], ...),
]


def function(annotation: Any, default: Any, returns: Any = Annotated[CallToolResult, Out]) -> Callable[..., Any]:
    async def t(ctx: Context, **kw: Any) -> Any:
        return None

    import inspect

    kw_only = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("ctx", kw_only, annotation=Context)]
    if default is ...:
        params.append(inspect.Parameter("value", kw_only, annotation=annotation))
    else:
        params.append(inspect.Parameter("value", kw_only, annotation=annotation, default=default))
    params.append(inspect.Parameter("other_value", kw_only, annotation=Optional[str], default=None))
    setattr(t, "__signature__", inspect.Signature(params, return_annotation=returns))
    return t


@pytest.mark.parametrize("annotation,default", FORMS, ids=[repr(a) for a, _ in FORMS])
def test_each_form_renders_as_pydantic_renders_it(annotation, default):
    fn = function(annotation, default)
    assert listed(rendered(fn)) == listed(sdk(fn))


def test_results_and_sync_functions_render_as_the_sdk_builds_them():
    def plain(path: Annotated[str, Field(description="p")], n: int = 2) -> Annotated[CallToolResult, Nested]:
        return CallToolResult(content=[])

    assert listed(rendered(plain)) == listed(sdk(plain))
    assert rendered(plain).is_async is False and rendered(plain).context_kwarg is None
    assert "$defs" in json.loads(listed(rendered(plain)))["output_schema"]


class Typed(TypedDict):
    uri: str


async def untyped(ctx: Context, value) -> Annotated[CallToolResult, Out]:  # type: ignore[no-untyped-def]
    return CallToolResult(content=[])


# Forms the renderer leaves to the SDK: anything it cannot be sure to render as pydantic does.
UNRENDERED: list[Callable[..., Any]] = [
    function(Annotated[str, Field(pattern="^a")], ...),
    function(Annotated[str, Field(min_length=2)], ...),
    function(Annotated[str, Field(title="Custom")], ...),
    function(Annotated[str, Field(examples=["x"])], ...),
    function(Annotated[str, Field(json_schema_extra={"x-a": 1})], ...),
    function(Typed, ...),
    function(Literal[1, "a"], ...),
    function(Optional[Annotated[Union[int, Literal["auto"]], Field(ge=2, le=10)]], None),
    function(Annotated[Literal[1, 2], Field(ge=1)], ...),
    function(dict[str, int], ...),
    function(tuple[int, int], (1, 2)),
    function(str, ..., returns=str),
    function(str, ..., returns=Annotated[CallToolResult, Out, Field(description="x")]),
    untyped,
]


@pytest.mark.parametrize("fn", UNRENDERED, ids=range(len(UNRENDERED)))
def test_other_forms_are_built_by_the_sdk_at_start(fn):
    with pytest.raises(lazytools.Unrenderable):
        rendered(fn)
    [t] = lazytools.build_tools([tools.ToolSpec(fn, "t", "d", tools.LOCAL)])
    assert type(t) is Tool and listed(t) == listed(sdk(fn))


def test_a_parameter_pydantic_would_rename_is_left_to_the_sdk():
    async def shadow(ctx: Context, copy: str) -> Annotated[CallToolResult, Out]:  # BaseModel.copy
        return CallToolResult(content=[])

    with pytest.raises(lazytools.Unrenderable):
        rendered(shadow)


def same_text(a: str, b: str, *pairs: tuple[str, str]) -> None:
    """Equal but for the task ids and output folders (`pairs`), times and the URLs' signatures."""
    for x, y in pairs:
        b = b.replace(y, x)

    def masked(s: str) -> str:
        s = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "<time>", s)
        return re.sub(r"exp=\d+&sig=[0-9a-f]+", "<signature>", s)

    assert masked(a) == masked(b)


async def test_calls_on_lazy_tools_answer_as_on_the_sdks(sim, tmp_path):
    eager, lazy = pair(sim, tmp_path)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("generate_video_text_to_video", {"prompt_text": "a red fox in snow", "duration": 4}),
        ("generate_video_text_to_video", {"prompt_text": "a red fox", "duration": "long"}),  # pydantic's error
        ("generate_video_text_to_video", {"duration": 4}),  # a required parameter missing
        ("generate_video_text_to_video", {"prompt_text": "x", "duration": 99}),  # the core's range check
        ("get_task_status", {"task_id": "00000000-0000-0000-0000-000000000000"}),
        ("estimate_cost", {"tool": "generate_image_gen4", "arguments": {"prompt_text": "a kite"}}),
        ("list_available_models", {"output": "audio"}),
        ("describe_model", {"model": "no-such-model"}),
    ]
    results: list[list[Any]] = []
    for server in (eager, lazy):
        async with Client(server) as c:
            rs = [await c.call_tool(name, args) for name, args in calls]
            task_id = rs[0].structured_content["task_id"]
            rs.append(await c.call_tool("get_task_status", {"task_id": task_id}))
        results.append([(r.is_error, text(r), r.structured_content) for r in rs] + [task_id])
    (*e, e_id), (*l, l_id) = results
    assert not e[0][0] and e[0][2]["status"] == "SUCCEEDED"
    assert [r[0] for r in e] == [False, True, True, True, True, False, False, True, False]
    assert "for generate_video_text_to_videoArguments" in e[1][1]
    out_e, out_l = str(tmp_path / "out-eager"), str(tmp_path / "out-lazy")
    for a, b in zip(e, l):
        assert a[0] == b[0]
        same_text(a[1], b[1], (e_id, l_id), (out_e, out_l))
        same_text(json.dumps(a[2]), json.dumps(b[2]), (e_id, l_id), (out_e, out_l))


class Asker:
    def __init__(self, spend: bool) -> None:
        self.spend = spend
        self.asked: list[str] = []

    async def __call__(self, context: Any, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params.message)
        return ElicitResult(action="accept", content={"spend": self.spend})


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_the_budget_question_on_a_lazy_tool(sim, tmp_path, mode):
    """The guard is a Resolve(...) parameter, wired by the SDK when the real tool is built at the
    first call: asked, answered, refused alike on both."""
    eager, lazy = pair(sim, tmp_path, max_credits=100)
    veo = {"prompt_text": "a lighthouse at dusk", "duration": 8, "audio": True, "wait_for_completion": False}
    seen = []
    for server in (eager, lazy):
        for spend in (True, False):
            asker = Asker(spend)
            async with Client(server, elicitation_callback=asker, mode=mode) as c:  # type: ignore[arg-type]
                r = await c.call_tool("generate_video_text_to_video", veo)
            seen.append((asker.asked, r.is_error, re.sub(r"[0-9a-f-]{36}", "<id>", text(r))))
    assert seen[:2] == seen[2:]
    (asked, error, _), (_, refused, said) = seen[:2]
    assert len(asked) == 1 and "320 credits ($3.20)" in asked[0] and not error
    assert refused and "declined" in said


async def test_the_sdks_tool_checks_calls_whatever_the_listing_says(sim, tmp_path, caplog):
    """If another pydantic rendered a detail otherwise, the SDK's own tool still validates every call."""
    lazy = build(settings(sim, tmp_path / "out"))
    t = lazy._tool_manager.get_tool("get_task_status")
    assert isinstance(t, lazytools.LazyTool)
    t.parameters["properties"]["task_id"]["description"] = "edited"
    with caplog.at_level(logging.DEBUG, logger="runway_mcp_server"):
        async with Client(lazy) as c:
            r = await c.call_tool("get_task_status", {"task_id": 5})
    assert r.is_error and "validation error" in text(r)
    assert "renders its schemas otherwise" in caplog.text


STARTUP = """
import asyncio, json
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities import func_metadata

made = []
create_model = func_metadata.create_model
def spy(model_name, /, *args, **kwargs):
    made.append(model_name)
    return create_model(model_name, *args, **kwargs)
func_metadata.create_model = spy
def refuse(*args, **kwargs):
    raise AssertionError("Tool.from_function at startup")
Tool.from_function = refuse

from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings
server = build(Settings(simulate=True))
listed = asyncio.run(server.list_tools())
print(json.dumps({"made": made, "tools": len(listed), "kinds": sorted({type(t).__name__ for t in server._tool_manager.list_tools()})}))
"""


def test_a_start_builds_no_tool(tmp_path):
    """A fresh process, as a first start after an install: neither Tool.from_function nor pydantic's
    create_model for any tool (the only model made is the task_output resource template's, which
    the SDK builds itself)."""
    env = {**os.environ, "HOME": str(tmp_path)}
    p = subprocess.run([sys.executable, "-c", STARTUP], env=env, cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.splitlines()[-1]) == {"made": ["task_outputArguments"], "tools": len(tools.specs()),
                                                     "kinds": ["LazyTool"]}
