"""The MCP server end to end: a real server process over stdio, driven by the MCP SDK's own client,
against the simulator (run in this test process so its request log can be inspected)."""

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

import runway_core

from runway_mcp_server import catalogue as cat
from runway_mcp_server.tools.generate import generator

from conftest import api_requests, data, text

GENERATORS = [
    "generate_image_gen4", "generate_video_text_to_video", "generate_video_image_to_video",
    "generate_video_first_last_frame", "edit_video_with_aleph", "restyle_video", "extend_video", "upscale_video_4k",
    "generate_audio", "process_audio", "animate_character", "upscale_image", "add_audio_to_video",
    "convert_video_to_hdr", "generate_avatar_video",
]
ALL_TOOLS = set(GENERATORS) | {"get_task_status", "cancel_task", "list_available_models", "get_api_info", "wait_for_task",
                               "upload_file", "list_voices", "describe_model", "estimate_cost", "get_credits", "list_tasks",
                               "batch_generate_videos", "toolsets"}
IMG = "https://example.com/frame.png"
VID = "https://example.com/clip.mp4"
UNKNOWN_ID = "0f2c6f80-1111-4222-8333-444455556666"


def server_env(sim=None, **extra):
    import tempfile

    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "RUNWAY_MCP_PROGRESS_INTERVAL": "0.5",
           "RUNWAY_MCP_OUTPUT_DIR": tempfile.mkdtemp(prefix="runway-mcp-test-out-"),
           # Never the user's own journal.
           "RUNWAY_MCP_JOURNAL": os.path.join(tempfile.mkdtemp(prefix="runway-mcp-test-journal-"), "j.sqlite3")}
    if sim is not None:
        env.update(RUNWAYML_API_SECRET=sim.api_key, RUNWAYML_BASE_URL=sim.base_url)
    env.update({k: str(v) for k, v in extra.items()})
    return env


@asynccontextmanager
async def server(sim=None, args=(), **env):
    params = StdioServerParameters(command=sys.executable, args=["-m", "runway_mcp_server", *args], env=server_env(sim, **env))
    async with Client(params, mode="legacy") as c:
        yield c


@pytest.fixture
def sim():
    s = runway_core.Simulator(task_seconds=1.0)
    yield s
    s.close()




@pytest.mark.smoke
async def test_tools_schemas_and_annotations(sim):
    async with server(sim) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
    assert set(tools) == ALL_TOOLS
    for name in GENERATORS:
        t = tools[name]
        assert t.output_schema and "task_id" in t.output_schema["properties"], name
        a = t.annotations
        assert (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint) == (False, False, False, True), name
        # A price range when some of the tool's models has a published price.
        g = generator(name)
        assert ("Cost:" in t.description) == any(m.cost for m in cat.select(g.endpoints, g.tag)), name
        props = t.input_schema["properties"]
        assert {"options", "wait_for_completion", "max_wait_seconds"} <= set(props), name
    assert "40 credits/s" in tools["generate_video_text_to_video"].description
    assert tools["cancel_task"].annotations.destructive_hint is True
    # They save a finished task's outputs on this machine: not read-only.
    for name in ("get_task_status", "wait_for_task"):
        assert tools[name].annotations.read_only_hint is False and tools[name].annotations.idempotent_hint is True
    for name in ("list_available_models", "describe_model", "get_api_info"):
        assert tools[name].annotations.read_only_hint is True and tools[name].annotations.open_world_hint is False
    # 0.1.0's parameter names are kept.
    assert {"prompt_text", "model", "ratio", "duration", "seed"} <= set(tools["generate_video_text_to_video"].input_schema["properties"])
    assert {"first_frame", "last_frame"} <= set(tools["generate_video_first_last_frame"].input_schema["properties"])
    assert "extension_duration" in tools["extend_video"].input_schema["properties"]


