"""Async Python client for Runway's API (images, video, audio), backed by a Rust core.

    import asyncio, runway_core

    async def main():
        async with runway_core.Client() as client:      # key from RUNWAYML_API_SECRET
            task = await client.create_task("text_to_video", {
                "model": "gen4.5", "promptText": "a red fox in snow", "ratio": "1280:720", "duration": 5})
            done = await client.wait_for_task(task.id, on_progress=print)
            print(done.output)

    asyncio.run(main())

Bodies are checked against the model catalogue before anything is sent (ValidationError names the
field and what is allowed); `validate=False` sends a body for a model the catalogue does not know.
"""

from __future__ import annotations

import asyncio
import atexit
import inspect
import os
from typing import (TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, Iterable, Mapping, Optional, Sequence,
                    TypedDict, Union)

from . import _core
from .spec import Catalogue, Model, Operation

if TYPE_CHECKING:
    from .api import Api
from ._core import (
    API_VERSION,
    UPLOAD_MAX_BYTES,
    LEASE_SECONDS,
    DEFAULT_BASE_URL,
    FINAL_TASK_STATES,
    TASK_STATES,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    InFlightError,
    JournalError,
    LocalFileError,
    MayHaveCreatedError,
    NotFoundError,
    PgChannel,
    ProtocolError,
    RateLimitError,
    RunwayError,
    Simulator,
    Task,
    TaskFailedError,
    TaskTimeoutError,
    TransportError,
    ValidationError,
    __version__,
    endpoint_name,
)

__all__ = [
    "API_VERSION",
    "UPLOAD_MAX_BYTES",
    "LEASE_SECONDS",
    "DEFAULT_BASE_URL",
    "FINAL_TASK_STATES",
    "TASK_STATES",
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "InFlightError",
    "JournalError",
    "LocalFileError",
    "MayHaveCreatedError",
    "Client",
    "NotFoundError",
    "PgChannel",
    "ProtocolError",
    "ProgressCallback",
    "RateLimitError",
    "Retry",
    "RetryCallback",
    "RunwayError",
    "Simulator",
    "Task",
    "TaskFailedError",
    "TaskTimeoutError",
    "TransportError",
    "ValidationError",
    "__version__",
    "catalogue",
    "cost_summary",
    "default_journal_path",
    "endpoint_name",
    "estimate_cost",
    "models",
    "operations",
    "validate",
]

# Rust threads deliver results by attaching to Python; this stops them before the interpreter
# finalizes, which otherwise can crash a script that exits right after many concurrent calls.
atexit.register(_core._shutdown)

ProgressCallback = Callable[[Task], Union[Awaitable[None], None]]


class Retry(TypedDict):
    """A request about to be sent again: what failed, and the wait before the next try."""

    method: str
    path: str  # the API path, without its query string
    status: Optional[int]  # Runway's HTTP status, when it answered
    error: Optional[str]  # "connect", "timeout" or "broken", when it did not
    attempt: int  # which retry, from 1
    delay: float  # seconds until it is sent again


RetryCallback = Callable[[Retry], Any]
TaskRef = Union[str, Task]


def _task_id(task: TaskRef) -> str:
    return task.id if isinstance(task, Task) else task


def _as_async(callback: Optional[ProgressCallback]) -> Optional[Callable[[Task], Awaitable[None]]]:
    # The core awaits the callback on the event loop, so plain functions run there too.
    if callback is None:
        return None

    async def call(task: Task) -> None:
        result = callback(task)
        if inspect.isawaitable(result):
            await result

    return call


