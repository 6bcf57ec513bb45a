"""How people install and run the server, checked: every client configuration in the README starts
a working server (each run as its client would, with --simulate added); the MCP Inspector's
command line lists the tools and calls one; the desktop bundle's manifest passes `mcpb validate`,
packs, and its entry point serves; server.json follows the MCP registry's server.json format.
The npm tools come from tests/node (tests/run.sh installs them)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

import runway_core
from runway_mcp_server.settings import ENV_VARS
from runway_mcp_server.sets import TABLE
from runway_mcp_server.tools import build

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "tests/node/node_modules/.bin"
# What a default server lists: the default toolset.
TOOL_NAMES = {t.name for t in build() if TABLE.set_of(t.name) == "default"}
README = (ROOT / "README.md").read_text()
CLIENTS = ("Claude Desktop", "Claude Code", "Cursor", "VS Code", "Windsurf", "Gemini CLI")
ENV_NAMES = {name for name, _ in ENV_VARS}


def npm_tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{path} is missing: tests/run.sh installs it (npm ci in tests/node)"
    return str(path)


def section(title: str) -> str:
    m = re.search(rf"^### {re.escape(title)}\n(.*?)(?=^### |^## )", README, re.S | re.M)
    assert m, f"README has no '### {title}' section"
    return m.group(1)


def json_blocks(text: str) -> list[dict[str, Any]]:
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.S)]


def servers(config: dict[str, Any]) -> dict[str, Any]:
    return config.get("mcpServers") or config["servers"]


def as_run_here(entry: dict[str, Any], home: Path) -> StdioServerParameters:
    """The client's launch of `uvx runway-mcp-server ARGS` as this checkout's server, with
    --simulate added and the client's ${...} placeholders filled the way the client would."""
    assert entry["command"] == "uvx" and entry["args"][0] == "runway-mcp-server", entry
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "RUNWAY_MCP_SIM_TASK_SECONDS": "0.5",
           "RUNWAY_MCP_JOURNAL": "off"}
    for k, v in entry.get("env", {}).items():
        env[k] = re.sub(r"\$\{[^}]+\}|\$[A-Z_]+", "key_from_the_client", v)
    return StdioServerParameters(command=sys.executable, args=["-m", "runway_mcp_server", *entry["args"][1:], "--simulate"],
                                 env=env)


async def generate_an_image(params: StdioServerParameters) -> dict[str, Any]:
    async with Client(params, mode="legacy") as c:
        names = {t.name for t in (await c.list_tools()).tools}
        assert names == TOOL_NAMES
        r = await c.call_tool("generate_image_gen4", {"prompt_text": "a lighthouse", "ratio": "1280:720"})
    assert not r.is_error, r.content
    d: dict[str, Any] = r.structured_content or {}
    return d


# ---- the README's client sections ----

@pytest.mark.parametrize("client", CLIENTS)
async def test_readme_client_configuration_runs(client, tmp_path):
    text = section(client)
    blocks = json_blocks(text)
    if client == "Claude Code":
        cmd = re.search(r"^claude mcp add runway (.*) -- uvx runway-mcp-server$", text, re.M)
        assert cmd and "--env RUNWAYML_API_SECRET=" in cmd.group(1) and "--env RUNWAY_MCP_OUTPUT_DIR=" in cmd.group(1)
    assert blocks, f"{client}: no JSON configuration"
    for config in blocks:
        if client == "VS Code":
            assert "servers" in config and "mcpServers" not in config  # VS Code's own key
            assert servers(config)["runway"]["type"] == "stdio"
            assert {i["id"] for i in config["inputs"]} == {"runway-key"}
        else:
            assert set(config) == {"mcpServers"}
        entry = servers(config)["runway"]
        assert set(entry["env"]) <= ENV_NAMES and "RUNWAYML_API_SECRET" in entry["env"]
        d = await generate_an_image(as_run_here(entry, tmp_path))
        saved = Path(d["files"][0]["path"])
        # "~/Movies/runway" in the client's env is the user's home folder, expanded by the server.
        assert saved.parent == tmp_path / "Movies/runway" and saved.stat().st_size == d["files"][0]["bytes"]