@pytest.mark.smoke
async def test_every_generation_tool_succeeds(sim):
    calls = {
        "generate_image_gen4": {"prompt_text": "a lighthouse at dawn"},
        "generate_video_text_to_video": {"prompt_text": "waves", "model": "gen4.5"},
        "generate_video_image_to_video": {"prompt_image": IMG, "prompt_text": "the camera pulls back"},
        "generate_video_first_last_frame": {"first_frame": IMG, "last_frame": IMG, "prompt_text": "day turns to night"},
        "edit_video_with_aleph": {"input_video": VID, "prompt_text": "make it snow", "reference_image": IMG},
        "restyle_video": {"input_video": VID, "style_prompt": "watercolor"},
        "extend_video": {"input_video": VID, "extension_duration": 6},
        "upscale_video_4k": {"input_video": VID},
    }
    async with server(sim) as c:
        results = await asyncio.gather(*(c.call_tool(name, args) for name, args in calls.items()))
    for (name, _), r in zip(calls.items(), results):
        d = data(r)
        assert not r.is_error, (name, text(r))
        assert d["status"] == "SUCCEEDED" and len(d["outputs"]) == 1 and d["simulated"] is False, name
        assert d["task_id"] in text(r)
    models = {name: data(r)["model"] for (name, _), r in zip(calls.items(), results)}
    assert models["generate_image_gen4"] == "gen4_image" and models["generate_video_first_last_frame"] == "veo3.1"
    assert models["extend_video"] == "seedance2_5" and models["upscale_video_4k"] == "magnific_video_upscaler_creative"
    assert data(results[1])["estimated_cost_credits"] == 60 and data(results[1])["cost_credits"] == 60
    # The simulator validates every body per model, so each success was a body Runway accepts.
    posts = sorted(r["path"] for r in api_requests(sim, "POST"))
    assert posts == sorted(["/v1/text_to_image", "/v1/text_to_video", "/v1/image_to_video", "/v1/image_to_video",
                            "/v1/video_to_video", "/v1/video_to_video", "/v1/video_to_video", "/v1/video_upscale"])


async def test_progress_notifications(sim):
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    async with server(sim) as c:
        r = await c.call_tool("generate_video_text_to_video", {"prompt_text": "x [sim:seconds=7]", "model": "gen4.5"},
                              progress_callback=on_progress)
    task_id = data(r)["task_id"]
    assert len(seen) >= 5, seen
    values = [p for p, _, _ in seen]
    assert values == sorted(values) and len(set(values)) == len(values), "progress must increase"
    assert all(total == 100 and task_id in msg for _, total, msg in seen)
    assert any("RUNNING" in msg for _, _, msg in seen) and values[-1] == 100


async def test_wait_cap_returns_the_id_then_wait_for_task_finishes(sim):
    async with server(sim, RUNWAY_MCP_MAX_WAIT=1) as c:
        r = await c.call_tool("generate_video_text_to_video", {"prompt_text": "x [sim:seconds=6]", "model": "gen4.5"})
        d = data(r)
        assert not r.is_error and d["status"] in ("PENDING", "RUNNING")
        assert "wait_for_task" in d["next_step"] and d["task_id"] in d["next_step"]
        r = await c.call_tool("wait_for_task", {"task_id": d["task_id"], "max_wait_seconds": 20})
        assert not r.is_error and data(r)["status"] == "SUCCEEDED" and data(r)["model"] == "gen4.5"
        # Without waiting: the id comes back at once.
        r = await c.call_tool("generate_image_gen4", {"prompt_text": "x", "wait_for_completion": False})
        assert data(r)["status"] == "SUBMITTED" and data(r)["estimated_cost_credits"] == 8
    assert sim.tasks_created == 2


async def test_failed_task_is_a_tool_error_with_its_code_and_id(sim):
    async with server(sim) as c:
        r = await c.call_tool("generate_video_text_to_video", {"prompt_text": "x [sim:fail=SAFETY.INPUT.TEXT]", "model": "gen4.5"})
        assert r.is_error
        d = data(r)
        assert d["status"] == "FAILED" and d["failure_code"] == "SAFETY.INPUT.TEXT"
        assert d["task_id"] in text(r) and "SAFETY.INPUT.TEXT" in text(r) and "moderation" in text(r)
        assert "retrying the same input will fail" in d["next_step"]
        assert not (await c.call_tool("get_api_info", {})).is_error  # still up


