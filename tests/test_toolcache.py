"""The tools' schemas kept between starts (toolcache): a server built from the cache lists exactly
what one built eagerly lists and answers calls the same (results, argument errors, the budget
question); a changed input of the key, a corrupt file, a cache folder that cannot be written; and
that a start from the cache really builds no tool (no Tool.from_function, no pydantic model)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.types import ElicitRequestParams, ElicitResult

import runway_core
from runway_mcp_server import catalog, toolcache, tools
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

from conftest import FAST_POLL, text


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder for this test (XDG_CACHE_HOME); the tool files go in runway-mcp-server/."""
    home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home / "runway-mcp-server"


def files(cache: Path) -> list[Path]:
    return sorted(cache.glob("tools-*.json"))


def kinds(server: MCPServer) -> set[str]:
    return {type(t).__name__ for t in server._tool_manager.list_tools()}


def settings(sim: runway_core.Simulator, out: Path, **more: Any) -> Settings:
    return Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(out), max_wait=30, poll=FAST_POLL,
                    progress_interval=0.5, **more)


def pair(sim: runway_core.Simulator, tmp_path: Path, cache: Path, **more: Any) -> tuple[MCPServer, MCPServer]:
    """A server built at a first start (eager; it writes the cache) and one built from the cache."""
    eager = build(settings(sim, tmp_path / "out-eager", **more))
    assert kinds(eager) == {"Tool"} and len(files(cache)) == 1
    lazy = build(settings(sim, tmp_path / "out-lazy", **more))
    assert kinds(lazy) == {"LazyTool"}
    return eager, lazy


async def listing(server: MCPServer) -> str:
    """tools/list as the client receives it, serialized: every field."""
    async with Client(server) as c:
        result = await c.list_tools()
    return json.dumps(result.model_dump(mode="json", by_alias=True))


def same_text(a: str, b: str, *pairs: tuple[str, str]) -> None:
    """Equal but for the task ids and output folders (`pairs`), times and the URLs' signatures."""
    for x, y in pairs:
        b = b.replace(y, x)

    def masked(s: str) -> str:
        s = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "<time>", s)
        return re.sub(r"exp=\d+&sig=[0-9a-f]+", "<signature>", s)

    assert masked(a) == masked(b)


async def test_a_start_from_the_cache_lists_exactly_what_a_first_start_lists(sim, tmp_path, cache):
    eager, lazy = pair(sim, tmp_path, cache)
    first, second = await listing(eager), await listing(lazy)
    assert first == second
    assert len(json.loads(first)["tools"]) == 27
    # And what the SDK's own registration (MCPServer.add_tool) publishes, as before the cache.
    plain = build(settings(sim, tmp_path / "out-plain"))
    plain._tool_manager._tools.clear()
    for s in tools.specs():
        plain.add_tool(s.fn, name=s.name, description=s.description, annotations=s.annotations)
    assert await listing(plain) == first


async def test_calls_on_lazy_tools_answer_as_on_eager_ones(sim, tmp_path, cache):
    eager, lazy = pair(sim, tmp_path, cache)
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
async def test_the_budget_question_on_a_lazy_tool(sim, tmp_path, cache, mode):
    """The guard is a Resolve(...) parameter, wired by the SDK when the real tool is built at the
    first call: asked, answered, refused alike on both."""
    eager, lazy = pair(sim, tmp_path, cache, max_credits=100)
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


