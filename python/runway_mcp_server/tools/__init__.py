"""The MCP tools, a module per family: `table` (the generation tools as rows of one table) and
`shapes` (filling the body shapes rows give as data), `generate` (a tool made from its row), `tasks`,
`models`, `batching`, `account`, and `resources` (task outputs as `runway://` resources).
`build()` makes every tool, in tools/list order, with its description and annotations: the
generation tools with the input schemas made from the catalogue, the others by the SDK from their
signatures."""

from __future__ import annotations

from mcp.server.mcpserver.tools import Tool

from .. import catalogue as cat
from .account import get_api_info, get_credits
from .avatars import (avatar_conversations, avatar_documents, avatars, delete_avatar, delete_document,
                      start_avatar_session)
from .batching import batch_generate_videos
from .common import CANCEL, EDIT, FETCH, LOCAL, PAID, READ, SESSION, UPLOAD
from .generate import MAX_MODEL_ENUM, make_tool, offers_choice, tools_for
from .models import describe_model, estimate_cost, list_available_models, list_voices
from .routing import delete_router, generate_by_goal, routers
from .usage import usage_report
from .resources import register_resources
from .table import GENERATORS
from .tasks import cancel_task, get_task_status, list_tasks, upload_file, wait_for_task
from .voices import create_voice, delete_voice, design_voice, rename_voice
from .workflows import describe_workflow, list_workflows, run_workflow

__all__ = ["GENERATORS", "LOCAL", "MAX_MODEL_ENUM", "build", "offers_choice", "register_resources", "tools_for"]


def build() -> list[Tool]:
    """Every tool, in the order tools/list gives them (each set's: `toolsets.py` says which)."""
    out: list[Tool] = [make_tool(g, f"{g.what} {cat.cost_summary(cat.select(g.endpoints, g.tag))}".strip(), PAID)
                       for g in GENERATORS]
    for fn, description, annotations in (
        (batch_generate_videos, "Several generations at once.", PAID),
        (get_task_status, "Task status, cost, outputs (saved locally).", FETCH),
        (wait_for_task, "Wait longer for a task.", FETCH),
        (cancel_task, "Cancel a running task; delete a finished one (asks the user).", CANCEL),
        (upload_file, "runway:// URI (24 h) for a local file; tools take paths too.", UPLOAD),
        (list_available_models, "Models: tools, tags, costs. Free.", LOCAL),
        (describe_model, "A model's fields, limits, rules, cost, example. Free.", LOCAL),
        (list_voices, "Preset and custom voices. Free.", READ),
        (list_tasks, "Tasks started here: status, cost, files. Free.", LOCAL),
        (estimate_cost, "Price a generation call. Sends nothing.", LOCAL),
        (get_credits, "Credits left; per-model limits, use today.", READ),
        (get_api_info, "Server version, settings. Free.", LOCAL),
        (generate_by_goal, "Video, image or audio by goal: Runway's router picks the model within a ceiling.", PAID),
        (routers, "Model routers: list, create, update, routing history.", EDIT),
        (delete_router, "Delete a model router (asks the user).", CANCEL),
        (usage_report, "Credits used per model and day (Runway's report and this server's journal).", READ),
        (list_workflows, "Published workflows and their version ids. Free.", READ),
        (describe_workflow, "A workflow's input and output nodes, typed. Free.", READ),
        (run_workflow, "Run a published workflow; waits, saves outputs.", PAID),
        (design_voice, "Hear a voice designed from a description (preview).", UPLOAD),
        (create_voice, "Keep a custom voice, from a description or an audio sample.", PAID),
        (rename_voice, "Rename a custom voice.", UPLOAD),
        (delete_voice, "Delete a custom voice (asks the user).", CANCEL),
        (avatars, "Custom avatars: list, create (face, voice, personality), update.", EDIT),
        (delete_avatar, "Delete a custom avatar (asks the user).", CANCEL),
        (avatar_documents, "Avatars' knowledge documents: list, read, create, update.", EDIT),
        (delete_document, "Delete a knowledge document (asks the user).", CANCEL),
        (avatar_conversations, "Conversations with avatars; one's transcript.", READ),
        (start_avatar_session, "Start a live avatar session; returns the key to join it.", PAID),
    ):
        out.append(Tool.from_function(fn, name=fn.__name__, description=description, annotations=annotations))
    from ..sets import toolsets  # the mechanism imports this package's table

    out.append(Tool.from_function(toolsets, name="toolsets", description="List toolsets; enable one.",
                                  annotations=SESSION))
    return out