async def test_bad_input_is_refused_and_nothing_is_sent(sim):
    bad = [
        ("generate_video_text_to_video", {"prompt_text": "x", "duration": 5}, ["duration", "4, 6, 8"]),
        ("generate_video_text_to_video", {"prompt_text": "x", "ratio": "1:1"}, ["ratio"]),
        ("generate_video_image_to_video", {"prompt_image": IMG, "model": "gen4.5"}, ["promptText", "required"]),
        ("generate_video_image_to_video", {"prompt_image": "http://example.com/a.png"}, ["promptImage", "only HTTPS"]),
        ("generate_image_gen4", {"prompt_text": "x", "model": "gen4_image_turbo"}, ["referenceImages", "required"]),
        ("generate_image_gen4", {"prompt_text": "x", "reference_images": [{"uri": IMG, "tag": "1bad"}]}, ["tag"]),
        ("generate_video_text_to_video", {"prompt_text": "é" * 1001, "model": "gen4.5"}, ["promptText", "1001", "at most 1000"]),
        ("restyle_video", {"input_video": VID}, ["style_prompt"]),
        ("get_task_status", {"task_id": "../organization"}, ["task_id", "not a Runway task id"]),
    ]
    async with server(sim) as c:
        for tool, args, needles in bad:
            r = await c.call_tool(tool, args)
            assert r.is_error, (tool, args)
            for n in needles:
                assert n in text(r), (tool, args, text(r))
        assert not (await c.call_tool("get_api_info", {})).is_error
    assert api_requests(sim) == [], "bad input must not reach the API"


async def test_runway_errors_reach_the_agent(sim):
    sim.inject_fault("status", status=400, method="POST", body={"error": "You do not have enough credits to run this task."})
    sim.inject_fault("status", status=502, method="POST")
    async with server(sim) as c:
        r = await c.call_tool("generate_video_text_to_video", {"prompt_text": "x", "model": "gen4.5"})
        assert r.is_error and "You do not have enough credits" in text(r)
        r = await c.call_tool("generate_video_text_to_video", {"prompt_text": "x", "model": "gen4.5"})
        assert r.is_error and "may have created" in text(r)
        r = await c.call_tool("get_task_status", {"task_id": UNKNOWN_ID})
        assert r.is_error and "404" in text(r) and UNKNOWN_ID in text(r)
    assert len(api_requests(sim, "POST")) == 2, "an ambiguous create is never retried"


async def test_status_and_cancel(sim):
    async with server(sim) as c:
        r = await c.call_tool("generate_video_text_to_video", {"prompt_text": "x [sim:seconds=30]", "model": "gen4.5", "wait_for_completion": False})
        running = data(r)["task_id"]
        r = await c.call_tool("get_task_status", {"task_id": running})
        assert data(r)["status"] in ("PENDING", "RUNNING") and data(r)["model"] == "gen4.5"
        r = await c.call_tool("cancel_task", {"task_id": running})
        assert data(r)["action"] == "cancelled" and data(r)["previous_status"] in ("PENDING", "RUNNING")
        r = await c.call_tool("cancel_task", {"task_id": running})
        assert data(r)["action"] == "already_gone"
        r = await c.call_tool("generate_image_gen4", {"prompt_text": "x"})
        finished = data(r)["task_id"]
        r = await c.call_tool("get_task_status", {"task_id": finished})
        assert data(r)["status"] == "SUCCEEDED" and data(r)["outputs"]
        r = await c.call_tool("cancel_task", {"task_id": finished})  # this client cannot ask: refused
        assert r.is_error and "Not deleted" in text(r) and finished in text(r)
    assert [d["path"] for d in api_requests(sim, "DELETE")] == [f"/v1/tasks/{running}"] * 2