def test_a_changed_input_of_the_key_misses_and_rewrites(sim, tmp_path, cache, monkeypatch):
    build(settings(sim, tmp_path / "out"))
    assert kinds(build(settings(sim, tmp_path / "out"))) == {"LazyTool"}
    # The sources, read from a copy: the same bytes elsewhere give the same key, one changed byte another.
    copy = tmp_path / "pkg"
    here, core = toolcache.source_folders()
    shutil.copytree(here, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(toolcache, "source_folders", lambda: (str(copy), core))
    assert kinds(build(settings(sim, tmp_path / "out"))) == {"LazyTool"}
    src = (copy / "tools.py").read_bytes()
    (copy / "tools.py").write_bytes(src.replace(b"Free.", b"Free!", 1))
    assert kinds(build(settings(sim, tmp_path / "out"))) == {"Tool"}
    assert len(files(cache)) == 2
    assert kinds(build(settings(sim, tmp_path / "out"))) == {"LazyTool"}
    # The package's version, the catalogue, the SDK's version: each a miss, then a hit.
    for patch in (lambda: monkeypatch.setattr(runway_core, "__version__", "0.0.0+test"),
                  lambda: monkeypatch.setattr(catalog, "fingerprint", lambda: "another catalogue"),
                  lambda: monkeypatch.setattr("importlib.metadata.version", lambda name: "9.9.9")):
        n = len(files(cache))
        patch()
        assert kinds(build(settings(sim, tmp_path / "out"))) == {"Tool"}
        assert len(files(cache)) == n + 1
        assert kinds(build(settings(sim, tmp_path / "out"))) == {"LazyTool"}


def test_the_catalogue_fingerprint_follows_the_data(monkeypatch):
    import copy

    data = copy.deepcopy(catalog.data())
    monkeypatch.setattr(catalog, "data", lambda: data)
    same = catalog.fingerprint.__wrapped__()
    assert same == catalog.fingerprint()
    data["models"][0]["title"] += " (renamed)"
    assert catalog.fingerprint.__wrapped__() != same


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "another key", "a tool missing", "wrong types"])
async def test_a_corrupt_file_is_ignored_and_replaced(sim, tmp_path, cache, damage):
    eager = build(settings(sim, tmp_path / "out"))
    [path] = files(cache)
    good = path.read_text()
    data = json.loads(good)
    if damage == "garbage":
        path.write_bytes(b"\x00\xff not json")
    elif damage == "truncated":
        path.write_text(good[: len(good) // 2])
    elif damage == "empty":
        path.write_text("")
    elif damage == "another key":
        path.write_text(json.dumps({**data, "key": "0" * 64}))
    elif damage == "a tool missing":
        path.write_text(json.dumps({**data, "tools": data["tools"][1:]}))
    else:
        data["tools"][3]["is_async"] = "yes"
        path.write_text(json.dumps(data))
    again = build(settings(sim, tmp_path / "out"))
    assert kinds(again) == {"Tool"}
    assert path.read_text() == good
    assert kinds(build(settings(sim, tmp_path / "out"))) == {"LazyTool"}
    assert await listing(again) == await listing(eager)


async def test_a_cache_folder_that_cannot_be_written_still_starts(sim, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the folder would be under a file
    first = build(settings(sim, tmp_path / "out"))
    second = build(settings(sim, tmp_path / "out"))
    assert kinds(first) == kinds(second) == {"Tool"}
    async with Client(second) as c:
        assert len((await c.list_tools()).tools) == 27
        r = await c.call_tool("estimate_cost", {"tool": "generate_image_gen4", "arguments": {"prompt_text": "a kite"}})
    assert not r.is_error


def test_a_key_that_cannot_be_made_builds_without_the_cache(sim, tmp_path, cache, monkeypatch):
    from importlib.metadata import PackageNotFoundError

    def missing(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr("importlib.metadata.version", missing)  # an SDK installed without its metadata
    assert kinds(build(settings(sim, tmp_path / "out"))) == {"Tool"}
    assert kinds(build(settings(sim, tmp_path / "out"))) == {"Tool"}
    assert files(cache) == []


async def test_a_cache_that_disagrees_with_the_code_is_removed_at_the_first_call(sim, tmp_path, cache, caplog):
    """A safety net (the key covers every input, so this needs a hand-edited file): the call is
    validated by the real tool, and the next start rebuilds."""
    build(settings(sim, tmp_path / "out"))
    [path] = files(cache)
    data = json.loads(path.read_text())
    entry = next(t for t in data["tools"] if t["name"] == "get_task_status")
    entry["parameters"]["properties"]["task_id"]["description"] = "edited"
    path.write_text(json.dumps(data))
    lazy = build(settings(sim, tmp_path / "out"))
    assert kinds(lazy) == {"LazyTool"}
    with caplog.at_level(logging.WARNING, logger="runway_mcp_server"):
        async with Client(lazy) as c:
            r = await c.call_tool("get_task_status", {"task_id": 5})
    assert r.is_error and "validation error" in text(r)
    assert "differ" in caplog.text and not path.exists()
    assert kinds(build(settings(sim, tmp_path / "out"))) == {"Tool"}


def test_a_miss_removes_other_keys_files_once_they_are_old(sim, tmp_path, cache):
    cache.mkdir(parents=True)
    old, recent, other = cache / "tools-old.json", cache / "tools-recent.json", cache / "notes.txt"
    for f in (old, recent, other):
        f.write_text("{}")
    week_ago = time.time() - toolcache.PRUNE_AFTER_SECONDS - 60
    os.utime(old, (week_ago, week_ago))
    os.utime(other, (week_ago, week_ago))
    build(settings(sim, tmp_path / "out"))
    assert not old.exists() and recent.exists() and other.exists()
    assert len(files(cache)) == 2


def test_cache_folders_follow_each_platforms_convention(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    assert toolcache.cache_dir({"HOME": "/home/u"}) == "/home/u/.cache/runway-mcp-server"
    assert toolcache.cache_dir({"HOME": "/home/u", "XDG_CACHE_HOME": "/c"}) == "/c/runway-mcp-server"
    assert toolcache.cache_dir({"HOME": "/home/u", "XDG_CACHE_HOME": "rel"}) == "/home/u/.cache/runway-mcp-server"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert toolcache.cache_dir({"HOME": "/Users/u", "XDG_CACHE_HOME": "/c"}) == "/Users/u/Library/Caches/runway-mcp-server"
    monkeypatch.setattr(sys, "platform", "win32")
    assert toolcache.cache_dir({"LOCALAPPDATA": "L"}) == os.path.join("L", "runway-mcp-server", "cache")


STARTUP = """
import asyncio, json, sys
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
if sys.argv[1] == "second":
    Tool.from_function = refuse

from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings
server = build(Settings(simulate=True))
listed = asyncio.run(server.list_tools())
print(json.dumps({"made": made, "tools": len(listed), "kinds": sorted({type(t).__name__ for t in server._tool_manager.list_tools()})}))
"""


def test_a_second_start_builds_no_tool(tmp_path):
    """Fresh processes: the first start builds every tool; the second, from the cache, calls
    neither Tool.from_function nor pydantic's create_model for any tool (the only model made is
    the task_output resource template's, which the SDK builds itself)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}

    def start(which: str) -> dict[str, Any]:
        p = subprocess.run([sys.executable, "-c", STARTUP, which], env=env, cwd=tmp_path, capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout.splitlines()[-1])  # type: ignore[no-any-return]

    first = start("first")
    assert first["kinds"] == ["Tool"] and first["tools"] == 27
    assert {f"{s.name}Arguments" for s in tools.specs()} <= set(first["made"])
    second = start("second")
    assert second == {"made": ["task_outputArguments"], "tools": 27, "kinds": ["LazyTool"]}
