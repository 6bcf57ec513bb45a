"""The tools' schemas, kept between starts. The SDK builds a tool's input and output schemas from
its function's signature (a pydantic model per tool, then its JSON schema): for our 27 tools that
is most of what a start costs beyond importing the SDK. The schemas depend only on the code and
the data, so the first start builds the tools as the SDK does and writes their schemas to a file in
the user's cache folder, named by a hash of everything they are derived from (this package's and
runway_core's sources, the core library, the catalogue, the versions of the MCP SDK, pydantic and
Python). A later start with the same hash gives the SDK `LazyTool`s carrying those schemas, which
build the SDK's own tool from the function on their first call and hand every call to it: calls
are validated and run exactly as before. A missing, unreadable or stale file is a miss, and a
cache folder that cannot be written only costs the next start the same work again."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from mcp.server.mcpserver.tools import Tool
from pydantic import ConfigDict, PrivateAttr

import runway_core

from . import catalog
from .tools import ToolSpec

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context

log = logging.getLogger("runway_mcp_server")

# The layout of the file; part of the key.
FORMAT = 1
# Files of other keys (older releases, earlier builds) are removed once this old.
PRUNE_AFTER_SECONDS = 7 * 86_400


class LazyTool(Tool):
    """An SDK tool whose schemas come from the cache: listed without any pydantic work, built for
    real (`Tool.from_function`, as `MCPServer.add_tool` does) on its first call."""

    # Made with model_construct only: its validator is never needed.
    model_config = ConfigDict(defer_build=True)

    _output_schema: Optional[dict[str, Any]] = PrivateAttr(default=None)
    _real: Optional[Tool] = PrivateAttr(default=None)
    _cache_file: Optional[str] = PrivateAttr(default=None)

    @cached_property
    def output_schema(self) -> Optional[dict[str, Any]]:
        return self._output_schema

    def real(self) -> Tool:
        """The SDK's tool for the function, built on first use."""
        if self._real is None:
            real = Tool.from_function(self.fn, name=self.name, title=self.title, description=self.description,
                                      annotations=self.annotations, icons=self.icons, meta=self.meta)
            if entry(real) != entry(self):
                # Cannot happen while the key covers every input; if it does, the next start rebuilds.
                log.warning("tool %s: the cached schemas differ from the function's; removing %s",
                            self.name, self._cache_file)
                if self._cache_file:
                    try:
                        os.unlink(self._cache_file)
                    except OSError:
                        pass
            self._real = real
        return self._real

    async def run(self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False) -> Any:
        return await self.real().run(arguments, context, convert_result=convert_result)


def cache_dir(env: Mapping[str, str]) -> str:
    """runway-mcp-server's folder in the user's cache folder: $XDG_CACHE_HOME or ~/.cache on Linux,
    ~/Library/Caches on macOS, %LOCALAPPDATA%\\runway-mcp-server\\cache on Windows (the journal's
    folder there); the temporary folder when there is no home."""

    def var(name: str) -> Optional[str]:
        return env.get(name) or None

    base: Optional[str]
    if sys.platform == "win32":
        local = var("LOCALAPPDATA")
        profile = var("USERPROFILE")
        base = local or (os.path.join(profile, "AppData", "Local") if profile else None)
        return os.path.join(base or tempfile.gettempdir(), "runway-mcp-server", "cache")
    home = var("HOME")
    if sys.platform == "darwin":
        base = os.path.join(home, "Library", "Caches") if home else None
    else:
        xdg = var("XDG_CACHE_HOME")
        # The XDG spec says to ignore a relative XDG_CACHE_HOME.
        base = xdg if xdg and os.path.isabs(xdg) else (os.path.join(home, ".cache") if home else None)
    return os.path.join(base or tempfile.gettempdir(), "runway-mcp-server")


def source_folders() -> tuple[str, ...]:
    """The folders whose .py files the tools are made of: this package and runway_core."""
    return (os.path.dirname(os.path.abspath(__file__)), os.path.dirname(os.path.abspath(runway_core.__file__ or "")))