def test_readme_names_every_client_and_the_troubleshooting():
    for title in (*CLIENTS, "Troubleshooting"):
        section(title)
    trouble = section("Troubleshooting")
    for needed in ("RUNWAY_MCP_MAX_WAIT", "RUNWAY_MCP_OUTPUT_DIR", "list_tasks", "expire", "doctor"):
        assert needed in trouble, needed


# ---- the MCP Inspector's command line ----

def inspector(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [npm_tool("mcp-inspector"), "--cli", "--format", "json", "-q"]
    for k, v in (env or {}).items():
        cmd += ["-e", f"{k}={v}"]
    cmd += [sys.executable, "-m", "runway_mcp_server", "--simulate", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_inspector_lists_the_tools_strictly():
    p = inspector("--method", "tools/list", "--strict")
    assert p.returncode == 0, p.stderr
    tools = json.loads(p.stdout)["result"]["tools"]
    assert {t["name"] for t in tools} == TOOL_NAMES and all(t["inputSchema"]["type"] == "object" for t in tools)


def test_inspector_calls_a_generation(tmp_path):
    env = {"RUNWAY_MCP_OUTPUT_DIR": str(tmp_path), "RUNWAY_MCP_SIM_TASK_SECONDS": "0.5"}
    p = inspector("--method", "tools/call", "--tool-name", "generate_video_text_to_video",
                  "--tool-arg", "prompt_text=a red fox in snow", env=env)
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)["result"]
    d = result["structuredContent"]
    assert d["status"] == "SUCCEEDED" and d["model"] == "veo3.1"
    assert Path(d["files"][0]["path"]).parent == tmp_path and Path(d["files"][0]["path"]).exists()
    # A bad argument is a tool error (the Inspector's exit 5), with the field named.
    p = inspector("--method", "tools/call", "--tool-name", "generate_video_text_to_video",
                  "--tool-args-json", '{"prompt_text": "x", "duration": 99}', env=env)
    assert p.returncode == 5 and "duration" in p.stderr + p.stdout


# ---- the desktop bundle (MCPB) ----

MANIFEST = ROOT / "mcpb/manifest.json"


def test_bundle_manifest_passes_mcpb_validate(tmp_path):
    p = subprocess.run([npm_tool("mcpb"), "validate", str(MANIFEST)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    # The validator does refuse a broken manifest (so the pass above means something).
    broken = json.loads(MANIFEST.read_text())
    broken["server"]["type"] = "ruby"
    (tmp_path / "manifest.json").write_text(json.dumps(broken))
    p = subprocess.run([npm_tool("mcpb"), "validate", str(tmp_path / "manifest.json")], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode != 0


def test_bundle_packs(tmp_path):
    out = tmp_path / "runway.mcpb"
    p = subprocess.run([npm_tool("mcpb"), "pack", str(ROOT / "mcpb"), str(out)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and out.stat().st_size > 0, p.stdout + p.stderr


async def test_bundle_matches_the_server_and_its_entry_point_serves(tmp_path):
    m = json.loads(MANIFEST.read_text())
    bundle = (ROOT / "mcpb/pyproject.toml").read_text()  # (tomllib is 3.11+; the tests run on 3.10 too)
    assert re.search(r'^version = "(.*)"$', bundle, re.M).group(1) == m["version"] == runway_core.__version__  # type: ignore[union-attr]
    assert re.search(r'^dependencies = \[(.*)\]$', bundle, re.M).group(1) == f'"runway-mcp-server=={runway_core.__version__}"'  # type: ignore[union-attr]
    cfg = m["server"]["mcp_config"]
    assert set(cfg["env"]) <= ENV_NAMES
    # Run the entry point as the host would, with the user's settings filled in.
    values = {"api_key": "", "output_dir": str(tmp_path / "out"), "simulate": "true", "max_wait": "45"}
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "RUNWAY_MCP_JOURNAL": "off",
           "RUNWAY_MCP_SIM_TASK_SECONDS": "0.5"}
    for k, v in cfg["env"].items():
        ref = re.fullmatch(r"\$\{user_config\.(\w+)\}", v)
        assert ref and ref.group(1) in m["user_config"], v
        env[k] = values[ref.group(1)]
    entry = ROOT / "mcpb" / m["server"]["entry_point"]
    assert entry.exists() and cfg["args"][-1] == m["server"]["entry_point"]
    params = StdioServerParameters(command=sys.executable, args=[str(entry)], env=env)
    async with Client(params, mode="legacy") as c:
        listed = {t.name for t in (await c.list_tools()).tools}
        r = await c.call_tool("generate_image_gen4", {"prompt_text": "a kite", "ratio": "1280:720"})
    assert listed == {t["name"] for t in m["tools"]}
    assert not r.is_error and Path(r.structured_content["files"][0]["path"]).parent == tmp_path / "out"


# ---- server.json for the MCP registry ----

# The registry's server.json format (schema 2025-12-11), as facts: its required fields, patterns,
# lengths and enums. The schema file itself is on static.modelcontextprotocol.io, which CI cannot reach.
SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
PACKAGE_KEYS = {"registryType", "registryBaseUrl", "identifier", "version", "fileSha256", "runtimeHint", "transport",
                "runtimeArguments", "packageArguments", "environmentVariables"}
INPUT_KEYS = {"name", "description", "isRequired", "format", "value", "isSecret", "default", "placeholder", "choices",
              "variables"}
RANGE = re.compile(r"^[\^~<>=]|[*x]$|\.x\.|\|\|| - ")


def registry_problems(doc: dict[str, Any]) -> list[str]:
    bad = []
    if doc.get("$schema") != SCHEMA_URL:
        bad.append("$schema")
    name = doc.get("name", "")
    if not (3 <= len(name) <= 200 and re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", name)):
        bad.append("name")
    if not 1 <= len(doc.get("description", "")) <= 100:
        bad.append("description")
    version = doc.get("version", "")
    if not version or len(version) > 255 or RANGE.search(version) or version == "latest":
        bad.append("version")
    for i, p in enumerate(doc.get("packages", [])):
        if set(p) - PACKAGE_KEYS or not {"registryType", "identifier", "transport"} <= set(p):
            bad.append(f"packages[{i}] keys")
        if p.get("transport", {}).get("type") not in ("stdio", "streamable-http", "sse"):
            bad.append(f"packages[{i}].transport")
        v = p.get("version")
        if v is not None and (not v or v == "latest" or RANGE.search(v)):
            bad.append(f"packages[{i}].version")
        for j, e in enumerate(p.get("environmentVariables", [])):
            if "name" not in e or set(e) - INPUT_KEYS or e.get("format", "string") not in ("string", "number", "boolean", "filepath"):
                bad.append(f"packages[{i}].environmentVariables[{j}]")
            if any(not isinstance(e.get(k, False), bool) for k in ("isRequired", "isSecret")):
                bad.append(f"packages[{i}].environmentVariables[{j}] flags")
            if not isinstance(e.get("default", ""), str):
                bad.append(f"packages[{i}].environmentVariables[{j}].default")
    return bad


def test_server_json_follows_the_registry_format():
    doc = json.loads((ROOT / "server.json").read_text())
    assert registry_problems(doc) == []
    # The checker catches what the registry refuses.
    assert registry_problems({**doc, "name": "runway-mcp-server"}) == ["name"]
    assert registry_problems({**doc, "description": "x" * 101}) == ["description"]
    assert registry_problems({**doc, "packages": [{**doc["packages"][0], "version": "latest"}]}) == ["packages[0].version"]
    assert registry_problems({**doc, "packages": [{**doc["packages"][0], "version": "^0.2"}]}) == ["packages[0].version"]


def test_server_json_matches_the_package():
    doc = json.loads((ROOT / "server.json").read_text())
    pkg = doc["packages"][0]
    assert doc["version"] == pkg["version"] == runway_core.__version__
    assert pkg["registryType"] == "pypi" and pkg["identifier"] == "runway-mcp-server" and pkg["runtimeHint"] == "uvx"
    assert {e["name"] for e in pkg["environmentVariables"]} <= ENV_NAMES
    key = next(e for e in pkg["environmentVariables"] if e["name"] == "RUNWAYML_API_SECRET")
    assert key["isSecret"] is True
    # The registry checks ownership of a PyPI package by this line in its README.
    assert f"mcp-name: {doc['name']}" in README


def test_npm_tools_are_pinned():
    lock = json.loads((ROOT / "tests/node/package-lock.json").read_text())
    wanted = json.loads((ROOT / "tests/node/package.json").read_text())["devDependencies"]
    for name, version in wanted.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert shutil.which("node"), "node is needed for the Inspector and mcpb"
