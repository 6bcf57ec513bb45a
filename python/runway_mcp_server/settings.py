"""Server configuration, from the command line and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional

DEFAULT_MAX_WAIT = 45.0  # below the ~60 s after which common MCP clients give up on a call
MAX_WAIT_LIMIT = 3600.0


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"runway-mcp-server: {name} must be a number of seconds, got {raw!r}") from None
    if not 0 <= value <= MAX_WAIT_LIMIT:
        raise SystemExit(f"runway-mcp-server: {name} must be between 0 and {MAX_WAIT_LIMIT:.0f}, got {raw!r}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    simulate: bool = False
    max_wait: float = DEFAULT_MAX_WAIT
    # Seconds between progress notifications while waiting.
    progress_interval: float = 3.0
    # Length of a simulated task (simulate mode only).
    sim_task_seconds: float = 8.0
    api_key: Optional[str] = None
    base_url: Optional[str] = None

    @classmethod
    def from_env(cls, simulate: bool = False, env: Optional[Mapping[str, str]] = None) -> "Settings":
        e = os.environ if env is None else env
        return cls(
            simulate=simulate or _flag(e, "RUNWAY_MCP_SIMULATE"),
            max_wait=_float(e, "RUNWAY_MCP_MAX_WAIT", DEFAULT_MAX_WAIT),
            progress_interval=_float(e, "RUNWAY_MCP_PROGRESS_INTERVAL", 3.0) or 3.0,
            sim_task_seconds=_float(e, "RUNWAY_MCP_SIM_TASK_SECONDS", 8.0),
        )
