"""The browser tests' harness: our server built against the simulator, an MCP SDK client session
to it that advertises MCP Apps, a small HTTP server on loopback that serves the test host page
(host.html, host.js) and forwards its JSON requests to that session, and the Node driver
(driver.mjs: playwright-core, Debian's chromium, headless) that runs one scenario against it."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import uvicorn
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Route

from runway_mcp_server.server import build
from runway_mcp_server.settings import Settings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DRIVER = HERE / "driver.mjs"
NODE_MODULES = ROOT / "tests" / "node" / "node_modules"
SCREENSHOTS = ROOT / "target" / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
# Debian's package; RUNWAY_CHROMIUM points elsewhere.
CHROMIUM = os.environ.get("RUNWAY_CHROMIUM", "/usr/bin/chromium")
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


def wire(model: Any) -> Any:
    """An SDK result as it travels on the wire (camelCase, no nulls)."""
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


def proxy_app(client: Client) -> Starlette:
    """The host page, and /rpc: the three MCP requests the host makes of the server, forwarded to
    the SDK session. What a view may ask is the host page's business (host.js), not this one's."""

    async def rpc(request: Request) -> JSONResponse:
        # JSON only: a cross-origin POST (the view's own, around the host) then needs a CORS
        # preflight, which this server never grants.
        if request.headers.get("content-type") != "application/json":
            return JSONResponse({"error": {"code": -32600, "message": "JSON only"}}, status_code=415)
        body = await request.json()
        method, params = body.get("method"), body.get("params") or {}
        try:
            if method == "tools/list":
                result = await client.list_tools(cursor=params.get("cursor"))
            elif method == "tools/call":
                result = await client.call_tool(params["name"], params.get("arguments") or {})
            elif method == "resources/read":
                result = await client.read_resource(params["uri"])
            else:
                return JSONResponse({"error": {"code": -32601, "message": f"Method not found: {method}"}})
        except MCPError as e:
            return JSONResponse({"error": {"code": e.code, "message": e.message}})
        return JSONResponse({"result": wire(result)})

    return Starlette(routes=[
        Route("/", lambda _: FileResponse(HERE / "host.html")),
        Route("/host.js", lambda _: FileResponse(HERE / "host.js", media_type="text/javascript")),
        Route("/rpc", rpc, methods=["POST"]),
    ])


@asynccontextmanager
async def serve(client: Client) -> AsyncIterator[str]:
    """The host page on 127.0.0.1 and a free port, in this event loop; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(proxy_app(client), log_level="warning", lifespan="off"))
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def hosted(server: MCPServer) -> AsyncIterator[tuple[Client, str]]:
    """`server` over the SDK's client (with the Apps extension), and the test host's URL."""
    async with Client(server, extensions=[APPS]) as client:
        async with serve(client) as url:
            yield client, url


def studio(settings: Settings) -> AbstractAsyncContextManager[tuple[Client, str]]:
    """Our server, as `settings` say, behind the test host."""
    return hosted(build(settings))


def tools_present() -> None:
    """The browser and the driver's module are installed by tests/run.sh: missing is a failure."""
    missing = []
    if shutil.which("node") is None:
        missing.append("node")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"chromium at {CHROMIUM} (apt-get install chromium)")
    if not (NODE_MODULES / "playwright-core").is_dir():
        missing.append("playwright-core (npm ci --prefix tests/node)")
    assert not missing, "the browser tests need " + ", ".join(missing)


async def drive(url: str, scenario: str, timeout: float = 60, **config: Any) -> dict[str, Any]:
    """Runs one scenario of driver.mjs against the host at `url`; returns what it observed.
    Fails with the driver's own account (and its screenshot) when a step did not happen."""
    tools_present()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    job = {"url": url, "scenario": scenario, "chromium": CHROMIUM, "screenshots": str(SCREENSHOTS), **config}
    proc = await asyncio.create_subprocess_exec(
        "node", str(DRIVER), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "NODE_PATH": str(NODE_MODULES)})
    try:
        out, err = await asyncio.wait_for(proc.communicate(json.dumps(job).encode()), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"{scenario}: the driver took over {timeout} s") from None
    lines = out.decode().strip().splitlines()
    report = json.loads(lines[-1]) if lines else {}
    assert proc.returncode == 0 and report.get("ok"), (
        f"{scenario}: {report.get('error') or 'the driver failed'}\n"
        f"screenshots: {report.get('screenshots')}\nview text: {report.get('text')}\n"
        f"host refused: {report.get('refused')}\nstderr: {err.decode()[-3000:]}")
    copy_to_docs(report.get("screenshots", []))
    return report


def copy_to_docs(shots: list[str]) -> None:
    """RUNWAY_DOCS_SCREENSHOTS: the scenarios' screenshots also go to docs/screenshots/ (for the
    README): `all`, or the names to copy, ','-separated (e.g. `video,gallery-filtered,dark`)."""
    chosen = os.environ.get("RUNWAY_DOCS_SCREENSHOTS", "").strip()
    if not chosen:
        return
    names = None if chosen == "all" else {n.strip() for n in chosen.split(",")}
    for shot in map(Path, shots):
        if names is None or shot.stem in names:
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, DOCS_SCREENSHOTS / shot.name)
