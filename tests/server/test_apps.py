"""MCP Apps through the MCP SDK's own client, in process, against the simulator: the studio's URI on
the task tools, the studio resource (app MIME type, CSP, the page's hooks), the app-only tools
(listed to an Apps client with visibility ["app"], kept from every other client), a client without
Apps seeing exactly what it saw before, and the app-only tools' behaviour: the journal's tasks
filtered and paged, one task, its media as a data: URI, follow-ups priced before they run, run
with confirm, refused over the budget with nothing made."""

from __future__ import annotations

import base64
import json
import re
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Optional

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

import runway_core
from runway_mcp_server import apps
from runway_mcp_server.apps import tools as app_tools
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings
from runway_mcp_server.tools import GENERATORS

import conftest
from conftest import FAST_POLL, api_requests, data, text
from test_http import ALICE, BOB, server

APPS = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]
MODES = ["legacy", "2026-07-28"]
APP_ONLY = {"app_tasks", "app_task", "app_media", "app_follow_up"}
# veo3.1, 4 s, no audio: 20 credits/s.
VIDEO = {"prompt_text": "a fox in the snow", "duration": 4, "audio": False}
VIDEO_COST = 80.0
LIMIT = 50


@pytest.fixture
def sim():
    s = runway_core.Simulator(task_seconds=0.4)
    yield s
    s.close()


def settings(sim: runway_core.Simulator, tmp_path: Path, **kw: Any) -> Settings:
    return Settings(api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"), max_wait=30,
                    poll=FAST_POLL, journal=str(tmp_path / "journal.sqlite3"), **kw)


@asynccontextmanager
async def mcp(sim: runway_core.Simulator, tmp_path: Path, with_apps: bool = True, mode: str = "legacy",
              asker: Optional[conftest.Asker] = None, **kw: Any) -> AsyncIterator[Client]:
    async with Client(build(settings(sim, tmp_path, **kw)), extensions=APPS if with_apps else None, mode=mode,
                      elicitation_callback=asker) as c:  # type: ignore[arg-type]
        yield c


def wire(tools: Any) -> list[dict[str, Any]]:
    return [t.model_dump(by_alias=True, exclude_none=True) for t in tools]


def creates(sim: runway_core.Simulator) -> list[dict[str, Any]]:
    return [r for r in api_requests(sim, "POST") if not r["path"].startswith("/v1/uploads")]


async def journal(c: Client) -> list[dict[str, Any]]:
    return data(await c.call_tool("list_tasks", {"limit": 100}))["tasks"]


async def made(c: Client, tool: str = "generate_video_text_to_video", args: Optional[dict[str, Any]] = None) -> str:
    r = await c.call_tool(tool, args or VIDEO)
    assert not r.is_error and data(r)["status"] == "SUCCEEDED", text(r)
    return str(data(r)["task_id"])


# ---- what each kind of client is offered ----

@pytest.mark.parametrize("mode", MODES)
async def test_the_task_tools_carry_the_studio_for_an_apps_client(sim, tmp_path, mode):
    async with mcp(sim, tmp_path, mode=mode, toolsets=("all",)) as c:
        tools = {t["name"]: t for t in wire((await c.list_tools()).tools)}
    stamped = {n for n, t in tools.items() if (t.get("_meta") or {}).get("ui", {}).get("resourceUri") == apps.STUDIO_URI}
    model_side = {n for n in stamped if tools[n]["_meta"]["ui"].get("visibility") != ["app"]}
    # Every generation tool from the table, the tools that follow a task, the journal's list, a workflow run.
    assert model_side == {g.name for g in GENERATORS} | {"get_task_status", "wait_for_task", "list_tasks", "run_workflow"}
    for n in model_side:
        assert tools[n]["_meta"] == {"ui": {"resourceUri": apps.STUDIO_URI}}, n
    app_only = {n for n, t in tools.items() if (t.get("_meta") or {}).get("ui", {}).get("visibility") == ["app"]}
    assert app_only == APP_ONLY == stamped - model_side