async def test_client_cancellation_stops_waiting_but_not_the_task(sim):
    async with server(sim) as c:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(
                c.call_tool("generate_video_text_to_video", {"prompt_text": "x [sim:seconds=60]", "model": "gen4.5"}), 6.5)
        await asyncio.sleep(0.5)
        polls = len(api_requests(sim, "GET", "/v1/tasks/"))
        await asyncio.sleep(3)
        assert len(api_requests(sim, "GET", "/v1/tasks/")) == polls, "the server kept polling after the client cancelled"
        assert api_requests(sim, "DELETE") == [], "cancelling the request must not cancel the Runway task"
        r = await c.call_tool("get_api_info", {})
        assert not r.is_error
    assert polls >= 1


async def test_models_and_api_info(sim):
    async with server(sim, RUNWAY_MCP_MAX_WAIT=30) as c:
        r = await c.call_tool("list_available_models", {})
        rows = data(r)["models"]
        # Every model an agent chooses; recipes and router generation have one fixed model each.
        assert len(rows) == len([m for m in runway_core.models() if not m.get("fixed")])
        t2v = {m["model"]: m for m in rows if "generate_video_text_to_video" in m["tools"]}
        assert {"gen4.5", "veo3.1", "veo3.1_fast", "kling3.0_pro", "seedance2"} <= set(t2v)
        assert "40 credits/s" in t2v["veo3.1"]["cost"] and "audio_output" in t2v["veo3.1"]["tags"]
        r = await c.call_tool("get_api_info", {})
        d = data(r)
        assert d["base_url"] == sim.base_url and d["api_key_set"] and not d["simulated"] and d["max_wait_seconds"] == 30
        assert d["output_dir"].startswith(tempfile.gettempdir()) and d["input_dirs"] is None
        assert sim.api_key not in json.dumps(d) + text(r)
    assert api_requests(sim) == []


async def test_simulate_mode_needs_no_key():
    async with server(None, ["--simulate"], RUNWAY_MCP_SIM_TASK_SECONDS=1) as c:
        d = data(await c.call_tool("get_api_info", {}))
        assert d["simulated"] and d["api_key_set"] and d["base_url"].startswith("http://127.0.0.1:")
        r = await c.call_tool("generate_image_gen4", {"prompt_text": "a cat"})
        assert not r.is_error and data(r)["simulated"] is True and "SIMULATED" in text(r)
        f = data(r)["files"][0]
        assert f["path"].endswith(".png") and f["mime_type"] == "image/png" and os.path.getsize(f["path"]) == f["bytes"]
        kinds = [b.type for b in r.content]
        assert kinds == ["text", "resource_link", "image"], kinds


async def test_without_a_key_the_server_explains():
    async with server(None) as c:
        d = data(await c.call_tool("get_api_info", {}))
        assert d["api_key_set"] is False and d["simulated"] is False
        r = await c.call_tool("generate_image_gen4", {"prompt_text": "a cat"})
        assert r.is_error and "RUNWAYML_API_SECRET" in text(r) and "--simulate" in text(r)


