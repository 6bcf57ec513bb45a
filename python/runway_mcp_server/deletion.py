"""Deleting asks the user first. Runway's DELETE /v1/tasks/{id} cancels a task that runs and deletes
one that has finished, outputs included. Cancelling is what the call asks for and goes at once;
deleting a finished task is put to the user through MCP elicitation, and refused, with what would
be deleted, when the client cannot ask. As with the budget, the question goes from the server to
the user: no tool argument answers it, so a model cannot confirm in the user's place.

`cancel_task` gets the answer through `Annotated[Answer, Resolve(ask)]` (see `budget` for how the
SDK runs the resolver and leaves the parameter out of the input schema)."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Union

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit
from pydantic import BaseModel, Field

from runway_core import RunwayError

from .budget import can_ask
from .pool import svc_of


class Delete(BaseModel):
    delete: bool = Field(description="Delete the task and its outputs at Runway")


class CancelOnly(Delete):
    """No question was put: the task was not finished when the call came (or could not be read),
    so only a cancel may follow, no deletion."""


Answer = ElicitationResult[Delete]
CANCEL_ONLY = CancelOnly(delete=False)


async def what(ctx: Context, task_id: str, status: str) -> str:
    """The finished task in the user's words: id, status, model, tool, and the files saved of it."""
    svc = svc_of(ctx)
    model, _, tool = await svc.recall(task_id)
    made = f"{tool} with {model}" if model else "made outside this server"
    files = [f.path for f in await svc.saved_files(task_id) or [] if f.path]
    kept = f" The files saved here stay: {', '.join(files)}." if files else " No copy of its outputs was saved here."
    return f"task {task_id} ({status}, {made}).{kept}"


async def ask(ctx: Context, task_id: str) -> Union[Delete, Elicit[Delete]]:
    try:
        task = await svc_of(ctx).client().get_task(task_id)
    except RunwayError:
        return CANCEL_ONLY  # the tool body meets the same error and reports it
    if not task.is_terminal:
        return CANCEL_ONLY
    about = await what(ctx, task_id, task.status or "finished")
    if not can_ask(ctx):
        raise ToolError(f"Not deleted, nothing changed: {about} It has finished, so cancelling deletes it and "
                        "its outputs at Runway, which the user must confirm, and this client cannot ask "
                        "(MCP elicitation). The user can delete it in Runway's dashboard.")
    return Elicit(f"Delete {about} Runway removes it and its outputs for good.", Delete)


class DeleteIt(BaseModel):
    """The question about deleting an object of the account (a voice, router, avatar, document)."""

    delete: bool = Field(description="Delete it at Runway for good")


class NotAsked(DeleteIt):
    """No question was put: the object could not be read (the tool body reports why)."""


ObjectAnswer = ElicitationResult[DeleteIt]
NOT_ASKED = NotAsked(delete=False)


def ask_to_delete(ctx: Context, about: str, then: str) -> Union[DeleteIt, Elicit[DeleteIt]]:
    """The question for deleting `about` (what goes with it: `then`), or the refusal, naming it,
    when the client cannot ask."""
    if not can_ask(ctx):
        raise ToolError(f"Not deleted, nothing changed: deleting {about} is for good, which the user must confirm, "
                        "and this client cannot ask (MCP elicitation). The user can delete it in Runway's dashboard.")
    return Elicit(f"Delete {about}? Runway removes it for good; {then}", DeleteIt)


def said_yes(answer: ObjectAnswer) -> bool:
    """Whether the user said yes to deleting an object (NOT_ASKED is never a yes)."""
    return isinstance(answer, AcceptedElicitation) and answer.data.delete and not isinstance(answer.data, NotAsked)


async def delete_if_yes(answer: ObjectAnswer, what: str, read: Callable[[], Awaitable[dict[str, Any]]],
                        delete: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    """Reads the object (`read`), deletes it (`delete`) when the user said yes, and gives it as it
    was; refuses, naming `what`, otherwise. Runway's errors pass through for the tool to word."""
    found = await read()
    if not said_yes(answer):
        raise ToolError(f"Not deleted, nothing changed: the user declined deleting {what}.")
    await delete()
    return found


def not_asked(answer: ObjectAnswer) -> bool:
    return isinstance(answer, AcceptedElicitation) and isinstance(answer.data, NotAsked)


def confirmed(answer: Answer) -> bool:
    """Whether the user said yes to deleting (CANCEL_ONLY is never a yes)."""
    return isinstance(answer, AcceptedElicitation) and answer.data.delete


def asked(answer: Answer) -> bool:
    """Whether the user was asked (and so said no, if not `confirmed`)."""
    return not (isinstance(answer, AcceptedElicitation) and isinstance(answer.data, CancelOnly))
