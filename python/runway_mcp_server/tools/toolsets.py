"""Which toolset each tool is in: a plain table, one line per set and one line per tool.

Every tool schema is context an agent pays for in every conversation, so a server serves the
`default` set and the sets it was started with (RUNWAY_MCP_TOOLSETS), a session turns more on with
the `toolsets` tool, and an HTTP client chooses per request (`X-Runway-Toolsets`, `/mcp/x/<set>`).
The mechanism is in `runway_mcp_server/sets.py`; this file is only the table.

Adding a tool to a set: one line in TOOLS. A tool not listed there is in `default`. A set with no
tool on this server is not offered.
"""

from __future__ import annotations

DEFAULT = "default"

# Set name -> one line for the agent (the `toolsets` tool shows it).
SETS: dict[str, str] = {
    DEFAULT: "Generation, tasks, models, voices list, credits, server info.",
    "recipes": "Runway's recipes: product ads, ad localization, multi-shot video, campaigns.",
    "routers": "Generation by goal (cost, speed, quality) and model router management.",
    "workflows": "The account's published workflows: list, describe, run, follow.",
    "voices": "Custom voices: design, create from a sample, rename, delete.",
    "avatars": "Custom avatars, their documents, conversations, realtime sessions.",
    "usage": "Credits spent per model and day over a date range.",
}

# Tool name -> set. Tools not listed are in `default`.
TOOLS: dict[str, str] = {
    "run_recipe": "recipes",
    "generate_by_goal": "routers",
    "routers": "routers",
    "delete_router": "routers",
    "list_workflows": "workflows",
    "describe_workflow": "workflows",
    "run_workflow": "workflows",
    "design_voice": "voices",
    "create_voice": "voices",
    "rename_voice": "voices",
    "delete_voice": "voices",
    "usage_report": "usage",
    "avatars": "avatars",
    "delete_avatar": "avatars",
    "avatar_documents": "avatars",
    "delete_document": "avatars",
    "avatar_conversations": "avatars",
    "start_avatar_session": "avatars",
}
