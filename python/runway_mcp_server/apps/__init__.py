"""MCP Apps (`io.modelcontextprotocol/ui`): the studio page (`ui://runway/studio.html`: player,
gallery, compare, follow-ups) and the app-only tools it calls through the host (`tools.py`).

Following the ext-apps specification's advice to servers (check the client's capabilities; give
clients without Apps text-only tools), the UI is offered only to a client that negotiated the
extension (`client_supports_apps`): its tools/list gets `_meta.ui.resourceUri` on the task tools and
the app-only tools (`_meta.ui.visibility: ["app"]`, which the host keeps from its model). A client
without Apps gets the tools/list and results it got before, byte for byte, and cannot call the
app-only tools. Which tools open the page comes from their result shape: a task (the player) or
the journal's tasks (the gallery)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, Optional

from mcp.server.apps import Apps, ResourceCsp, ResourcePermissions, client_supports_apps
from mcp.server.context import ServerRequestContext

from .tools import APP_TOOLS

STUDIO_URI = "ui://runway/studio.html"

# The result shapes (output schema titles) whose tools open the studio.
UI_RESULTS = ("Task", "Tasks")

UI_META: dict[str, Any] = {"ui": {"resourceUri": STUDIO_URI}}


@lru_cache(maxsize=1)
def studio_html() -> str:
    return resources.files(__package__).joinpath("studio.html").read_text(encoding="utf-8")


def extension() -> Apps:
    """The Apps extension: the studio resource and the app-only tools."""
    apps = Apps()
    # Self-contained: inline script and style; media arrives as data: URIs through the host.
    # So no network origin at all.
    apps.add_html_resource(STUDIO_URI, studio_html(), name="runway_studio", title="Runway studio",
                           description="Player, gallery, compare and follow-ups for Runway tasks.",
                           csp=ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[],
                                           base_uri_domains=[]),
                           # Copy the prompt (navigator.clipboard), where the host allows it.
                           permissions=ResourcePermissions(clipboard_write={}))
    for fn, description in APP_TOOLS:
        apps.tool(resource_uri=STUDIO_URI, visibility=["app"], name=fn.__name__, description=description)(fn)
    return apps


APP_TOOL_NAMES = frozenset(fn.__name__ for fn, _ in APP_TOOLS)


def supported(rc: Optional[ServerRequestContext[Any, Any]], mode: str = "auto") -> bool:
    """Whether this request's client is offered the studio (RUNWAY_MCP_APPS: `mode`)."""
    if mode != "auto":
        return mode == "on"
    return rc is not None and client_supports_apps(rc)


def listed(rc: ServerRequestContext[Any, Any], tools: list[dict[str, Any]], ui_tools: frozenset[str],
           mode: str = "auto") -> list[dict[str, Any]]:
    """tools/list (wire form) as this request's client gets it: for an Apps client, the studio's URI
    on the tools that open it; for any other, without the app-only tools (and nothing else changed)."""
    if not supported(rc, mode):
        return [t for t in tools if t.get("name") not in APP_TOOL_NAMES]
    # New dicts: the listing may be shared with other requests.
    return [{**t, "_meta": {**(t.get("_meta") or {}), **UI_META}} if t.get("name") in ui_tools else t for t in tools]


def resources_listed(rc: ServerRequestContext[Any, Any], resources: list[dict[str, Any]],
                     mode: str = "auto") -> list[dict[str, Any]]:
    """resources/list without the studio for a client without Apps (the spec lets a server leave
    UI resources out of the list; tools name them)."""
    return resources if supported(rc, mode) else [r for r in resources if not str(r.get("uri", "")).startswith("ui://")]