@pytest.mark.parametrize("mode", MODES)
async def test_the_studio_resource_is_served_as_an_app_with_its_csp(sim, tmp_path, mode):
    async with mcp(sim, tmp_path, mode=mode) as c:
        listed = [r for r in (await c.list_resources()).resources if str(r.uri).startswith("ui://")]
        read = (await c.read_resource(apps.STUDIO_URI)).contents
    assert [(str(r.uri), r.mime_type) for r in listed] == [(apps.STUDIO_URI, APP_MIME_TYPE)]
    assert len(read) == 1 and read[0].mime_type == APP_MIME_TYPE
    # Nothing from the network: script and style inline, media as data: URIs through the host. The
    # clipboard (Copy prompt) where the host allows it.
    assert read[0].meta == {"ui": {"csp": {"connectDomains": [], "resourceDomains": [], "frameDomains": [],
                                           "baseUriDomains": []},
                                   "permissions": {"clipboardWrite": {}}}}
    html = read[0].text  # type: ignore[union-attr]
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|<link\b|@import|url\(\s*["']?https?:""", html, re.I)
    assert html == apps.studio_html()


def test_the_page_has_the_hooks_of_the_contract():
    """Every data-testid the browser tests rely on (notes/apps-contract.md), in the page or made by
    its script."""
    html = apps.studio_html()
    hooks = set(re.findall(r'data-testid="([\w-]+)"', html)) | set(re.findall(r'dataset\.testid = "([\w-]+)"', html))
    contract = {"tab-player", "tab-gallery", "tab-compare", "view-player", "view-gallery", "view-compare",
                "player-image", "player-video", "player-audio", "outputs-strip", "output-thumb", "status", "progress",
                "task-id", "model", "prompt", "cost", "duration", "copy-prompt", "download", "gallery-item",
                "filter-tool", "filter-model", "filter-status", "filter-text", "gallery-total", "gallery-more",
                "compare-select", "compare-item", "compare-play", "follow-up-cost", "follow-up-confirm",
                "follow-up-prompt", "error"} | {f"follow-up-{a}" for a in app_tools.fu.ACTIONS}
    assert contract <= hooks, contract - hooks
    # The View side of the protocol, by the spec's method names.
    for method in ("ui/initialize", "ui/notifications/initialized", "ui/notifications/tool-input",
                   "ui/notifications/tool-result", "ui/notifications/host-context-changed", "tools/call",
                   "resources/read" if "resources/read" in html else "tools/call", "ui/notifications/size-changed"):
        assert f'"{method}"' in html, method


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_without_apps_sees_no_change(sim, tmp_path, mode):
    one = build(settings(sim, tmp_path))  # one server, both clients: nothing one sees leaks to the other
    async with Client(one, extensions=APPS, mode=mode) as ui, Client(one, mode=mode) as plain:
        with_ui = wire((await ui.list_tools()).tools)
        before = wire((await plain.list_tools()).tools)
        plain_resources = [str(r.uri) for r in (await plain.list_resources()).resources]
        task_id = await made(plain)
        r_plain = await plain.call_tool("get_task_status", {"task_id": task_id})
        r_ui = await ui.call_tool("get_task_status", {"task_id": task_id})
        sets = [data(await x.call_tool("toolsets", {})) for x in (plain, ui)]
        refused = await plain.call_tool("app_task", {"task_id": task_id})
        near = await plain.call_tool("app_tsk", {})
    # The Apps client's list is the same list, plus the app-only tools and the studio's URI: nothing else.
    stripped = []
    for t in with_ui:
        if t["name"] in APP_ONLY:
            continue
        t = json.loads(json.dumps(t))
        if t.get("_meta") == apps.UI_META:
            del t["_meta"]
        stripped.append(t)
    assert json.dumps(before) == json.dumps(stripped)
    assert all("_meta" not in t for t in before) and not APP_ONLY & {t["name"] for t in before}
    assert not [u for u in plain_resources if u.startswith("ui://")]
    # Results are the same for both (but for the fresh signature each read of a task gives its URLs):
    # the page is offered through the tool's _meta, never sent in results.
    unsigned = [re.sub(r"\?exp=\d+&sig=\w+", "", r.model_dump_json()) for r in (r_plain, r_ui)]
    assert unsigned[0] == unsigned[1] and "?exp=" in r_plain.model_dump_json()
    # The toolsets tool tells both the same: the app-only tools are in no set.
    assert sets[0] == sets[1] and not APP_ONLY & set(json.dumps(sets[0]).replace('"', " ").split())
    # The app-only tools do not exist for it, and are not suggested.
    assert refused.is_error and "Unknown tool: app_task" in text(refused)
    assert near.is_error and "app_" not in text(near).replace("app_tsk", "")


@pytest.mark.parametrize("setting", ["on", "off"])
async def test_runway_mcp_apps_offers_the_studio_to_every_client_or_none(sim, tmp_path, setting):
    assert Settings.from_env(env={"RUNWAY_MCP_APPS": setting.upper()}).apps == setting
    with pytest.raises(SystemExit, match="RUNWAY_MCP_APPS must be one of auto, on, off"):
        Settings.from_env(env={"RUNWAY_MCP_APPS": "yes"})
    # "on": also a client that did not say it has Apps (a stateless HTTP server cannot see what a
    # handshake-era client said); "off": not even a client that did.
    async with mcp(sim, tmp_path, with_apps=setting == "off", apps=setting) as c:
        tools = wire((await c.list_tools()).tools)
        resources = [str(r.uri) for r in (await c.list_resources()).resources]
        task_id = await made(c)
        r = await c.call_tool("app_task", {"task_id": task_id})
    names = {t["name"] for t in tools}
    stamped = {t["name"] for t in tools if "_meta" in t}
    if setting == "on":
        assert APP_ONLY <= names and apps.STUDIO_URI in resources and "generate_image_gen4" in stamped
        assert not r.is_error and data(r)["task_id"] == task_id
    else:
        assert not APP_ONLY & names and not stamped and not [u for u in resources if u.startswith("ui://")]
        assert r.is_error and "Unknown tool: app_task" in text(r)


async def test_app_only_tools_stay_out_of_the_models_context(sim, tmp_path):
    """The host keeps visibility ["app"] tools from its model (ext-apps): what the model gets from an
    Apps client's list is the default set's, within the same budget as for any client
    (tests/server/test_tools.py); the studio's URI costs bytes of the whole answer only."""
    async with mcp(sim, tmp_path) as c:
        tools = wire((await c.list_tools()).tools)
    for_model = [t for t in tools if (t.get("_meta") or {}).get("ui", {}).get("visibility") != ["app"]]
    side = sum(len(json.dumps({k: t[k] for k in ("name", "description", "inputSchema")})) for t in for_model)
    assert side <= 12_000, side
    whole = len(json.dumps({"tools": tools}))
    assert whole <= 32_000, whole


# ---- the app-only tools ----

async def test_app_task_and_app_media_show_a_task_and_its_output(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        task_id = await made(c, args={**VIDEO, "prompt_text": "three foxes [sim:outputs=2]"})
        t = data(await c.call_tool("app_task", {"task_id": task_id}))
        m = data(await c.call_tool("app_media", {"task_id": task_id, "index": 1}))
        saved = data(await c.call_tool("get_task_status", {"task_id": task_id}))["files"]
        missing = await c.call_tool("app_media", {"task_id": task_id, "index": 2})
    assert t["status"] == "SUCCEEDED" and t["model"] == "veo3.1" and t["tool"] == "generate_video_text_to_video"
    assert t["prompt"] == "three foxes [sim:outputs=2]" and t["cost_credits"] == VIDEO_COST and t["duration"] == 4
    assert [(o["index"], o["kind"]) for o in t["outputs"]] == [(0, "video"), (1, "video")]
    assert set(t["follow_ups"]) == {"upscale", "extend", "restyle", "variation", "add_sound", "hdr"}
    # The saved file's bytes, as a data: URI: never a path.
    head, b64 = m["data_uri"].split(",", 1)
    assert head == f"data:{saved[1]['mime_type']};base64"
    assert base64.b64decode(b64) == Path(saved[1]["path"]).read_bytes() and m["bytes"] == saved[1]["bytes"]
    assert str(tmp_path) not in json.dumps(m) and str(tmp_path) not in json.dumps(t)
    assert missing.is_error and "no output 2" in text(missing)


async def test_app_media_above_the_cap_sends_no_bytes(sim, tmp_path):
    size = app_tools.MEDIA_MAX_BYTES + 1
    async with mcp(sim, tmp_path) as c:
        # (The simulator pads only videos.)
        task_id = await made(c, args={**VIDEO, "prompt_text": f"a long fox [sim:output_bytes={size}]"})
        r = await c.call_tool("app_media", {"task_id": task_id})
        # What the page may still read through the host, when the user asks.
        blob = (await c.read_resource(data(r)["resource"])).contents[0]
    m = data(r)
    assert not r.is_error and m["too_large"] and m["data_uri"] is None and m["bytes"] == size
    assert m["url"].startswith("http") and f"over the {app_tools.MEDIA_MAX_BYTES >> 20} MiB" in text(r)
    assert m["resource"] == f"runway://task/{task_id}/output/0.mp4" and blob.mime_type == "video/mp4"
    assert len(base64.b64decode(blob.blob)) == size  # type: ignore[union-attr]


async def test_app_tasks_filters_pages_and_totals(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        kites = [await made(c, "generate_image_gen4", {"prompt_text": f"a {colour} kite", "ratio": "1280:720"})
                 for colour in ("red", "blue", "green")]
        fox = await made(c)
        failed = await c.call_tool("generate_video_text_to_video", {**VIDEO, "prompt_text": "x [sim:fail=INTERNAL]"})
        rows = await journal(c)
        everything = data(await c.call_tool("app_tasks", {}))
        images = data(await c.call_tool("app_tasks", {"tool": "generate_image_gen4"}))
        blue = data(await c.call_tool("app_tasks", {"text": "BLUE"}))
        bad = data(await c.call_tool("app_tasks", {"status": "FAILED"}))
        veo = data(await c.call_tool("app_tasks", {"model": "veo3.1"}))
        first = data(await c.call_tool("app_tasks", {"tool": "generate_image_gen4", "limit": 2}))
        second = data(await c.call_tool("app_tasks", {"tool": "generate_image_gen4", "limit": 2,
                                                       "cursor": first["next_cursor"]}))
    assert failed.is_error
    # The journal's own figures: final cost, else the estimate.
    cost = {r["task_id"]: r["cost"] if r["cost"] is not None else r["estimated_cost"] for r in rows}
    assert [i["task_id"] for i in everything["tasks"]] == [r["task_id"] for r in rows]  # newest first
    assert everything["count"] == 5 and everything["total_cost_credits"] == pytest.approx(sum(cost.values()))
    assert all(i["cost_credits"] == cost[i["task_id"]] for i in everything["tasks"])
    assert {i["task_id"] for i in images["tasks"]} == set(kites) and images["count"] == 3
    assert images["total_cost_credits"] == pytest.approx(sum(cost[k] for k in kites))
    assert [i["prompt"] for i in blue["tasks"]] == ["a blue kite"]
    assert [i["status"] for i in bad["tasks"]] == ["FAILED"]
    assert {i["task_id"] for i in veo["tasks"]} == {fox, data(failed)["task_id"]}
    assert len(first["tasks"]) == 2 and first["next_cursor"] and len(second["tasks"]) == 1 and second["next_cursor"] is None
    assert {i["task_id"] for i in first["tasks"] + second["tasks"]} == set(kites)
    # The filters' choices are every tool and model in the journal, whatever the filter.
    assert images["tools"] == everything["tools"] == sorted({r["tool"] for r in rows})
    assert images["models"] == sorted({r["model"] for r in rows})
    assert {i["kind"] for i in images["tasks"]} == {"image"}


async def test_app_tools_refuse_in_their_own_words(sim, tmp_path):
    """The studio shows an app tool's refusal to the user as it is: no "Error executing tool ...:"
    before it, as the SDK puts before a raised ToolError (the model's tools keep that)."""
    async with mcp(sim, tmp_path) as c:
        task_id = await made(c, "generate_image_gen4", {"prompt_text": "a kite", "ratio": "1280:720"})
        refused = {
            "app_task": await c.call_tool("app_task", {"task_id": "0" * 8 + "-0000-4000-8000-" + "0" * 12}),
            "app_media": await c.call_tool("app_media", {"task_id": task_id, "index": 5}),
            "app_follow_up": await c.call_tool("app_follow_up", {"task_id": task_id, "action": "hdr"}),
            "app_tasks": await c.call_tool("app_tasks", {"cursor": "next"}),
        }
        models = await c.call_tool("get_task_status", {"task_id": "0" * 8 + "-0000-4000-8000-" + "0" * 12})
    for name, r in refused.items():
        assert r.is_error and text(r) and "Error executing tool" not in text(r), (name, text(r))
    assert text(refused["app_media"]) == f"task {task_id} has no output 5 (SUCCEEDED)"
    assert text(refused["app_tasks"]) == "cursor: 'next' is not one this tool gave"
    assert "not offered for image outputs" in text(refused["app_follow_up"])
    assert "404" in text(refused["app_task"])
    # The same refusal from a model's tool: as the SDK words it (unchanged).
    assert models.is_error and text(models).startswith("Error executing tool get_task_status: ")


async def test_app_tasks_shows_what_runway_says_of_the_unfinished_tasks_on_its_page(sim, tmp_path):
    """Tasks made without waiting are in the journal as last seen (unfinished); the gallery shows
    what Runway says now of those on the page it returns (no others are read), and the journal
    learns it, as from get_task_status."""
    async with mcp(sim, tmp_path) as c:
        made_ = [data(await c.call_tool("generate_image_gen4", {"prompt_text": f"kite {i}", "ratio": "1280:720",
                                                               "wait_for_completion": False}))
                 for i in range(3)]
        ids = [m["task_id"] for m in made_]
        before = {r["task_id"]: r for r in await journal(c)}
        # Runway finishes them meanwhile: seen by a client of the test's own, which tells this
        # server's journal nothing.
        async with runway_core.Client(sim.api_key, sim.base_url) as runway:
            done = {i: await runway.wait_for_task(i) for i in ids}
        reads = len(api_requests(sim, "GET"))
        page = data(await c.call_tool("app_tasks", {"limit": 2}))
        read = [r["path"] for r in api_requests(sim, "GET")[reads:]]
        after = {r["task_id"]: r for r in await journal(c)}
    assert all(before[i]["status"] not in runway_core.FINAL_TASK_STATES for i in ids), before
    shown = [i["task_id"] for i in page["tasks"]]
    assert len(shown) == 2 and set(shown) < set(ids)
    for item in page["tasks"]:
        task = done[item["task_id"]]
        assert item["status"] == task.status == "SUCCEEDED"
        assert item["cost_credits"] == task.cost and not item["cost_is_estimate"] and item["kind"] == "image"
        assert after[item["task_id"]]["status"] == "SUCCEEDED"
    # Only the page's tasks were read at Runway, each once; the other keeps its journal status.
    assert sorted(read) == sorted(f"/v1/tasks/{i}" for i in shown)
    [other] = set(ids) - set(shown)
    assert after[other]["status"] == before[other]["status"]
    assert page["count"] == 3 and page["next_cursor"] == "2"


# ---- follow-ups ----

def is_output(value: Any, task: dict[str, Any], index: int = 0) -> bool:
    """Whether a request's media value is output `index` of `task`: its URL, or (as the core sends
    a small saved file) the saved file's bytes as a data: URI."""
    if not isinstance(value, str):
        return False
    if value.startswith("data:"):
        return base64.b64decode(value.split(",", 1)[1]) == Path(task["files"][index]["path"]).read_bytes()
    return value.split("?")[0] == task["outputs"][index].split("?")[0]


@pytest.mark.parametrize("action", ["upscale", "variation"])
async def test_a_follow_up_without_confirm_prices_it_and_makes_nothing(sim, tmp_path, action):
    async with mcp(sim, tmp_path) as c:
        task_id = await made(c)
        before, rows = len(creates(sim)), len(await journal(c))
        r = await c.call_tool("app_follow_up", {"task_id": task_id, "action": action})
        after = await journal(c)
    assert not r.is_error, text(r)
    e = data(r)
    assert e["action"] == action and "confirm=true" in text(r)
    if action == "variation":  # the same request with a new seed: the same price
        assert e["tool"] == "generate_video_text_to_video" and e["estimated_cost_credits"] == VIDEO_COST
    else:
        assert e["tool"] == "upscale_video_4k" and e["model"] == "magnific_video_upscaler_creative"
    assert len(creates(sim)) == before and len(after) == rows


async def test_a_confirmed_follow_up_makes_one_task_on_the_output(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        task_id = await made(c)
        before = len(creates(sim))
        r = await c.call_tool("app_follow_up", {"task_id": task_id, "action": "upscale", "confirm": True})
        new = data(r)
        t = data(await c.call_tool("wait_for_task", {"task_id": new["task_id"]}))
        rows = await journal(c)
    assert not r.is_error, text(r)
    assert new["follow_up_of"] == task_id and new["task_id"] != task_id and len(creates(sim)) == before + 1
    posted = creates(sim)[-1]
    assert posted["path"] == "/v1/video_upscale" and t["status"] == "SUCCEEDED"
    # Journaled like the model's own call of that tool, the source named by the task's output.
    row = next(x for x in rows if x["task_id"] == new["task_id"])
    assert row["tool"] == "upscale_video_4k" and row["model"] == "magnific_video_upscaler_creative"


async def test_a_variation_is_the_same_request_with_a_new_seed(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        task_id = await made(c)
        source = json.loads(creates(sim)[-1]["body"]) if isinstance(creates(sim)[-1].get("body"), str) else creates(sim)[-1]["body"]
        r = await c.call_tool("app_follow_up", {"task_id": task_id, "action": "variation", "confirm": True})
        sent = creates(sim)[-1]
    assert not r.is_error, text(r)
    body = json.loads(sent["body"]) if isinstance(sent.get("body"), str) else sent["body"]
    assert sent["path"] == "/v1/text_to_video"
    assert {k: v for k, v in body.items() if k != "seed"} == {k: v for k, v in source.items() if k != "seed"}
    assert isinstance(body["seed"], int) and body.get("seed") != source.get("seed")


async def test_retry_of_a_failed_task_makes_it_again(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        failed = await c.call_tool("generate_video_text_to_video", {**VIDEO, "prompt_text": "x [sim:fail=INTERNAL]"})
        task_id = data(failed)["task_id"]
        offered = data(await c.call_tool("app_task", {"task_id": task_id}))["follow_ups"]
        before = len(creates(sim))
        r = await c.call_tool("app_follow_up", {"task_id": task_id, "action": "retry", "confirm": True})
        after = len(creates(sim))
        not_for_a_success = await c.call_tool("app_follow_up", {"task_id": await made(c), "action": "retry"})
    assert offered == ["retry"]
    assert not r.is_error, text(r)
    assert data(r)["task_id"] != task_id and after == before + 1
    assert not_for_a_success.is_error and "retry is for failed tasks" in text(not_for_a_success)


async def test_a_follow_up_over_the_budget_is_refused_and_makes_nothing(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        task_id = await made(c)
    async with mcp(sim, tmp_path, max_credits=LIMIT) as c:
        before, rows = len(creates(sim)), len(await journal(c))
        estimate = await c.call_tool("app_follow_up", {"task_id": task_id, "action": "variation"})
        r = await c.call_tool("app_follow_up", {"task_id": task_id, "action": "variation", "confirm": True})
        after = await journal(c)
    # The estimate warns; the run is refused with the figures and the budget's name, in the
    # server's own words (what the studio shows the user).
    assert f"RUNWAY_MCP_MAX_CREDITS={LIMIT}" in data(estimate)["over_budget"]
    assert r.is_error and text(r).startswith("Not sent, nothing spent") and f"RUNWAY_MCP_MAX_CREDITS={LIMIT}" in text(r)
    assert f"{VIDEO_COST:g} credits" in text(r)
    assert len(creates(sim)) == before and len(after) == rows


@pytest.mark.parametrize("mode", MODES)
async def test_a_follow_up_over_the_budget_asks_the_user_where_the_client_can(sim, tmp_path, mode):
    async with mcp(sim, tmp_path) as c:
        task_id = await made(c)
    no, yes = conftest.Asker("spend", "accept", False), conftest.Asker("spend", "accept", True)
    async with mcp(sim, tmp_path, mode=mode, asker=no, max_credits=LIMIT) as c:
        before = len(creates(sim))
        declined = await c.call_tool("app_follow_up", {"task_id": task_id, "action": "variation", "confirm": True})
        assert declined.is_error and len(creates(sim)) == before
    async with mcp(sim, tmp_path, mode=mode, asker=yes, max_credits=LIMIT) as c:
        r = await c.call_tool("app_follow_up", {"task_id": task_id, "action": "variation", "confirm": True})
    assert len(no.asked) == 1 and f"RUNWAY_MCP_MAX_CREDITS={LIMIT}" in no.asked[0]
    assert not r.is_error and len(yes.asked) == 1 and len(creates(sim)) == before + 1


async def test_follow_ups_a_kind_does_not_have_are_refused(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        task_id = await made(c, "generate_image_gen4", {"prompt_text": "a kite", "ratio": "1280:720"})
        offered = data(await c.call_tool("app_task", {"task_id": task_id}))["follow_ups"]
        hdr = await c.call_tool("app_follow_up", {"task_id": task_id, "action": "hdr"})
        restyle = await c.call_tool("app_follow_up", {"task_id": task_id, "action": "restyle"})
        unknown = await c.call_tool("app_follow_up", {"task_id": task_id, "action": "sharpen"})
    assert set(offered) == {"upscale", "restyle", "variation"}
    assert hdr.is_error and "not offered for image outputs" in text(hdr)
    assert restyle.is_error and "give the new style as prompt" in text(restyle)
    assert unknown.is_error and "not one of" in text(unknown)


@pytest.mark.parametrize("action", ["extend", "restyle", "add_sound", "hdr"])
async def test_each_video_follow_up_runs_its_tool_on_the_output(sim, tmp_path, action):
    tool = app_tools.fu.BY_TOOL[action]["video"]
    async with mcp(sim, tmp_path) as c:
        task_id = await made(c)
        source = data(await c.call_tool("get_task_status", {"task_id": task_id}))
        args = {"task_id": task_id, "action": action, "prompt": "in watercolour"}
        estimate = data(await c.call_tool("app_follow_up", args))
        r = await c.call_tool("app_follow_up", {**args, "confirm": True})
        row = next(x for x in await journal(c) if x["task_id"] == data(r)["task_id"])
    assert not r.is_error, text(r)
    sent = creates(sim)[-1]
    # The endpoint and model of the tool's own row, the output as the request's video.
    endpoints = next(g.endpoints for g in GENERATORS if g.name == tool)
    assert row["tool"] == tool and sent["path"] in {f"/v1/{e}" for e in endpoints}
    assert row["model"] == estimate["model"] == sent["body"]["model"]
    assert any(is_output(v, source) for v in sent["body"].values())
    if action in app_tools.fu.PROMPTED:
        assert "in watercolour" in json.dumps(sent["body"])


async def test_an_image_restyle_takes_the_output_as_its_reference(sim, tmp_path):
    async with mcp(sim, tmp_path) as c:
        task_id = await made(c, "generate_image_gen4", {"prompt_text": "a kite", "ratio": "1280:720"})
        source = data(await c.call_tool("get_task_status", {"task_id": task_id}))
        r = await c.call_tool("app_follow_up", {"task_id": task_id, "action": "restyle", "prompt": "as a woodcut",
                                                "confirm": True})
        done = data(await c.call_tool("wait_for_task", {"task_id": data(r)["task_id"]}))
    assert not r.is_error, text(r)
    body = creates(sim)[-1]["body"]
    assert creates(sim)[-1]["path"] == "/v1/text_to_image" and body["ratio"] == "1280:720"
    assert body["promptText"] == "@source as a woodcut" and body["referenceImages"][0]["tag"] == "source"
    assert is_output(body["referenceImages"][0]["uri"], source) and done["status"] == "SUCCEEDED"


async def test_over_http_each_key_sees_its_own_and_media_comes_without_saving(tmp_path):
    sim = runway_core.Simulator(task_seconds=0.4, extra_keys=[ALICE, BOB])
    image = {"prompt_text": "alice's kite", "ratio": "1280:720"}

    @asynccontextmanager
    async def user(base: str, key: str) -> AsyncIterator[Client]:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60)
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), extensions=APPS) as c:
            yield c

    try:
        with server(sim, tmp_path, "--require-key") as (base, _):
            async with user(base, ALICE) as alice, user(base, BOB) as bob:
                mine = await made(alice, "generate_image_gen4", image)
                theirs = await made(bob, "generate_image_gen4", {**image, "prompt_text": "bob's kite"})
                alice_sees = data(await alice.call_tool("app_tasks", {}))
                bob_reads = await bob.call_tool("app_task", {"task_id": mine})
                bob_follows = await bob.call_tool("app_follow_up", {"task_id": mine, "action": "variation"})
                m = data(await alice.call_tool("app_media", {"task_id": mine}))
                blob = (await alice.read_resource(f"runway://task/{mine}/output/0.png")).contents[0]
    finally:
        sim.close()
    assert [t["task_id"] for t in alice_sees["tasks"]] == [mine] and theirs != mine
    assert bob_reads.is_error and "404" in text(bob_reads) and bob_follows.is_error
    # Saving is off over HTTP: the output is fetched for the frame, as the resource read gives it.
    assert not (tmp_path / "runway-mcp-outputs").exists()
    assert base64.b64decode(m["data_uri"].split(",", 1)[1]) == base64.b64decode(blob.blob)  # type: ignore[union-attr]
