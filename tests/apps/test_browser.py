"""The studio app (issue 21) in a real browser: Debian's chromium, headless, driven by playwright-core
(tests/apps/driver.mjs), shows the app's page in a sandboxed frame of a test host page
(tests/apps/host.js) that speaks the MCP Apps postMessage protocol to it and forwards its tool calls
and resource reads to our server over the MCP SDK's client, against the simulator. Each scenario
keeps its screenshots in target/screenshots/ (RUNWAY_DOCS_SCREENSHOTS=all, or a list of their
names, copies them to docs/screenshots/ for the README). The expectations come from the tool
results, the simulator and the server's own answers, not from the page."""

from __future__ import annotations

import asyncio
import base64
import struct
import urllib.request
from pathlib import Path
from typing import Any

import runway_core
from mcp.server.apps import ResourceCsp
from runway_mcp_server.apps import tools as app_tools
from runway_mcp_server.settings import Settings

from conftest import FAST_POLL, api_requests, text
from harness import drive, hosted, studio

IMAGE = {"prompt_text": "a red kite over a green hill", "ratio": "1280:720"}
VIDEO = {"prompt_text": "a fox walking in the snow", "duration": 4}


def settings(sim: runway_core.Simulator, tmp_path: Path, **limits: Any) -> Settings:
    return Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"), max_wait=30,
                    poll=FAST_POLL, journal=str(tmp_path / "journal.sqlite3"), **limits)


def creates(sim: runway_core.Simulator) -> list[dict[str, Any]]:
    """The task-creating requests the simulator received."""
    return [r for r in api_requests(sim, "POST") if not r["path"].startswith("/v1/uploads")]


async def generate(client: Any, tool: str, arguments: dict[str, Any], fails: bool = False) -> dict[str, Any]:
    r = await client.call_tool(tool, arguments)
    assert r.is_error == fails, text(r)
    return dict(r.structured_content)


def opened(report: dict[str, Any]) -> dict[str, Any]:
    """The structured content of the tool call that opened the view."""
    return report["opened"]["structuredContent"]


def well_behaved(report: dict[str, Any]) -> None:
    """Whatever the scenario: the view asked the host nothing it may not, and logged no error (a
    script error, a CSP violation, a resource not found)."""
    assert report["refused"] == [], report["refused"]
    assert report["facts"]["consoleErrors"] == []