class Client:
    """A Runway API client. One pooled HTTP connection set per client; use it for many calls.

    api_key: else env RUNWAYML_API_SECRET, RUNWAY_API_KEY, runway_api_key (in that order).
    base_url: else env RUNWAYML_BASE_URL, else https://api.dev.runwayml.com.
    timeout: seconds for one HTTP request. max_retries: retries of reads (GET, DELETE) on 408,
    429, 5xx and network errors; a task-creating POST is retried only when Runway certainly did
    not receive it (connection refused, 429). poll: overrides of the polling schedule (seconds):
    first_delay, min_interval, idle_interval, max_idle_interval, max_predict_interval, margin,
    assumed_queue.
    input_dirs: when given, local media files are read only from under these folders (symlinks
    resolved).
    journal: a task journal: a SQLite file (`default_journal_path()` gives the usual one), or a
    `postgresql://user[:password]@host[:port]/database` URL for one journal shared by several
    processes or machines (no TLS yet: a private network or a Unix socket). With it,
    every task is recorded the moment Runway answers the create, kept current as it is polled,
    and listed by `list_tasks`; an identical request (endpoint, body, input media content) whose
    task is still queued or running returns that task (`Task.reattached`) instead of paying
    twice, unless `create_task(..., force_new=True)`. Rows are filed under a salted fingerprint
    of the key, never the key.

    Media inputs in a body (promptImage, videoUri, referenceImages[].uri, …) may be https URLs,
    data URIs, runway:// URIs, local paths (absolute or ~), or an earlier task's id (its first
    output; "<task id>#N" for output N). Local files must be images, video or audio by content;
    small ones go inline as data URIs, larger ones (up to 200 MB) through an upload.
    """

    __slots__ = ("_core",)

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        *,
        poll: Optional[Mapping[str, float]] = None,
        input_dirs: Optional[Sequence[Union[str, "os.PathLike[str]"]]] = None,
        journal: Optional[Union[str, "os.PathLike[str]"]] = None,
    ) -> None:
        dirs = [os.fspath(d) for d in input_dirs] if input_dirs is not None else None
        path = os.fspath(journal) if journal is not None else None
        self._core = _core._Client(api_key, base_url, timeout, max_retries, dict(poll) if poll else None, dirs, path)

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def closed(self) -> bool:
        return self._core.closed

    async def create_task(
        self,
        endpoint: str,
        body: Mapping[str, Any],
        validate: bool = True,
        *,
        tool: Optional[str] = None,
        force_new: bool = False,
        reattach_only: bool = False,
    ) -> Task:
        """Submits a task (`endpoint` like "text_to_video" or "/v1/text_to_video").

        The returned Task has the id and estimated_cost; its status is None until polled. With a
        journal, `tool` names the caller in the task's row, and an identical request whose task is
        still running returns that task (`reattached` True) unless `force_new`. `reattach_only`:
        that task or an error, never a new task (nothing is sent).
        """
        return await self._core.create_task(endpoint, body, validate, tool, force_new, reattach_only)

    async def in_flight(self, endpoint: str, body: Mapping[str, Any]) -> Optional[Task]:
        """The running task `create_task(endpoint, body)` would reattach to now (looked at, so its
        status is fresh), or None; nothing is claimed or created. None without a journal."""
        return await self._core.in_flight(endpoint, body)

    async def may_have_created(self, endpoint: str, body: Mapping[str, Any]) -> Optional[str]:
        """Why `create_task(endpoint, body)` would raise MayHaveCreatedError now: an earlier
        identical request may already have created (and been charged for) a task whose id never
        came back. None when it would not, or without a journal. Nothing is claimed or sent."""
        return await self._core.may_have_created(endpoint, body)

    @property
    def has_journal(self) -> bool:
        return self._core.has_journal

    async def list_tasks(
        self,
        *,
        status: Optional[str] = None,
        tool: Optional[str] = None,
        model: Optional[str] = None,
        since_ms: Optional[int] = None,
        text: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> list[dict[str, Any]]:
        """This key's journaled tasks, newest first. status: a Runway status, or "running",
        "finished", "ambiguous" (a create whose task id never came back); text: in the prompt."""
        return await self._core.list_tasks(status, tool, model, since_ms, text, limit)

    async def journal_entry(self, task_id: TaskRef) -> Optional[dict[str, Any]]:
        """The journal's row for a task (tool, model, parameters, cost, files), or None."""
        return await self._core.journal_entry(_task_id(task_id))

    async def unfinished_tasks(self, limit: int = 100) -> list[dict[str, Any]]:
        """Journaled tasks to resume: not finished, or succeeded with outputs not saved yet."""
        return await self._core.unfinished_tasks(limit)

    async def spent_since(self, since_ms: int) -> float:
        """Credits of this key's tasks created since `since_ms` (Unix ms): final, else estimated."""
        return await self._core.spent_since(since_ms)

    async def lease_task(self, task_id: TaskRef, seconds: float) -> bool:
        """Takes or renews this client's lease on a journaled task for `seconds` (0 releases it).

        True if this client holds the lease now (nobody held it, the last holder's ran out, or it
        was already this client's); False while another client's lease runs, in this process or
        in another process or replica sharing the journal. Take it before resuming a task or
        saving its outputs, renew it while working (well within `seconds`), so that only one does.
        Each Client is one owner (a random id).
        """
        return bool(await self._core.lease_tasks([_task_id(task_id)], seconds))

    async def lease_tasks(self, task_ids: Sequence[TaskRef], seconds: float) -> list[str]:
        """`lease_task` for several tasks in one journal write (a process renewing every task it
        follows): the ids this client holds now. A task this client created is leased to it
        with its journal row, for 30 seconds."""
        return await self._core.lease_tasks([_task_id(t) for t in task_ids], seconds)

    async def get_task(self, task_id: TaskRef) -> Task:
        """A task, or a workflow invocation (`Task.kind`), as Runway shows it now. An invocation
        this client ran, or its journal holds, is read at /v1/workflow_invocations/{id}; any other
        id at /v1/tasks/{id}, then as an invocation if Runway knows no such task."""
        return await self._core.get_task(_task_id(task_id))

    async def cancel_task(self, task_id: TaskRef) -> bool:
        """Cancels a running task or deletes a finished one with its outputs.

        True when this call did it; False when the task was already cancelled or deleted. A
        workflow invocation cannot be cancelled through Runway's API: RunwayError, nothing sent.
        """
        return await self._core.cancel_task(_task_id(task_id))

    async def wait_for_task(
        self,
        task_id: TaskRef,
        timeout: Optional[float] = None,
        on_progress: Optional[ProgressCallback] = None,
        on_retry: Optional[RetryCallback] = None,
    ) -> Task:
        """Polls until the task (or workflow invocation) succeeds, and returns it.

        Raises TaskFailedError (FAILED or CANCELLED, with .task) or TaskTimeoutError after
        `timeout` seconds (None: no limit), carrying the last snapshot. `on_progress` (a plain or
        async callable) gets each snapshot that differs from the last. `on_retry` (a plain
        callable, run on the event loop in this call's context) hears of each poll that failed
        for a reason a retry may fix (5xx, 429, a dropped connection) before it is sent again.
        """
        return await self._core.wait_for_task(_task_id(task_id), timeout, _as_async(on_progress), on_retry)

    async def upload(self, path: Union[str, "os.PathLike[str]"]) -> str:
        """Uploads a local image, video or audio file (up to 200 MB); returns its runway:// URI,
        valid 24 h. An unchanged file uploaded before is not uploaded again."""
        return await self._core.upload(os.fspath(path))

    async def download(
        self,
        url: str,
        dest: Union[str, "os.PathLike[str]"],
        on_progress: Optional[Callable[[int, Optional[int]], Any]] = None,
    ) -> dict[str, Any]:
        """Streams `url` to the file `dest` (written whole or not at all). Returns
        {path, bytes, mime_type, url}. `on_progress(done, total)` runs on the event loop."""
        cb = on_progress
        if cb is not None and inspect.iscoroutinefunction(cb):
            async_cb = cb

            def cb(done: int, total: Optional[int]) -> None:
                asyncio.ensure_future(async_cb(done, total))

        return await self._core.download(url, os.fspath(dest), cb)

    async def save_outputs(
        self, task_id: TaskRef, directory: Union[str, "os.PathLike[str]"], prefix: str = "runway"
    ) -> list[dict[str, Any]]:
        """Downloads every output of a succeeded task into `directory` as
        <prefix>_<task id>_<n>.<ext>, refreshing expired URLs. Given a Task, its URLs are used
        without fetching it again. Returns one dict per file."""
        return await self._core.save_outputs(task_id, os.fspath(directory), prefix)

    async def organization(self) -> dict[str, Any]:
        """Credit balance, tier limits and today's usage (GET /v1/organization)."""
        return await self._core.organization()

    async def call(
        self,
        operation: str,
        params: Optional[Mapping[str, Any]] = None,
        query: Optional[Mapping[str, Any]] = None,
        body: Optional[Mapping[str, Any]] = None,
        *,
        tool: Optional[str] = None,
        force_new: bool = False,
    ) -> Any:
        """Any operation of Runway's API by its catalogue name (`"routers.create"`; the names are
        in `operations()`), with its path parameters (`{"id": ...}`), query and body. The request
        is checked whole before anything is sent. Returns Runway's answer (None for an empty one),
        or a Task for operations that create tasks (journaled like `create_task`) and for
        `workflows.run` (the invocation, `kind` "workflow_invocation", journaled the same way).
        `client.api` has a typed method for each operation."""
        return await self._core.call(operation, params, query, body, tool, force_new)

    async def run_workflow(
        self,
        workflow_id: str,
        node_outputs: Optional[Mapping[str, Any]] = None,
        *,
        tool: Optional[str] = None,
        force_new: bool = False,
    ) -> Task:
        """Runs a published workflow (POST /v1/workflows/{id}) with its input nodes' values
        (`{nodeId: {key: {"type": "primitive", "value": ...} | {"type": "image", "uri": ...}}}`)
        and returns the invocation as a Task (`kind` "workflow_invocation"), to follow with
        `wait_for_task` and `save_outputs` like any task. With a journal it is journaled like
        `create_task` (endpoint `workflows/<id>`, model the workflow id): an identical run still
        going is returned instead (`reattached`) unless `force_new`, and a run is never sent twice.
        A SUCCEEDED invocation may still have failed nodes: `failure` names them (and
        `raw["nodeErrors"]` holds Runway's details); `output` lists the other nodes' URLs."""
        body = {} if node_outputs is None else {"nodeOutputs": dict(node_outputs)}
        task: Task = await self.call("workflows.run", {"id": workflow_id}, None, body, tool=tool, force_new=force_new)
        return task

    async def iterate(
        self, operation: str, params: Optional[Mapping[str, Any]] = None, query: Optional[Mapping[str, Any]] = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a list operation (`"routers.list"`), page after page, following Runway's
        cursors until the last page."""
        ask = dict(query or {})
        while True:
            page = await self.call(operation, params, ask)
            for item in page.get("data") or []:
                yield item
            cursor = page.get("nextCursor")
            if not cursor:
                return
            ask["cursor"] = cursor

    @property
    def api(self) -> "Api":
        """Every operation of Runway's API as a typed async method: `client.api.routers.create(
        slug=...)`, `async for v in client.api.voices.list()`."""
        from .api import Api  # here, not at the top: api.py is generated from this package's data

        return Api(self)

    async def list_voices(self) -> list[dict[str, Any]]:
        """The account's custom voices (GET /v1/voices, all pages)."""
        return await self._core.list_voices()

    def close(self) -> None:
        self._core.close()

    async def aclose(self) -> None:
        self._core.close()

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._core.close()

    def __repr__(self) -> str:
        return repr(self._core)


def catalogue() -> Catalogue:
    """Everything the client knows about Runway's endpoints and models (shape: `runway_core.spec`)."""
    return _core.catalogue_json()


def operations() -> list[Operation]:
    """Every operation of Runway's API: name, method, path, query and body fields, what it answers."""
    return _core.catalogue_json()["operations"]


def models(endpoint: Optional[str] = None) -> list[Model]:
    """The catalogue's models (optionally of one endpoint): fields, allowed values, rules, cost."""
    all_models = _core.catalogue_json()["models"]
    if endpoint is None:
        return all_models
    name = endpoint_name(endpoint)
    return [m for m in all_models if m["endpoint"] == name]


def cost_summary(models: Iterable[tuple[str, str]]) -> str:
    """One line on the price range per unit over (endpoint, model) pairs, for a description:
    "Cost: 5-40 credits/s." (models without a published price are left out). Raises ValueError
    for a pair the catalogue does not have."""
    return _core.cost_summary(list(models))


def validate(endpoint: str, body: Mapping[str, Any]) -> None:
    """Raises ValidationError if `create_task` would refuse this body."""
    _core.validate(endpoint, body)


def default_journal_path() -> str:
    """RUNWAY_MCP_JOURNAL if set, else runway-mcp-server/journal.sqlite3 in the user's data folder."""
    return _core.default_journal_path()


def estimate_cost(endpoint: str, body: Mapping[str, Any]) -> Optional[float]:
    """The most this body can cost, in credits (None when Runway has not published the price).
    Media fields may hold local paths or task ids: nothing is read or sent."""
    return _core.estimate_cost(endpoint, body)
