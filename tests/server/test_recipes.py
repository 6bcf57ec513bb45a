"""The run_recipe tool: Runway's seven recipes through one row of the tool table, end to end
through the SDK's in-process client against the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

import runway_core
from runway_mcp_server import catalogue as cat
from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

from conftest import FAST_POLL, api_requests, data, text

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


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


async def test_a_product_ad_from_local_photos_to_a_saved_video(sim, tmp_path):
    photos = []
    for i in range(3):
        p = tmp_path / f"shoe{i}.png"
        p.write_bytes(PNG)
        photos.append({"uri": str(p)})
    async with server(sim, tmp_path) as c:
        r = await c.call_tool("run_recipe", {"recipe": "product_ad",
                                             "options": {"productImages": photos, "duration": 15}})
        assert not r.is_error, text(r)
        result = data(r)
        assert result["status"] == "SUCCEEDED" and result["model"] == "product_ad"
        files = [Path(f["path"]) for f in result["files"]]
        assert files and all(f.exists() and f.suffix == ".mp4" for f in files)
    # The photos went as uploads or data URIs, the API version the recipe's first, no model field.
    sent = [r for r in api_requests(sim, "POST") if r["path"] == "/v1/recipes/product_ad"]
    assert len(sent) == 1
    body = sent[0]["body"]
    model = cat.find("product_ad", ("recipes/product_ad",))
    assert model is not None and body["version"] == model.fields["version"]["values"][0]
    assert "model" not in body and all(not i["uri"].startswith("/") for i in body["productImages"])


async def test_an_image_recipe_saves_every_image(sim, tmp_path):
    async with server(sim, tmp_path) as c:
        r = await c.call_tool("run_recipe", {"recipe": "marketing_stock_image",
                                             "options": {"prompt": "a sunlit kitchen counter", "outputCount": 2}})
        assert not r.is_error, text(r)
        assert [Path(f["path"]).suffix for f in data(r)["files"]] == [".png", ".png"]


@pytest.mark.parametrize("options, says", [
    ({"productImages": []}, "productImages"),
    ({"productImages": [{"uri": "https://example.com/a.png"}], "duration": 99}, "duration"),
    ({"productImages": [{"uri": "https://example.com/a.png"}], "colour": "red"}, "colour"),
    ({}, "productImages"),
])
async def test_bad_recipe_input_is_refused_by_name_with_nothing_sent(sim, tmp_path, options, says):
    async with server(sim, tmp_path) as c:
        r = await c.call_tool("run_recipe", {"recipe": "product_ad", "options": options})
        assert r.is_error and says in text(r), text(r)
    assert [r for r in api_requests(sim, "POST")] == []


async def test_an_unknown_recipe_is_refused_with_the_list(sim, tmp_path):
    async with server(sim, tmp_path) as c:
        r = await c.call_tool("run_recipe", {"recipe": "poster", "options": {}})
        assert r.is_error and "product_ad" in text(r), text(r)
