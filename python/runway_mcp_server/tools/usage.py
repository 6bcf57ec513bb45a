"""Credits spent: Runway's own report per model and day (`/v1/organization/usage`), beside what
this server's journal recorded for the key, as a compact table."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any, Optional

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from runway_core import RunwayError, ValidationError

from ..pool import svc_of
from ..results import plain



class Usage(BaseModel):
    start_date: str
    before_date: str
    # model -> credits over the range, from Runway (net: refunds are negative).
    by_model: dict[str, float] = Field(default_factory=dict)
    # day -> model -> credits, from Runway.
    by_day: dict[str, dict[str, float]] = Field(default_factory=dict)
    total: float = 0
    # model -> credits of this key's tasks the journal holds in the range (final cost, else the
    # estimate); None without a journal.
    journal_by_model: Optional[dict[str, float]] = None


def _day(value: Optional[str], name: str, default: date) -> date:
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ToolError(f"{name}: '{value}' is not a date as YYYY-MM-DD") from None


async def usage_report(
    ctx: Context,
    start_date: Annotated[Optional[str], Field(description="YYYY-MM-DD, UTC; default 30 days ago")] = None,
    before_date: Annotated[Optional[str], Field(description="YYYY-MM-DD, exclusive; default today+1")] = None,
    model: Optional[str] = None,
) -> Annotated[CallToolResult, Usage]:
    today = datetime.now(timezone.utc).date()
    start = _day(start_date, "start_date", today - timedelta(days=30))
    before = _day(before_date, "before_date", max(today + timedelta(days=1), start + timedelta(days=1)))
    client = svc_of(ctx).client()
    try:
        report: dict[str, Any] = await client.api.organization.retrieve_usage(
            startDate=start.isoformat(), beforeDate=before.isoformat())
    except ValidationError as e:
        raise ToolError(str(e).replace("startDate", "start_date").replace("beforeDate", "before_date")) from None
    except RunwayError as e:
        raise ToolError(str(e)) from None
    r = Usage(start_date=start.isoformat(), before_date=before.isoformat())
    for row in report.get("results") or []:
        for used in row.get("usedCredits") or []:
            if model is not None and used.get("model") != model:
                continue
            credits = float(used.get("amount") or 0)
            r.by_day.setdefault(row["date"], {})[used["model"]] = credits
            r.by_model[used["model"]] = r.by_model.get(used["model"], 0) + credits
    r.total = sum(r.by_model.values())
    if client.has_journal:
        lo = int(datetime.combine(start, datetime.min.time(), timezone.utc).timestamp() * 1000)
        hi = int(datetime.combine(before, datetime.min.time(), timezone.utc).timestamp() * 1000)
        r.journal_by_model = {}
        for t in await client.list_tasks(since_ms=lo, model=model, limit=10_000):
            if t.get("created_ms", 0) >= hi or not t.get("task_id"):
                continue
            spent = t.get("cost") if t.get("cost") is not None else t.get("estimated_cost")
            r.journal_by_model[t["model"]] = r.journal_by_model.get(t["model"], 0) + float(spent or 0)
    return plain(r, _table(r))


def _table(r: Usage) -> str:
    """Models by credits, with the journal's figure beside Runway's."""
    if not r.by_model and not r.journal_by_model:
        return f"No credits used from {r.start_date} to before {r.before_date}."
    lines = [f"Credits from {r.start_date} to before {r.before_date} (Runway; this server's journal):"]
    models = sorted(set(r.by_model) | set(r.journal_by_model or {}), key=lambda m: -r.by_model.get(m, 0))
    for m in models:
        mine = "" if r.journal_by_model is None else f"; {r.journal_by_model.get(m, 0):g}"
        lines.append(f"  {m}: {r.by_model.get(m, 0):g}{mine}")
    lines.append(f"  total: {r.total:g} (${r.total / 100:.2f}) over {len(r.by_day)} days with use")
    return "\n".join(lines)