def key() -> str:
    """A hash of everything the tools' schemas are derived from."""
    from importlib.metadata import version

    import pydantic
    import pydantic_core

    h = hashlib.sha256()
    core = os.stat(runway_core._core.__file__ or "")
    h.update(json.dumps([FORMAT, runway_core.__version__, version("mcp"), version("mcp-types"), pydantic.VERSION,
                         pydantic_core.__version__, list(sys.version_info[:2]), catalog.fingerprint(),
                         # The compiled core (its constants reach descriptions): rebuilt or reinstalled, a miss.
                         core.st_size, core.st_mtime_ns]).encode())
    for folder in source_folders():
        for name in sorted(os.listdir(folder)):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as f:
                    h.update(f"{name}\0".encode() + f.read() + b"\0")
    return h.hexdigest()


def entry(t: Tool) -> dict[str, Any]:
    """What the cache keeps of a tool: what its listing and its calls take from the function."""
    return {"name": t.name, "parameters": t.parameters, "output_schema": t.output_schema, "is_async": t.is_async,
            "context_kwarg": t.context_kwarg}


def _load(path: str, k: str, specs: Sequence[ToolSpec]) -> Optional[list[dict[str, Any]]]:
    """The cached entries for these tools, or None (no file, unreadable, another key or tool list)."""
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != k:
        return None
    entries = data.get("tools")
    if not isinstance(entries, list) or len(entries) != len(specs):
        return None
    for e, s in zip(entries, specs):
        if not (isinstance(e, dict) and e.get("name") == s.name and isinstance(e.get("parameters"), dict)
                and isinstance(e.get("output_schema"), (dict, type(None))) and isinstance(e.get("is_async"), bool)
                and isinstance(e.get("context_kwarg"), (str, type(None)))):
            return None
    return entries


def _lazy(s: ToolSpec, e: dict[str, Any], path: str) -> LazyTool:
    # The fields Tool.from_function would set, from the spec and the cache; fn_metadata and the
    # resolvers are left to the real tool (nothing but Tool.run reads them).
    t = LazyTool.model_construct(fn=s.fn, name=s.name, title=None, description=s.description or s.fn.__doc__ or "",
                                 parameters=e["parameters"], is_async=e["is_async"], context_kwarg=e["context_kwarg"],
                                 annotations=s.annotations, icons=None, meta=None)
    t._output_schema = e["output_schema"]
    t._cache_file = path
    return t


def _save(folder: str, path: str, data: dict[str, Any]) -> None:
    """Writes the file atomically (a temporary file renamed over it), and removes other keys'
    files once they are old. Any failure is ignored: the cache only saves time."""
    text = json.dumps(data)
    if json.loads(text) != data:  # not plain JSON (a tuple, say): a cache would not give the same schemas
        log.warning("tool schemas are not plain JSON; not cached")
        return
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tools-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        now = time.time()
        for name in os.listdir(folder):
            other = os.path.join(folder, name)
            if (name.startswith("tools-") and name.endswith(".json") and other != path
                    and now - os.stat(other).st_mtime > PRUNE_AFTER_SECONDS):
                os.unlink(other)
    except OSError as e:
        log.debug("tool schemas not cached in %s: %s", folder, e)


def build_tools(specs: Sequence[ToolSpec], env: Optional[Mapping[str, str]] = None) -> list[Tool]:
    """The SDK tools for `specs`: lazy ones from the cache when it holds this key, else built now
    (as `MCPServer.add_tool` builds them) and cached for the next start."""
    folder = cache_dir(os.environ if env is None else env)
    try:
        k: Optional[str] = key()
    except (OSError, ImportError) as e:  # a source unreadable, a distribution without metadata: no cache
        log.debug("tool schemas not cached: %s", e)
        k = None
    path = os.path.join(folder, f"tools-{(k or '')[:32]}.json")
    entries = _load(path, k, specs) if k else None
    if entries is not None:
        return [_lazy(s, e, path) for s, e in zip(specs, entries)]
    tools = [Tool.from_function(s.fn, name=s.name, description=s.description, annotations=s.annotations) for s in specs]
    if k:
        _save(folder, path, {"format": FORMAT, "key": k, "tools": [entry(t) for t in tools]})
    return tools
