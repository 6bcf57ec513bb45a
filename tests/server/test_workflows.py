"""The workflow tools end to end through the SDK's in-process client against the simulator: a
published workflow listed, described (typed input nodes), run from a local file and a text input
with one output node failing (reported node by node, the rest saved), and bad input refused by name
with nothing sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

import runway_core
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

from conftest import FAST_POLL, api_requests, data, text

# A 1x1 PNG, padded after IEND past the smallest upload.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082") + bytes(1024)


@pytest.fixture
def sim():
    s = runway_core.Simulator(task_seconds=0.4)
    yield s
    s.close()


def server(sim: runway_core.Simulator, tmp_path: Path) -> Client:
    settings = Settings(toolsets=("all",), api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"),
                        journal=str(tmp_path / "journal.sqlite3"), max_wait=30, poll=FAST_POLL,
                        input_dirs=(str(tmp_path),))
    return Client(build(settings))


async def workflow_id(c: Client, name: str) -> str:
    r = await c.call_tool("list_workflows", {})
    assert not r.is_error, text(r)
    found = next(w for w in data(r)["workflows"] if w["name"] == name)
    assert found["versions"][0]["id"] in text(r)
    return str(found["versions"][0]["id"])


async def test_a_workflow_listed_described_and_run_with_a_failed_node(sim, tmp_path):
    photo = tmp_path / "product.png"
    photo.write_bytes(PNG)
    async with server(sim, tmp_path) as c:
        wid = await workflow_id(c, "Trailer")
        d = await c.call_tool("describe_workflow", {"workflow_id": wid})
        assert not d.is_error, text(d)
        kinds = {n["id"]: n["kind"] for n in data(d)["inputs"]}
        assert kinds == {"script": "primitive", "footage": "video", "music": "audio"}
        assert {n["id"] for n in data(d)["outputs"]} == {"cut", "soundtrack"}
        assert "run_workflow" in text(d)

        # A text input that fails the "cut" node; the other output still comes and is saved.
        r = await c.call_tool("run_workflow", {"workflow_id": wid, "inputs": {"script": "fail:cut"}})
        assert not r.is_error, text(r)
        result = data(r)
        assert result["status"] == "SUCCEEDED"
        assert list(result["failed_nodes"]) == ["cut"] and "simulated failure" in result["failed_nodes"]["cut"]
        assert "node(s) failed" in text(r) and "- cut:" in text(r), text(r)
        files = [Path(f["path"]) for f in result["files"]]
        assert len(files) == 1 and files[0].exists() and files[0].suffix == ".mp3"
        # The journal holds the run; get_task_status reports the failed node too.
        again = await c.call_tool("get_task_status", {"task_id": result["task_id"]})
        assert data(again)["failed_nodes"] == result["failed_nodes"]


async def test_media_inputs_from_a_local_file_and_a_task_id(sim, tmp_path):
    photo = tmp_path / "product.png"
    photo.write_bytes(PNG)
    async with server(sim, tmp_path) as c:
        wid = await workflow_id(c, "Product shots")
        r = await c.call_tool("run_workflow", {"workflow_id": wid, "inputs": {"prompt": "on marble",
                                                                              "product": str(photo)}})
        assert not r.is_error and data(r)["status"] == "SUCCEEDED", text(r)
        first = data(r)["task_id"]
        assert data(r)["failed_nodes"] is None and "failed" not in text(r)
        # An earlier run's output as the input of the next.
        r = await c.call_tool("run_workflow", {"workflow_id": wid, "inputs": {"prompt": "on slate", "product": f"{first}#0"}})
        assert not r.is_error and data(r)["status"] == "SUCCEEDED", text(r)
    runs = [q for q in api_requests(sim, "POST") if q["path"] == f"/v1/workflows/{wid}"]
    assert len(runs) == 2
    uris = [q["body"]["nodeOutputs"]["product"]["uri"]["uri"] for q in runs]
    assert uris[0].startswith("runway://") and uris[1].startswith("http"), uris
    assert runs[0]["body"]["nodeOutputs"]["prompt"] == {"value": {"type": "primitive", "value": "on marble"}}


@pytest.mark.parametrize("inputs, says", [
    ({"colour": "red"}, "inputs.colour"),
    ({"product": 5}, "inputs.product"),
    ({"prompt": ["a", "b"]}, "inputs.prompt"),
    ({"product": "/nowhere/product.png"}, "inputs.product"),
    ({"product": "0f2c6f80-1111-4222-8333-444455556666"}, "inputs.product"),
])
async def test_bad_workflow_input_is_refused_by_name_with_nothing_sent(sim, tmp_path, inputs, says):
    async with server(sim, tmp_path) as c:
        wid = await workflow_id(c, "Product shots")
        r = await c.call_tool("run_workflow", {"workflow_id": wid, "inputs": inputs})
        assert r.is_error and says in text(r), text(r)
    assert api_requests(sim, "POST") == []


async def test_an_unknown_workflow_is_refused_by_name(sim, tmp_path):
    async with server(sim, tmp_path) as c:
        for tool, args in (("describe_workflow", {}), ("run_workflow", {"inputs": {}})):
            r = await c.call_tool(tool, {"workflow_id": "0f2c6f80-1111-4222-8333-444455556666", **args})
            assert r.is_error and "workflow_id" in text(r) and "list_workflows" in text(r), text(r)
    assert api_requests(sim, "POST") == []


async def test_a_run_under_a_credit_limit_is_not_sent_without_the_user(sim, tmp_path):
    # A run's price is not known before Runway answers: with RUNWAY_MCP_MAX_CREDITS set, it needs a yes.
    settings = Settings(toolsets=("all",), api_key=sim.api_key, base_url=sim.base_url, output_dir=str(tmp_path / "out"),
                        journal=str(tmp_path / "journal.sqlite3"), max_wait=30, poll=FAST_POLL, max_credits=50)
    async with Client(build(settings)) as c:
        wid = await workflow_id(c, "Product shots")
        r = await c.call_tool("run_workflow", {"workflow_id": wid, "inputs": {"prompt": "on marble"}})
    assert r.is_error and "Not sent, nothing spent" in text(r) and "no price known" in text(r), text(r)
    assert api_requests(sim, "POST") == []
