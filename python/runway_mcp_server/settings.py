"""Server configuration, from the command line and the environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping, Optional

DEFAULT_MAX_CALLS_PER_KEY = 32

# Every environment variable the server reads, with its default: `--help` prints this table.
ENV_VARS: tuple[tuple[str, str], ...] = (
    ("RUNWAYML_API_SECRET", "the Runway API key (RUNWAY_API_KEY also works); unset: no key"),
    ("RUNWAYML_BASE_URL", "the API base URL (default https://api.dev.runwayml.com)"),
    ("RUNWAY_MCP_MAX_WAIT", "seconds a tool call waits for its task (default 45, at most 3600)"),
    ("RUNWAY_MCP_OUTPUT_DIR", "absolute folder for saved outputs (default ~/runway-mcp-outputs)"),
    ("RUNWAY_MCP_INPUT_DIRS", "the only folders local media may be read from, ':'-separated (default: any on stdio, "
                              "none over HTTP)"),
    ("RUNWAY_MCP_JOURNAL", "the task journal: a SQLite file, a postgresql:// URL shared by replicas, or off "
                           "(default: runway-mcp-server/journal.sqlite3 in the user's data folder; none with --simulate)"),
    ("RUNWAY_MCP_MAX_CREDITS", "most credits one task may cost without the user's yes (default: no cap)"),
    ("RUNWAY_MCP_DAILY_CREDITS", "most credits all of today's tasks may cost without the user's yes (needs the "
                                 "journal; default: no cap)"),
    ("RUNWAY_MCP_SAVE_OUTPUTS", "1 or 0: download outputs to the output folder (default 1 on stdio, 0 over HTTP)"),
    ("RUNWAY_MCP_ACCESS_TOKEN", "HTTP: a token every request must present as Authorization: Bearer <token>"),
    ("RUNWAY_MCP_REQUIRE_KEY", "HTTP, 1: every request brings its own Runway key; the server's is never used"),
    ("RUNWAY_MCP_ALLOWED_HOSTS", "HTTP: host names (optionally host:port) clients and proxies may reach the server by, "
                                 "','-separated, beside loopback (e.g. mcp.example.com)"),
    ("RUNWAY_MCP_MAX_CALLS_PER_KEY", f"HTTP: most tool calls one key may have at once (default {DEFAULT_MAX_CALLS_PER_KEY}; "
                                     "0: no limit)"),
    ("RUNWAY_MCP_GRACE_SECONDS", "HTTP: seconds calls in flight get to finish after SIGTERM (default 30)"),
    ("RUNWAY_MCP_TOOLSETS", "the toolsets served, ','-separated, or all (default: default); the default set is "
                            "always on; over HTTP a request may choose with X-Runway-Toolsets or /mcp/x/<set>"),
    ("RUNWAY_MCP_APPS", "the MCP Apps studio: auto (to clients that negotiate the extension), on (to every client: "
                        "for Apps hosts on the handshake-era protocol over HTTP, whose capabilities a stateless "
                        "server cannot see) or off (default auto)"),
    ("RUNWAY_MCP_SIMULATE", "1: the same as --simulate"),
    ("RUNWAY_MCP_SIM_TASK_SECONDS", "length of a simulated task (default 8)"),
    ("RUNWAY_MCP_PROGRESS_INTERVAL", "seconds between progress notifications (default 3)"),
    ("RUNWAY_MCP_LOG_LEVEL", "log level on stderr (default WARNING); stdout is the protocol"),
)

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
    # Where outputs are saved (created on demand; never the working directory).
    output_dir: str = os.path.join(os.path.expanduser("~"), "runway-mcp-outputs")
    # When set, the only folders local media inputs may be read from; empty: none (over HTTP, by
    # default: a caller elsewhere must never make the server send its own files).
    input_dirs: Optional[tuple[str, ...]] = None
    # Images up to this size also come back inline in the result.
    inline_image_max: int = 1_000_000
    # Polling schedule overrides for the core client (tests use a fast one); None: the core's default.
    poll: Optional[Mapping[str, float]] = None
    # The task journal file (SQLite); None: no journal.
    journal: Optional[str] = None
    # Budget guard: most credits one task may cost, and all of today's tasks (UTC day, from the
    # journal); a call that would cross one is asked about (elicitation) or refused. None: no limit.
    max_credits: Optional[float] = None
    daily_credits: Optional[float] = None
    # Download outputs to output_dir (default on for stdio, off over HTTP: the client is elsewhere).
    save_outputs: bool = True
    # Serving HTTP: results also link each output as a runway:// resource.
    remote: bool = False
    # HTTP: a token every request must present (Authorization: Bearer <token>).
    access_token: Optional[str] = None
    # HTTP: every request must bring its own Runway key; the server's own is never used.
    require_key: bool = False
    # HTTP: seconds calls in flight get to finish after SIGTERM.
    grace_seconds: float = 30.0
    # HTTP: Host names (host or host:port) the server answers to beside loopback.
    allowed_hosts: tuple[str, ...] = ()
    # HTTP: most tool calls one key may have in flight at once; 0: no limit.
    max_calls_per_key: int = DEFAULT_MAX_CALLS_PER_KEY
    # The toolsets served (names from tools/toolsets.py, or "all"); `default` is always on.
    toolsets: tuple[str, ...] = ("default",)
    # The MCP Apps studio (apps/): "auto" to clients that negotiate the extension, "on" to every
    # client, "off" to none.
    apps: str = "auto"

    @classmethod
    def from_env(cls, simulate: bool = False, env: Optional[Mapping[str, str]] = None, http: bool = False,
                 require_key: bool = False) -> "Settings":
        e = os.environ if env is None else env
        simulate = simulate or _flag(e, "RUNWAY_MCP_SIMULATE")
        journal = _journal(e, simulate)
        daily = _credits(e, "RUNWAY_MCP_DAILY_CREDITS")
        if daily is not None and journal is None:
            raise SystemExit("runway-mcp-server: RUNWAY_MCP_DAILY_CREDITS counts today's spending from the task journal; "
                             "set RUNWAY_MCP_JOURNAL to a file (it is off, or --simulate keeps none by default)")
        return cls(
            simulate=simulate,
            max_wait=_float(e, "RUNWAY_MCP_MAX_WAIT", DEFAULT_MAX_WAIT),
            progress_interval=_float(e, "RUNWAY_MCP_PROGRESS_INTERVAL", 3.0) or 3.0,
            sim_task_seconds=_float(e, "RUNWAY_MCP_SIM_TASK_SECONDS", 8.0),
            output_dir=_output_dir(e),
            input_dirs=_input_dirs(e, http),
            journal=journal,
            max_credits=_credits(e, "RUNWAY_MCP_MAX_CREDITS"),
            daily_credits=daily,
            save_outputs=_flag(e, "RUNWAY_MCP_SAVE_OUTPUTS") if e.get("RUNWAY_MCP_SAVE_OUTPUTS", "").strip() else not http,
            remote=http,
            access_token=e.get("RUNWAY_MCP_ACCESS_TOKEN", "").strip() or None,
            require_key=require_key or _flag(e, "RUNWAY_MCP_REQUIRE_KEY"),
            grace_seconds=_float(e, "RUNWAY_MCP_GRACE_SECONDS", 30.0),
            allowed_hosts=allowed_hosts(e.get("RUNWAY_MCP_ALLOWED_HOSTS", "")),
            max_calls_per_key=_count(e, "RUNWAY_MCP_MAX_CALLS_PER_KEY", DEFAULT_MAX_CALLS_PER_KEY),
            toolsets=_toolsets(e),
            apps=_apps(e),
        )


APPS_MODES = ("auto", "on", "off")


def _apps(env: Mapping[str, str]) -> str:
    raw = env.get("RUNWAY_MCP_APPS", "").strip().lower() or "auto"
    if raw not in APPS_MODES:
        raise SystemExit(f"runway-mcp-server: RUNWAY_MCP_APPS must be one of {', '.join(APPS_MODES)}, got {raw!r}")
    return raw


def _toolsets(env: Mapping[str, str]) -> tuple[str, ...]:
    """RUNWAY_MCP_TOOLSETS, checked against the table so that a typo stops the start."""
    from .sets import TABLE

    raw = env.get("RUNWAY_MCP_TOOLSETS", "").strip() or "default"
    try:
        TABLE.parse(raw, "RUNWAY_MCP_TOOLSETS")
    except ValueError as e:
        raise SystemExit(f"runway-mcp-server: {e}") from None
    return tuple(n.strip().lower() for n in raw.split(",") if n.strip())


def _credits(env: Mapping[str, str], name: str) -> Optional[float]:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise SystemExit(f"runway-mcp-server: {name} must be a number of credits (1 credit = $0.01), got {raw!r}")
    return value


def _journal(env: Mapping[str, str], simulate: bool) -> Optional[str]:
    """RUNWAY_MCP_JOURNAL: a file, a postgresql:// URL, or off. Unset: the user's data folder, except in simulate mode,
    whose tasks die with the process (a journal of them would only hold dead rows)."""
    raw = env.get("RUNWAY_MCP_JOURNAL", "").strip()
    if raw.lower() in ("off", "none", "0", "false", "no"):
        return None
    if not raw:
        if simulate:
            return None
        import runway_core

        return runway_core.default_journal_path()
    if raw.startswith(("postgresql://", "postgres://")):
        return raw  # a database shared by replicas; the core opens it (and never prints its password)
    path = os.path.expanduser(raw)
    if not os.path.isabs(path):
        raise SystemExit(f"runway-mcp-server: RUNWAY_MCP_JOURNAL must be an absolute path, a postgresql:// URL "
                         f"or 'off', got {raw!r}")
    return path


def _output_dir(env: Mapping[str, str]) -> str:
    raw = env.get("RUNWAY_MCP_OUTPUT_DIR", "").strip()
    if not raw:
        home = env.get("HOME") or os.path.expanduser("~")
        return os.path.join(home, "runway-mcp-outputs")
    path = os.path.expanduser(raw)
    if not os.path.isabs(path):
        # A client may start us anywhere (often / or a read-only folder): relative paths are refused.
        raise SystemExit(f"runway-mcp-server: RUNWAY_MCP_OUTPUT_DIR must be an absolute path, got {raw!r}")
    return path


def _input_dirs(env: Mapping[str, str], http: bool = False) -> Optional[tuple[str, ...]]:
    raw = env.get("RUNWAY_MCP_INPUT_DIRS", "").strip()
    if not raw:
        return () if http else None
    dirs = tuple(os.path.expanduser(d) for d in raw.split(os.pathsep) if d.strip())
    for d in dirs:
        if not os.path.isabs(d):
            raise SystemExit(f"runway-mcp-server: RUNWAY_MCP_INPUT_DIRS entries must be absolute paths, got {d!r}")
    return dirs


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > 1_000_000:
        raise SystemExit(f"runway-mcp-server: {name} must be a whole number from 0 to 1000000, got {raw!r}")
    return int(raw)


_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def allowed_hosts(raw: str) -> tuple[str, ...]:
    """RUNWAY_MCP_ALLOWED_HOSTS: `name` or `name:port` entries, ','-separated, lowercased; checked
    here so that a typo stops the start instead of answering every request 421."""
    out = []
    for entry in (x.strip().lower() for x in raw.split(",")):
        if not entry:
            continue
        host, port = entry, ""
        if entry.startswith("["):  # [v6] or [v6]:port
            host, closed, rest = entry.partition("]")
            port = rest[1:]
            ok = bool(closed) and rest[:1] in ("", ":") and _is_ip(host[1:], 6)
        else:
            if entry.count(":") == 1:
                host, port = entry.split(":")
            ok = _is_ip(host, 4) or (len(host) <= 253 and all(_LABEL.fullmatch(p) for p in host.split(".")))
        if ok and port:
            ok = port.isdigit() and 0 < int(port) < 65536
        if not ok:
            raise SystemExit(f"runway-mcp-server: RUNWAY_MCP_ALLOWED_HOSTS: {entry!r} is not a host name or "
                             "host:port (e.g. mcp.example.com or mcp.example.com:8443; no scheme, path or wildcard)")
        out.append(entry)
    return tuple(out)


def _is_ip(text: str, version: int) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False
