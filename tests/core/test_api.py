"""Every operation of Runway's API through runway_core: described once (the catalogue), the same set
as the official SDK's, served by `Client.call` / `Client.api`, checked before anything is sent."""

from __future__ import annotations

import ast
import asyncio
import pathlib
import re
import subprocess
import sys

import pytest

import runway_core
from runway_core import NotFoundError, ValidationError

from conftest import FAST_POLL, api_requests

REPO = pathlib.Path(__file__).resolve().parents[2]


def sdk_operations() -> set[tuple[str, str, str]]:
    """(dotted name, method, path) of every operation of the installed runwayml SDK, read from its
    resource classes' source: `self._get("/v1/...")` and friends inside each method."""
    import runwayml

    root = pathlib.Path(runwayml.__file__).parent / "resources"
    verbs = {"_get": "GET", "_post": "POST", "_patch": "PATCH", "_delete": "DELETE", "_get_api_list": "GET"}
    found = set()
    for f in root.rglob("*.py"):
        module = f.relative_to(root).with_suffix("").parts
        # organization/organization.py and organization/webapp/webapp.py hold their folder's own methods.
        prefix = [p for i, p in enumerate(module) if not (i == len(module) - 1 and i > 0 and p == module[i - 1])]
        for cls in ast.parse(f.read_text()).body:
            if not isinstance(cls, ast.ClassDef) or cls.name.startswith("Async") or not cls.name.endswith("Resource"):
                continue
            for fn in cls.body:
                if not isinstance(fn, ast.FunctionDef):
                    continue
                for call in ast.walk(fn):
                    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                            and call.func.attr in verbs and isinstance(call.func.value, ast.Name)
                            and call.func.value.id == "self"):
                        path = ast.unparse(call.args[0])
                        path = re.sub(r"^f?['\"]|['\"].*$", "", path.replace("path_template(", ""))
                        found.add((".".join([*prefix, fn.name]), verbs[call.func.attr], path))
    return found


def test_the_catalogue_has_exactly_the_sdks_operations():
    ours = {(o["name"], o["method"], o["path"]) for o in runway_core.operations()}
    theirs = sdk_operations()
    assert len(theirs) > 60  # the parse found the SDK's methods
    assert ours == theirs, (sorted(ours - theirs), sorted(theirs - ours))