def png_size(url: str) -> tuple[int, int]:
    with urllib.request.urlopen(url) as r:
        head = r.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def luminance(rgb: str) -> float:
    r, g, b = (int(x) for x in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


async def test_an_image_is_shown(sim, tmp_path):
    async with studio(settings(sim, tmp_path)) as (_, url):
        report = await drive(url, "image", open={"tool": "generate_image_gen4", "arguments": IMAGE})
    well_behaved(report)
    task, facts = opened(report), report["facts"]
    # The simulator's own PNG, decoded by the browser at its size, from a URL the frame can reach.
    assert (facts["image"]["naturalWidth"], facts["image"]["naturalHeight"]) == png_size(task["outputs"][0])
    assert facts["image"]["src"].startswith("data:image/")
    player = facts["player"]
    assert player["task-id"] == task["task_id"] and player["status"] == task["status"] == "SUCCEEDED"
    assert player["model"] == task["model"] and IMAGE["prompt_text"] in player["prompt"]
    assert f"{task['cost_credits']:g}" in player["cost"]
    assert len(creates(sim)) == 1


async def test_copy_the_prompt_and_download_the_file(sim, tmp_path):
    async with studio(settings(sim, tmp_path)) as (_, url):
        report = await drive(url, "copy_download", open={"tool": "generate_image_gen4", "arguments": IMAGE})
    well_behaved(report)
    task, facts = opened(report), report["facts"]
    assert facts["clipboard"] == IMAGE["prompt_text"] and facts["allow"] == ["clipboard-write"]
    # The file the host was handed is the simulator's output, byte for byte.
    [[item]] = facts["downloads"]
    assert item["type"] == "resource" and item["resource"]["mimeType"] == "image/png"
    # The host names the file after the last segment of the uri (the draft spec).
    assert item["resource"]["uri"].rsplit("/", 1)[-1].endswith(".png")
    with urllib.request.urlopen(task["outputs"][0]) as r:
        assert base64.b64decode(item["resource"]["blob"]) == r.read()


async def test_a_video_plays(sim, tmp_path):
    async with studio(settings(sim, tmp_path)) as (_, url):
        report = await drive(url, "video", open={"tool": "generate_video_text_to_video", "arguments": VIDEO})
    well_behaved(report)
    task, facts = opened(report), report["facts"]
    assert task["status"] == "SUCCEEDED" and facts["player"]["task-id"] == task["task_id"]
    assert facts["video"]["src"].startswith("data:video/") and facts["video"]["duration"] > 0
    assert facts["played"]["currentTime"] > 0
    # A poster for the frame before it plays, and the length the browser found.
    assert (facts["poster"] or "").startswith("data:image/")
    assert float(facts["player"]["duration"].split()[0]) == round(facts["video"]["duration"], 1)


async def test_audio_plays(sim, tmp_path):
    async with studio(settings(sim, tmp_path)) as (client, url):
        sound = {"prompt_text": "rain on a tin roof", "kind": "sound_effect"}
        report = await drive(url, "audio", open={"tool": "generate_audio", "arguments": sound})
        task = opened(report)
        offered = (await client.call_tool("app_task", {"task_id": task["task_id"]})).structured_content["follow_ups"]
    well_behaved(report)
    facts = report["facts"]
    assert task["status"] == "SUCCEEDED" and facts["player"]["task-id"] == task["task_id"]
    assert facts["audio"]["src"].startswith("data:audio/") and facts["played"]["currentTime"] > 0
    # The follow-ups the server offers for it (no prompt box: none of them takes a prompt).
    assert offered and not set(offered) & set(app_tools.fu.PROMPTED)
    assert facts["followUps"] == {"offered": offered, "none": False, "prompt": False, "confirm": True}


async def test_several_outputs_as_a_strip(sim, tmp_path):
    async with studio(settings(sim, tmp_path)) as (_, url):
        report = await drive(url, "strip", open={"tool": "generate_image_gen4",
                                                 "arguments": {**IMAGE, "prompt_text": "three kites [sim:outputs=3]"}})
    well_behaved(report)
    task, facts = opened(report), report["facts"]
    n = len(task["outputs"])
    assert n == 3 and facts["thumbs"] == n
    assert facts["pressed"] == ["false"] * (n - 1) + ["true"]
    # The last output was fetched for the player when chosen.
    assert {"task_id": task["task_id"], "index": n - 1} in facts["media"]


async def test_progress_while_running_then_the_output(sim, tmp_path):
    running = {**VIDEO, "prompt_text": "a slow tide [sim:seconds=6]", "wait_for_completion": False}
    async with studio(settings(sim, tmp_path)) as (_, url):
        report = await drive(url, "progress", timeout=90,
                             open={"tool": "generate_video_text_to_video", "arguments": running})
    well_behaved(report)
    task, facts = opened(report), report["facts"]
    # The call returned before the task ended; the view followed it to the end.
    assert task["status"] != "SUCCEEDED" and task["outputs"] == []
    first, later = facts["progress"]
    assert 0 < first < later < 1 and facts["done"] == 1
    # While it runs, nothing to follow up: no prompt box, no button that cannot run.
    assert facts["followUpsRunning"] == {"offered": [], "none": True, "prompt": False, "confirm": False}
    done = facts["followUpsDone"]
    assert done["offered"] and not done["none"] and done["prompt"] and done["confirm"]
    assert facts["player"]["task-id"] == task["task_id"] and facts["player"]["status"] == "SUCCEEDED"
    assert facts["video"]["src"].startswith("data:video/")
    assert len(creates(sim)) == 1


async def test_the_gallery_filtered(sim, tmp_path):
    async with studio(settings(sim, tmp_path)) as (client, url):
        kite = await generate(client, "generate_image_gen4", IMAGE)
        heron = await generate(client, "generate_image_gen4", {**IMAGE, "prompt_text": "a blue heron in reeds"})
        fox = await generate(client, "generate_video_text_to_video", VIDEO)
        failed = await generate(client, "generate_image_gen4", {**IMAGE, "prompt_text": "a kite [sim:fail]"},
                                fails=True)
        tasks = [kite, heron, fox, failed]
        assert failed["status"] == "FAILED"
        ids = lambda pred: sorted(t["task_id"] for t in tasks if pred(t))  # noqa: E731
        filters = [
            ["filter-status", "FAILED", ids(lambda t: t["status"] == "FAILED")],
            ["filter-model", fox["model"], ids(lambda t: t["model"] == fox["model"])],
            ["filter-tool", "generate_image_gen4", ids(lambda t: t is not fox)],
            ["filter-text", "heron", [heron["task_id"]]],
        ]
        report = await drive(url, "gallery", open={"tool": "list_tasks", "arguments": {}}, total=len(tasks),
                             filters=[[f, v, len(want)] for f, v, want in filters], shotFilter="filter-tool")
    well_behaved(report)
    facts = report["facts"]
    assert sorted(facts["ids"]) == ids(lambda t: True)
    for f, v, want in filters:
        assert sorted(facts["filtered"][f"{f}={v}"]) == want, (f, v)
    total = sum(t["cost_credits"] or 0 for t in tasks)
    assert f"{total:g}" in facts["total"], facts["total"]


async def test_the_gallery_in_pages(sim, tmp_path):
    async with studio(settings(sim, tmp_path)) as (client, url):
        many = [{**IMAGE, "prompt_text": f"kite number {i}", "wait_for_completion": False} for i in range(30)]
        made = await asyncio.gather(*(generate(client, "generate_image_gen4", a) for a in many))
        report = await drive(url, "gallery_pages", open={"tool": "list_tasks", "arguments": {}})
    well_behaved(report)
    pages, ids = report["facts"]["pages"], report["facts"]["ids"]
    # More than one page, each adding to the last, and every task once in the end.
    assert len(pages) > 1 and pages[0] < len(made) and pages == sorted(pages)
    assert sorted(ids) == sorted(t["task_id"] for t in made)


async def test_gallery_posters_of_the_videos_the_page_has(sim, tmp_path):
    """A video opened in the player has its first frame as its poster in the gallery; a video the
    page never loaded is not fetched for one."""
    async with studio(settings(sim, tmp_path)) as (client, url):
        other = await generate(client, "generate_video_text_to_video", {**VIDEO, "prompt_text": "a hare in the snow"})
        report = await drive(url, "gallery_posters", total=2,
                             open={"tool": "generate_video_text_to_video", "arguments": VIDEO})
    well_behaved(report)
    task, facts = opened(report), report["facts"]
    poster = facts["posters"][task["task_id"]]
    assert poster["src"].startswith("data:image/jpeg") and 0 < poster["width"] <= 320
    assert facts["posters"][other["task_id"]] is None and other["task_id"] not in facts["media"]


async def test_compare_two_videos(sim, tmp_path):
    async with studio(settings(sim, tmp_path)) as (client, url):
        a = await generate(client, "generate_video_text_to_video", VIDEO)
        b = await generate(client, "generate_video_text_to_video", {**VIDEO, "prompt_text": "a hare in the snow"})
        await generate(client, "generate_image_gen4", IMAGE)
        pick = [a["task_id"], b["task_id"]]
        report = await drive(url, "compare", open={"tool": "list_tasks", "arguments": {}}, pick=pick)
    well_behaved(report)
    assert sorted(report["facts"]["items"]) == sorted(pick)
    assert all(t > 0 for t in report["facts"]["played"])


async def estimate(client: Any, task_id: str, action: str, **more: Any) -> dict[str, Any]:
    """The server's own estimate of a follow-up (app_follow_up without confirm), over the SDK."""
    r = await client.call_tool("app_follow_up", {"task_id": task_id, "action": action, **more})
    assert not r.is_error, text(r)
    return dict(r.structured_content)


async def test_a_follow_up_creates_a_new_task_and_shows_it(sim, tmp_path):
    """Upscale a video: a task of another model, shown in the player once done. (The catalogue
    has no price for the upscaler: the estimate says so.)"""
    async with studio(settings(sim, tmp_path)) as (client, url):
        report = await drive(url, "follow_up", timeout=90, action="upscale", media="player-video",
                             open={"tool": "generate_video_text_to_video", "arguments": VIDEO})
        facts, task = report["facts"], opened(report)
        plan = await estimate(client, task["task_id"], "upscale")
        status = await client.call_tool("get_task_status", {"task_id": facts["after"]})
    well_behaved(report)
    assert facts["before"] == task["task_id"] and facts["after"] != task["task_id"]
    assert plan["model"] in facts["cost"] and plan["estimated_cost_credits"] is None
    # The new task is the simulator's, of the planned model, and the server knows it.
    assert not status.is_error and status.structured_content["status"] == "SUCCEEDED"
    assert status.structured_content["model"] == facts["player"]["model"] == plan["model"] != task["model"]
    posted = creates(sim)
    assert len(posted) == 2 and posted[1]["body"]["model"] == plan["model"]
    assert "app_follow_up" in report["calls"]


async def test_a_restyle_runs_with_the_new_prompt_at_the_price_shown(sim, tmp_path):
    style = "in watercolour, at dusk"
    async with studio(settings(sim, tmp_path)) as (client, url):
        report = await drive(url, "follow_up", timeout=90, action="restyle", prompt=style, media="player-image",
                             open={"tool": "generate_image_gen4", "arguments": IMAGE})
        facts, task = report["facts"], opened(report)
        plan = await estimate(client, task["task_id"], "restyle", prompt=style)
        price = await client.call_tool("estimate_cost", {"tool": plan["tool"], "arguments": IMAGE})
    well_behaved(report)
    credits = price.structured_content["estimated_credits"]
    assert plan["estimated_cost_credits"] == credits and f"{credits:g} credits" in facts["cost"], facts["cost"]
    assert facts["after"] != task["task_id"] and facts["player"]["task-id"] == facts["after"]
    assert style in facts["player"]["prompt"]
    posted = creates(sim)
    assert len(posted) == 2 and style in posted[1]["body"]["promptText"]


async def test_a_follow_up_over_budget_is_refused(sim, tmp_path):
    async with studio(settings(sim, tmp_path)) as (client, _):
        video = await generate(client, "generate_video_text_to_video", VIDEO)
    # The same journal, now under a limit the follow-up (the same request again: a variation) does
    # not fit in; the client cannot be asked (no elicitation), so the guard refuses.
    limit = 1
    async with studio(settings(sim, tmp_path, max_credits=limit)) as (client, url):
        report = await drive(url, "refused", action="variation", media="player-video",
                             open={"tool": "get_task_status", "arguments": {"task_id": video["task_id"]}})
    well_behaved(report)
    facts = report["facts"]
    cost = f"{video['estimated_cost_credits']:g} credits"
    assert cost in facts["cost"], facts["cost"]
    # The server's message itself, as the user should read it.
    assert facts["error"].startswith("Not sent, nothing spent: "), facts["error"]
    assert f"RUNWAY_MCP_MAX_CREDITS={limit}" in facts["error"] and cost in facts["error"], facts["error"]
    assert facts["after"] == facts["before"] == video["task_id"]
    assert len(creates(sim)) == 1


async def test_usable_by_keyboard(sim, tmp_path):
    async with studio(settings(sim, tmp_path)) as (_, url):
        report = await drive(url, "keyboard", action="variation",
                             open={"tool": "generate_image_gen4", "arguments": IMAGE})
    well_behaved(report)
    facts = report["facts"]
    assert facts["galleryTab"] == "tab-gallery" and facts["confirmFocused"]
    assert facts["after"] != facts["before"] and len(creates(sim)) == 2


async def test_the_dark_theme_from_the_host_context(sim, tmp_path):
    async with studio(settings(sim, tmp_path)) as (_, url):
        report = await drive(url, "dark", open={"tool": "generate_image_gen4", "arguments": IMAGE, "theme": "dark"})
    well_behaved(report)
    facts = report["facts"]
    assert luminance(facts["dark"]) < 0.3, facts["dark"]
    assert luminance(facts["light"]) > 0.7, facts["light"]


def probe_server(heard: list[str]) -> Any:
    """A server whose one view (probe.html) tries the host: what it lets through and refuses."""
    from mcp.server.apps import Apps
    from mcp.server.mcpserver import MCPServer

    apps = Apps()
    uri = "ui://probe/page.html"
    apps.add_html_resource(uri, (Path(__file__).parent / "probe.html").read_text(), csp=ResourceCsp())

    @apps.tool(resource_uri=uri, description="Opens the probe.")
    def probe_open(url: str) -> str:
        return f"opened from {url}"

    @apps.tool(resource_uri=uri, visibility=["app"], description="An app-only tool.")
    def app_echo(word: str) -> str:
        heard.append(word)
        return word

    @apps.tool(resource_uri=uri, visibility=["model"], description="A tool the model may call, not the app.")
    def model_only() -> str:
        return "model"

    return MCPServer("probe", extensions=[apps])


async def test_the_host_speaks_the_protocol_and_refuses_what_a_view_may_not_ask():
    """The harness itself, against a view of its own: the handshake, tool-input then tool-result of
    the opening call, the spec's CSP, and the refusals (app calls to a model-only tool, methods a
    view may not use, calls before the handshake ends)."""
    heard: list[str] = []
    async with hosted(probe_server(heard)) as (_, url):
        report = await drive(url, "probe", open={"tool": "probe_open", "arguments": {"url": url}, "theme": "dark"})
    r = report["facts"]["probe"]
    assert r["protocolVersion"] == "2026-01-26" and r["hostContext"]["theme"] == "dark"
    assert r["order"][:2] == ["ui/notifications/tool-input", "ui/notifications/tool-result"]
    assert r["input"] == {"arguments": {"url": url}}
    assert r["result"]["content"][0]["text"] == f"opened from {url}"
    assert r["appTool"]["ok"]["content"][0]["text"] == "hi" and "error" in r["beforeInitialized"]
    assert r["read"]["ok"]["contents"][0]["mimeType"] == "text/html;profile=mcp-app"
    assert r["ping"] == {"ok": {}}
    for refused in ("modelOnly", "unknownTool", "list", "sampling"):
        assert "error" in r[refused], (refused, r[refused])
    assert r["script"] == "blocked" and "script-src-elem" in r["violations"]
    assert r["direct"] == "failed" and heard == ["hi"]
    assert sorted(x["method"] for x in report["refused"]) == sorted(
        ["tools/call"] * 3 + ["tools/list", "sampling/createMessage"])