def test_call_subcommand_runs_a_tool_through_the_server():
    env = {**server_env(None), "RUNWAY_MCP_SIM_TASK_SECONDS": "1"}
    p = subprocess.run([sys.executable, "-m", "runway_mcp_server", "call", "generate_image_gen4", '{"prompt_text": "a cat"}', "--simulate"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "SUCCEEDED" in p.stdout and "SIMULATED" in p.stdout
    # Not a terminal: plain progress lines, no bar.
    progress = [line for line in p.stderr.splitlines() if "Runway task" in line]
    assert progress and "\r" not in p.stderr
    assert all(re.fullmatch(r" *[0-9.]+%  Runway task \S+: \w+.*", line) for line in progress), progress
    p = subprocess.run([sys.executable, "-m", "runway_mcp_server", "call", "generate_video_text_to_video",
                        '{"prompt_text": "a fox [sim:seconds=5]", "model": "gen4.5"}', "--simulate"],
                       capture_output=True, text=True, env={**env, "RUNWAY_MCP_PROGRESS_INTERVAL": "0.5"}, timeout=120)
    assert p.returncode == 0, p.stderr
    progress = [line for line in p.stderr.splitlines() if "Runway task" in line]
    # Heartbeats that change nothing print nothing; a bar figure beyond Runway's own says so.
    states = [re.sub(r"^ *([0-9]+)\.[0-9]%", r"\1", line) for line in progress]
    assert len(states) == len(set(states)) and sum("SUBMITTED" in line for line in progress) <= 1, progress
    for line in progress:
        m = re.search(r": RUNNING (~?)([0-9]+)%", line)
        if m and m.group(1):
            assert "Runway's last:" in line and abs(float(line.split("%")[0]) - int(m.group(2))) <= 1, line
    p = subprocess.run([sys.executable, "-m", "runway_mcp_server", "call", "generate_image_gen4", '{"prompt_text": "x", "model": "gen4_image_turbo"}', "--simulate"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1 and "referenceImages" in p.stdout


def _call_on_a_terminal(env: dict[str, str], args: list[str], answer: bytes) -> tuple[int, str]:
    """Runs `call` with a pseudo-terminal as stdin/stderr, answers its question, returns (exit, output)."""
    import pty
    import select

    leader, follower = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "runway_mcp_server", "call", *args], stdin=follower, stderr=follower,
                         stdout=subprocess.PIPE, env=env)
    os.close(follower)
    seen = b""
    answered = False
    while p.poll() is None or select.select([leader], [], [], 0)[0]:
        if select.select([leader], [], [], 0.2)[0]:
            try:
                seen += os.read(leader, 4096)
            except OSError:
                break
        if not answered and b"[y/N]" in seen:
            os.write(leader, answer)
            answered = True
    out = (p.stdout.read() if p.stdout else b"").decode()
    p.wait(timeout=60)
    os.close(leader)
    return p.returncode, seen.decode(errors="replace") + out


def test_call_subcommand_asks_the_person_at_the_terminal_over_budget():
    env = {**server_env(None), "RUNWAY_MCP_SIM_TASK_SECONDS": "1", "RUNWAY_MCP_MAX_CREDITS": "1"}
    args = ["generate_image_gen4", '{"prompt_text": "a cat", "ratio": "1280:720"}', "--simulate"]
    code, out = _call_on_a_terminal(env, args, b"n\n")
    assert "RUNWAY_MCP_MAX_CREDITS=1" in out and "[y/N]" in out
    assert code == 1 and "declined" in out
    code, out = _call_on_a_terminal(env, args, b"y\n")
    assert code == 0 and "SUCCEEDED" in out, out
    # On a terminal the progress is a bar redrawn in place.
    assert re.search(r"\r\[#*\.*\] +[0-9.]+%  Runway task", out), out
    # Not on a terminal: no question, the refusal with the figures.
    p = subprocess.run([sys.executable, "-m", "runway_mcp_server", "call", *args], capture_output=True, text=True,
                       env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 1 and "Not sent, nothing spent" in p.stdout and "RUNWAY_MCP_MAX_CREDITS=1" in p.stdout


async def test_chaining_local_files_and_uploads(sim, tmp_path):
    frame = tmp_path / "frame.png"
    frame.write_bytes((Path(__file__).resolve().parents[2] / "src/simulator/media/placeholder.png").read_bytes())
    notes = tmp_path / "notes.png"
    notes.write_text("SECRET=1\n")
    async with server(sim, RUNWAY_MCP_INPUT_DIRS=str(tmp_path)) as c:
        img = data(await c.call_tool("generate_image_gen4", {"prompt_text": "a cat"}))
        r = await c.call_tool("generate_video_image_to_video", {"prompt_image": img["task_id"], "prompt_text": "it walks"})
        assert not r.is_error and data(r)["status"] == "SUCCEEDED", text(r)
        r = await c.call_tool("generate_video_image_to_video", {"prompt_image": str(frame)})
        assert not r.is_error, text(r)
        r = await c.call_tool("upscale_video_4k", {"input_video": data(r)["task_id"]})
        assert not r.is_error and data(r)["files"][0]["path"].endswith(".mp4"), text(r)
        r = await c.call_tool("generate_video_image_to_video", {"prompt_image": str(notes)})
        assert r.is_error and "text, not an image" in text(r) and "SECRET" not in text(r)
        r = await c.call_tool("generate_video_image_to_video", {"prompt_image": "/etc/hostname"})
        assert r.is_error and "not a file in the folders this server reads inputs from" in text(r), text(r)
        assert str(tmp_path) not in text(r)  # the input folders are not named to the caller
        big = tmp_path / "big.mp4"
        big.write_bytes((Path(__file__).resolve().parents[2] / "src/simulator/media/placeholder.mp4").read_bytes() + b"\0" * 17_000_000)
        r = await c.call_tool("upload_file", {"path": str(big)})
        assert not r.is_error and data(r)["uri"].startswith("runway://"), text(r)
    assert len(sim.uploads()) == 1


@pytest.mark.smoke
async def test_streamable_http_transport():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**server_env(None), "RUNWAY_MCP_SIM_TASK_SECONDS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "runway_mcp_server", "--simulate", "--http", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode() if proc.poll() is not None else "no listener"
                await asyncio.sleep(0.1)
        async with Client(f"http://127.0.0.1:{port}/mcp", mode="legacy") as c:
            assert len((await c.list_tools()).tools) == len(ALL_TOOLS)
            r = await c.call_tool("generate_image_gen4", {"prompt_text": "a cat"})
            assert not r.is_error and data(r)["status"] == "SUCCEEDED" and data(r)["simulated"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_budget_guard_and_batch_over_stdio(sim):
    """One server process with RUNWAY_MCP_MAX_CREDITS=100: refused for a client that cannot ask,
    asked and sent for one that can; a batch of valid, invalid and failing items within it."""
    env = server_env(sim, RUNWAY_MCP_MAX_CREDITS=100)
    params = StdioServerParameters(command=sys.executable, args=["-m", "runway_mcp_server"], env=env)
    veo = {"prompt_text": "a lighthouse", "duration": 8, "audio": True, "wait_for_completion": False}
    async with Client(params, mode="legacy") as c:
        refused = await c.call_tool("generate_video_text_to_video", veo)
    assert refused.is_error and "320 credits ($3.20)" in text(refused) and "RUNWAY_MCP_MAX_CREDITS=100" in text(refused)
    assert api_requests(sim, "POST") == []

    asked = []

    async def yes(context, params):
        from mcp.types import ElicitResult

        asked.append(params.message)
        return ElicitResult(action="accept", content={"spend": True})

    params = StdioServerParameters(command=sys.executable, args=["-m", "runway_mcp_server"], env=env)
    async with Client(params, mode="legacy", elicitation_callback=yes) as c:
        sent = await c.call_tool("generate_video_text_to_video", veo)
        items = [{"tool": "generate_video_text_to_video", "arguments": {"prompt_text": p, "model": "gen4.5", "duration": 5}}
                 for p in ("a heron", "a heron [sim:fail=INTERNAL.BAD_OUTPUT.CODE01]")]
        items.append({"tool": "generate_video_text_to_video", "arguments": {"prompt_text": "x", "model": "gen4.5", "duration": 99}})
        batch = await c.call_tool("batch_generate_videos", {"items": items})
    assert not sent.is_error and len(asked) == 1, text(sent)
    assert not batch.is_error, text(batch)
    assert [e["status"] for e in data(batch)["items"]] == ["SUCCEEDED", "FAILED", "NOT_SENT"]
    assert len(asked) == 1  # 60 credits a video: within the limit, no question
    assert len(api_requests(sim, "POST")) == 3