def test_generated_methods_are_current():
    p = subprocess.run([sys.executable, str(REPO / "tests" / "scripts" / "gen_api.py"), "--check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_every_operation_has_its_method():
    api = runway_core.Client("key_" + "0" * 60, "http://127.0.0.1:9").api
    for op in runway_core.operations():
        target = api
        for part in op["name"].split("."):
            target = getattr(target, part)
        assert callable(target), op["name"]


@pytest.fixture
def fast(sim):
    c = runway_core.Client(sim.api_key, sim.base_url, poll=FAST_POLL)
    yield c
    c.close()


async def test_lists_follow_cursors_to_the_end(sim, fast):
    made = [await fast.api.documents.create(name=f"doc {i}", content=f"# Doc {i}") for i in range(5)]
    sim.clear_requests()
    seen = [d async for d in fast.api.documents.list(limit=2, order="desc", sort="createdAt")]
    assert {d["id"] for d in made} <= {d["id"] for d in seen}
    pages = api_requests(sim, "GET", "/v1/documents")
    assert len(pages) == -(-len(seen) // 2)  # ceil: one request a page
    assert all("limit=2" in r["query"] for r in pages) and all("cursor=" in r["query"] for r in pages[1:])


async def test_bad_input_is_refused_before_anything_is_sent(sim, fast):
    sim.clear_requests()
    with pytest.raises(ValidationError) as e:
        await fast.api.routers.create(slug="a", settings={"optimizeFor": "fastest"})
    assert "settings.optimizeFor" in str(e.value) and "cost" in str(e.value)
    with pytest.raises(ValidationError) as e:
        await fast.call("avatars.retrieve", {"id": ""})
    assert "id" in str(e.value)
    with pytest.raises(ValidationError) as e:
        await fast.call("routers.launch")
    assert "routers.create" in str(e.value)  # the known names are listed
    with pytest.raises(ValidationError):
        await fast.api.recipes.product_ad(version="2026-06", productImages=[])
    with pytest.raises(ValidationError) as e:
        await fast.api.voices.create(name="Narrator", from_={"type": "audio", "audio": "/nonexistent/sample.txt"})
    assert "from" in str(e.value)
    assert api_requests(sim) == []


async def test_unknown_ids_and_runways_error_body(fast):
    with pytest.raises(NotFoundError):
        await fast.api.routers.retrieve("0f2c6f80-1111-4222-8333-444455556666")


async def test_crud_round_trip(sim, fast):
    r = await fast.api.routers.create(slug="cheap-video", settings={"optimizeFor": "cost"})
    assert (await fast.api.routers.retrieve(r["id"]))["slug"] == "cheap-video"
    changed = await fast.api.routers.update(r["id"], description="for drafts")
    assert changed["description"] == "for drafts"
    cleared = await fast.api.routers.update(r["id"], description=None)  # None sends null: clears it
    assert cleared["description"] is None
    assert await fast.api.routers.delete(r["id"]) is None
    with pytest.raises(NotFoundError):
        await fast.api.routers.retrieve(r["id"])


async def test_recipe_task_is_journaled_and_reattached(sim, tmp_path):
    journal = str(tmp_path / "journal.sqlite3")
    body = {"version": "2026-06", "prompt": "a sunlit kitchen, product on the counter"}
    async with runway_core.Client(sim.api_key, sim.base_url, poll=FAST_POLL, journal=journal) as c:
        first = await c.api.recipes.marketing_stock_image(**body)
        again = await c.api.recipes.marketing_stock_image(**body)
        assert again.id == first.id and again.reattached
        row = await c.journal_entry(first)
        assert row is not None and row["model"] == "marketing_stock_image" and row["endpoint"] == "recipes/marketing_stock_image"
        done = await c.wait_for_task(first)
        model = runway_core.models("recipes/marketing_stock_image")[0]
        assert len(done.output) == model["output_count"]["default"]
    assert len(api_requests(sim, "POST", "/v1/recipes/")) == 1


async def test_router_generation_names_the_chosen_model(sim, fast, tmp_path):
    await fast.api.routers.create(slug="drafts", settings={"optimizeFor": "cost"})
    async with runway_core.Client(sim.api_key, sim.base_url, poll=FAST_POLL,
                                  journal=str(tmp_path / "j.sqlite3")) as c:
        task = await c.api.generate.video.create(configId="drafts", input={"promptText": "a fox in snow"})
        routing = task.raw["routing"]
        assert routing["configId"] == "drafts" and task.estimated_cost == routing["estimatedCost"]["credits"]
        assert any(m["model"] == routing["model"] for m in runway_core.models() if m["output"] == "video")
        row = await c.journal_entry(task)
        assert row is not None and row["model"] == routing["model"]
        done = await c.wait_for_task(task)
        assert done.status == "SUCCEEDED" and done.output


async def test_workflow_invocation_with_a_failed_node(fast):
    for w in (await fast.api.workflows.list())["data"]:
        wid = w["versions"][0]["id"]
        nodes = (await fast.api.workflows.retrieve(wid))["graph"]["nodes"]
        if sum(n["type"] == "output" for n in nodes) > 1:
            break  # one output failing of several
    text_input = next(n for n in nodes if n["type"] == "input" and n["kind"] == "primitive")
    output = next(n for n in nodes if n["type"] == "output")
    # The simulator fails the output node a primitive input names after "fail:".
    inputs = {text_input["id"]: {"value": {"type": "primitive", "value": f"fail:{output['id']}"}}}
    run = await fast.api.workflows.run(wid, nodeOutputs=inputs)
    assert run.kind == "workflow_invocation"
    for _ in range(200):
        inv = await fast.api.workflow_invocations.retrieve(run.id)
        if inv["status"] in runway_core.FINAL_TASK_STATES:
            break
        await asyncio.sleep(0.05)
    # Runway reports such a run SUCCEEDED, with the failed node among its nodeErrors.
    assert inv["status"] == "SUCCEEDED" and output["id"] in inv["nodeErrors"]
    done = await fast.wait_for_task(run)
    assert done.status == "SUCCEEDED" and output["id"] in (done.failure or "")
