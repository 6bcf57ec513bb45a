"""The account and the server: credits and limits, the configuration in effect."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Optional

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field

import runway_core
from runway_core import RunwayError

from ..results import plain
from ..pool import svc_of


class Credits(BaseModel):
    credit_balance: Optional[float] = None
    max_monthly_credit_spend: Optional[float] = None
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # From the journal (final cost, else Runway's estimate), UTC days; None without a journal.
    spent_today: Optional[float] = None
    spent_last_7_days: Optional[float] = None


async def get_credits(ctx: Context) -> Annotated[CallToolResult, Credits]:
    try:
        org = await svc_of(ctx).client().organization()
    except RunwayError as e:
        raise ToolError(str(e)) from None
    tier = org.get("tier") or {}
    used = (org.get("usage") or {}).get("models") or {}
    limits = {name: {**lim, "used_today": (used.get(name) or {}).get("dailyGenerations", 0)}
              for name, lim in (tier.get("models") or {}).items()}
    r = Credits(credit_balance=org.get("creditBalance"), max_monthly_credit_spend=tier.get("maxMonthlyCreditSpend"),
                models=limits)
    client = svc_of(ctx).client()
    if client.has_journal:
        midnight = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        r.spent_today = await client.spent_since(int(midnight.timestamp() * 1000))
        r.spent_last_7_days = await client.spent_since(int(midnight.timestamp() * 1000) - 6 * 86_400_000)
    busy = ", ".join(f"{k} {v['used_today']}/{v.get('maxDailyGenerations') or '-'}" for k, v in limits.items() if v["used_today"])
    spent = (f" Spent by this server's tasks: {r.spent_today:g} today, {r.spent_last_7_days:g} in the last 7 days."
             if r.spent_today is not None else "")
    return plain(r, f"Balance: {r.credit_balance} credits (${(r.credit_balance or 0) / 100:.2f}). "
                    f"Used today (generations/daily limit): {busy or 'nothing'}.{spent}")


class ApiInfo(BaseModel):
    # Also `toolsets`, the sets this request sees: left out of the published schema, which every
    # tools/list carries.
    model_config = ConfigDict(extra="allow")
    server_version: str
    runway_api_version: str
    base_url: str
    simulated: bool
    api_key_set: bool
    max_wait_seconds: float
    # None over HTTP: the server's folders are no caller's business.
    output_dir: Optional[str] = None
    input_dirs: Optional[list[str]] = None
    models: int


async def get_api_info(ctx: Context) -> Annotated[CallToolResult, ApiInfo]:
    svc = svc_of(ctx)
    info = ApiInfo(server_version=runway_core.__version__, runway_api_version=runway_core.API_VERSION, base_url=svc.base_url,
                   simulated=svc.simulated, api_key_set=svc.key_is_set(), max_wait_seconds=svc.settings.max_wait,
                   models=len(runway_core.models()))
    enabled = getattr(ctx.mcp_server, "enabled_sets", None)
    toolsets = sorted(enabled(ctx.request_context)) if enabled is not None else ["default"]
    info.toolsets = toolsets  # type: ignore[attr-defined]  # an extra field (model_config)
    if not svc.settings.remote:
        info.output_dir = svc.settings.output_dir
        info.input_dirs = list(svc.settings.input_dirs) if svc.settings.input_dirs is not None else None
    mode = "SIMULATOR (no credits are spent)" if info.simulated else "live Runway API"
    key = "set" if info.api_key_set else "NOT set: set RUNWAYML_API_SECRET, or run with --simulate"
    saves = f"saves outputs in {info.output_dir}" if info.output_dir else "outputs are runway:// resources"
    return plain(info, f"runway-mcp-server {info.server_version} on the {mode} at {info.base_url}; API key {key}; "
                       f"waits up to {info.max_wait_seconds:g} s; {saves}; toolsets: {', '.join(toolsets)}.")
