"""The spending guard. The budget: RUNWAY_MCP_MAX_CREDITS (most one task may cost) and
RUNWAY_MCP_DAILY_CREDITS (all of today's tasks, UTC, by the journal's figures). A call whose tasks
would cross a limit is not sent: the user is asked through the client (MCP elicitation) when it can
ask, and the call is refused with the figures otherwise. The question goes from the server to the
user; no tool argument answers it, so a model cannot confirm in the user's place. A call that would
reattach to an identical request's running task spends nothing: it goes without the question, on
the condition that it only reattaches.

Paying twice: when an identical earlier request may already have created a task whose id never came
back (its process died mid-create, or Runway's answer was lost), the core refuses to send it again.
A client that can ask puts the question "pay again?" to the user first; yes sends it with force_new.
Otherwise the refusal reaches the agent, which may pass force_new itself.

Each tool gets the answer through a parameter annotated `Annotated[Approval, Resolve(fn)]`; the SDK
runs `fn` before the tool body, asks the question `fn` returns (on every protocol version), and
leaves the parameter out of the tool's input schema."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Awaitable, Callable, Optional, Sequence, Union

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit
from pydantic import BaseModel, Field

from .pool import svc_of
from .service import RunwayService


class Spend(BaseModel):
    spend: bool = Field(description="Send it and spend these credits")


class ReattachOnly(Spend):
    """Let through over the budget only because the call reattaches to an identical running task,
    which costs nothing: the create may then only reattach (`create_task(reattach_only=True)`), so
    that if the task finished in the meantime nothing is spent without the question."""


class PayAgain(Spend):
    """The user's yes to a question that included paying again for a request an earlier call may
    already have paid for: the create goes with force_new."""


Approval = ElicitationResult[Spend]
Doubt = Callable[[], Awaitable[Optional[str]]]
Verdict = Union[Spend, Elicit[Spend]]
WITHIN = Spend(spend=True)
REATTACH = ReattachOnly(spend=True)


@dataclass(frozen=True)
class Planned:
    """A task a call is about to create: what it is (for people) and Runway's most it can cost."""

    label: str
    credits: Optional[float]


def _usd(credits: float) -> str:
    return f"{credits:g} credits (${credits / 100:.2f})"


def limited(svc: RunwayService) -> bool:
    return svc.settings.max_credits is not None or svc.settings.daily_credits is not None


async def over_budget(svc: RunwayService, planned: Sequence[Planned]) -> Optional[str]:
    """Why `planned` crosses a limit, with the figures; None when it does not."""
    s = svc.settings
    why: list[str] = []
    if s.max_credits is not None:
        for p in planned:
            if p.credits is None:
                why.append(f"{p.label} has no price known here, and RUNWAY_MCP_MAX_CREDITS={s.max_credits:g} is set")
            elif p.credits > s.max_credits:
                why.append(f"{p.label} may cost {_usd(p.credits)}, above RUNWAY_MCP_MAX_CREDITS={s.max_credits:g} per task")
    if s.daily_credits is not None:
        midnight = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        spent = await svc.client().spent_since(int(midnight.timestamp() * 1000))
        more = sum(p.credits or 0.0 for p in planned)
        if spent + more > s.daily_credits:
            why.append(f"today's tasks may have cost {spent:g} credits; {more:g} more makes {spent + more:g}, "
                       f"above RUNWAY_MCP_DAILY_CREDITS={s.daily_credits:g} per day")
    return "; ".join(why) or None


def can_ask(ctx: Context) -> bool:
    """Whether the client takes form elicitation (a bare `elicitation: {}` means form)."""
    caps = ctx.client_capabilities
    e = caps.elicitation if caps is not None else None
    return e is not None and (e.form is not None or e.url is None)


def _svc(ctx: Context) -> RunwayService:
    return svc_of(ctx)


async def guard(ctx: Context, planned: Sequence[Planned],
                reattaches: Optional[Callable[[], Awaitable[bool]]] = None,
                doubt: Optional[Doubt] = None) -> Verdict:
    """Within the limits and no doubt: go. Over them: go only to reattach when `reattaches()` says
    the call would (nothing to spend). `doubt()`: why sending might pay twice (asked only when the
    client can ask; otherwise the core's refusal says it). Else a question for the user, or a
    refusal when none can be put."""
    asking = can_ask(ctx)
    twice = await doubt() if doubt is not None and asking else None
    reason = await over_budget(_svc(ctx), planned) if limited(_svc(ctx)) else None
    if reason is None and twice is None:
        return WITHIN
    if twice is None and reattaches is not None and await reattaches():
        return REATTACH
    if not asking:
        raise ToolError(f"Not sent, nothing spent: {reason}. To allow it, raise that limit in the server's "
                        "environment, or use a client that can ask the user to confirm (MCP elicitation).")
    if twice is None:
        return Elicit(f"Over your Runway budget: {reason}. Spend it anyway?", Spend)
    over = f" It is also over your Runway budget: {reason}." if reason else ""
    return Elicit(f"{twice}.{over} Pay again for a new task?", PayAgain)


def pay_again(outcome: Approval) -> bool:
    """Whether the user said yes to paying again (see `PayAgain`): the create goes with force_new."""
    return isinstance(outcome, AcceptedElicitation) and isinstance(outcome.data, PayAgain)


def reattach_only(outcome: Approval) -> bool:
    """Whether the guard let the call through only to reattach (see `ReattachOnly`)."""
    return isinstance(outcome, AcceptedElicitation) and isinstance(outcome.data, ReattachOnly)


async def check(ctx: Context, outcome: Approval, planned: Callable[[], Sequence[Planned]],
                doubt: Optional[Doubt] = None) -> None:
    """In the tool body: go on only when the guard let it through or the user said yes."""
    if isinstance(outcome, AcceptedElicitation) and outcome.data.spend:
        return
    why = [await over_budget(_svc(ctx), planned()) if limited(_svc(ctx)) else None,
           await doubt() if doubt is not None else None]
    reason = "; ".join(w for w in why if w) or "over the budget"
    raise ToolError(f"Not sent, nothing spent: the user declined ({reason}).")
