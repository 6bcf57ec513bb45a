"""Type stubs for the native extension (checked against the binary by mypy.stubtest in the tests)."""

from typing import Any, Awaitable, Callable, Literal, Optional, final, Mapping

from .spec import Catalogue

__all__ = [
    "__version__",
    "API_VERSION",
    "UPLOAD_MAX_BYTES",
    "LEASE_SECONDS",
    "DEFAULT_BASE_URL",
    "TASK_STATES",
    "FINAL_TASK_STATES",
    "RunwayError",
    "ApiError",
    "AuthenticationError",
    "NotFoundError",
    "RateLimitError",
    "ValidationError",
    "TaskFailedError",
    "TaskTimeoutError",
    "TransportError",
    "MayHaveCreatedError",
    "JournalError",
    "LocalFileError",
    "ConfigurationError",
    "ProtocolError",
    "InFlightError",
    "Task",
    "_Client",
    "Simulator",
    "PgChannel",
    "catalogue_json",
    "cost_summary",
    "validate",
    "estimate_cost",
    "default_journal_path",
    "endpoint_name",
    "_shutdown",
]

__version__: str
API_VERSION: str
UPLOAD_MAX_BYTES: int
# How long a task's lease lasts when its creator takes it with its journal row.
LEASE_SECONDS: float
DEFAULT_BASE_URL: str
# Runway's task states in the order a task goes through them; the final ones never change again.
TASK_STATES: tuple[str, ...]
FINAL_TASK_STATES: frozenset[str]

class RunwayError(Exception):
    task_id: Optional[str]

class ApiError(RunwayError):
    status: int
    body: Any
    method: str
    path: str
    retry_after: Optional[float]
    may_have_created: bool

class AuthenticationError(ApiError): ...
class NotFoundError(ApiError): ...
class RateLimitError(ApiError): ...

class ValidationError(RunwayError):
    issues: list[dict[str, Any]]

class TaskFailedError(RunwayError):
    task: Task

class TaskTimeoutError(RunwayError):
    task: Optional[Task]
    waited: float

class MayHaveCreatedError(RunwayError):
    claimed_at: float

class TransportError(RunwayError):
    kind: Literal["connect", "timeout", "broken"]
    may_have_created: bool

class JournalError(RunwayError): ...
class LocalFileError(RunwayError): ...
class ConfigurationError(RunwayError): ...
class ProtocolError(RunwayError): ...
class InFlightError(RunwayError): ...

@final
class Task:
    @property
    def id(self) -> str: ...
    @property
    def status(self) -> Optional[str]: ...
    @property
    def progress(self) -> Optional[float]: ...
    @property
    def output(self) -> list[str]: ...
    @property
    def failure(self) -> Optional[str]: ...
    @property
    def failure_code(self) -> Optional[str]: ...
    @property
    def estimated_cost(self) -> Optional[float]: ...
    @property
    def cost(self) -> Optional[float]: ...
    @property
    def kind(self) -> Literal["task", "workflow_invocation"]: ...
    @property
    def reattached(self) -> bool: ...
    @property
    def created_at(self) -> Optional[str]: ...
    @property
    def raw(self) -> Any: ...
    @property
    def is_terminal(self) -> bool: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class _Client:
    def __new__(
        cls,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        poll: Optional[dict[str, float]] = None,
        input_dirs: Optional[list[str]] = None,
        journal: Optional[str] = None,
    ) -> _Client: ...
    @property
    def base_url(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def create_task(
        self,
        endpoint: str,
        body: Any,
        validate: bool = True,
        tool: Optional[str] = None,
        force_new: bool = False,
        reattach_only: bool = False,
    ) -> Awaitable[Task]: ...
    def in_flight(self, endpoint: str, body: Any) -> Awaitable[Optional[Task]]: ...
    def may_have_created(self, endpoint: str, body: Any) -> Awaitable[Optional[str]]: ...
    @property
    def has_journal(self) -> bool: ...
    def list_tasks(
        self,
        status: Optional[str] = None,
        tool: Optional[str] = None,
        model: Optional[str] = None,
        since_ms: Optional[int] = None,
        text: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> Awaitable[list[dict[str, Any]]]: ...
    def journal_entry(self, task_id: str) -> Awaitable[Optional[dict[str, Any]]]: ...
    def unfinished_tasks(self, limit: int = 100) -> Awaitable[list[dict[str, Any]]]: ...
    def spent_since(self, since_ms: int) -> Awaitable[float]: ...
    def lease_tasks(self, task_ids: list[str], seconds: float) -> Awaitable[list[str]]: ...
    def get_task(self, task_id: str) -> Awaitable[Task]: ...
    def cancel_task(self, task_id: str) -> Awaitable[bool]: ...
    def organization(self) -> Awaitable[dict[str, Any]]: ...
    def call(
        self,
        operation: str,
        params: Optional[Mapping[str, Any]] = None,
        query: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        tool: Optional[str] = None,
        force_new: bool = False,
    ) -> Awaitable[Any]: ...
    def list_voices(self) -> Awaitable[list[dict[str, Any]]]: ...
    def upload(self, path: str) -> Awaitable[str]: ...
    def download(
        self, url: str, dest: str, on_progress: Optional[Callable[[int, Optional[int]], Any]] = None
    ) -> Awaitable[dict[str, Any]]: ...
    def save_outputs(self, task: Task | str, directory: str, prefix: str = ...) -> Awaitable[list[dict[str, Any]]]: ...
    def wait_for_task(
        self,
        task_id: str,
        timeout: Optional[float] = None,
        on_progress: Optional[Callable[[Task], Awaitable[None]]] = None,
        on_retry: Optional[Callable[[Any], Any]] = None,  # gets a runway_core.Retry dict
    ) -> Awaitable[Task]: ...

@final
class Simulator:
    def __new__(
        cls,
        *,
        task_seconds: float = 8.0,
        pending_seconds: float = 0.5,
        daily_limit: Optional[int] = None,
        max_concurrency: Optional[int] = None,
        credit_balance: float = 100000.0,
        api_key: Optional[str] = None,
        port: int = 0,
        output_url_ttl: float = 86400.0,
        extra_keys: Optional[list[str]] = None,
        open_accounts: bool = False,
    ) -> Simulator: ...
    @property
    def base_url(self) -> str: ...
    @property
    def api_key(self) -> str: ...
    @property
    def tasks_created(self) -> int: ...
    def inject_fault(
        self,
        kind: Literal["status", "reset", "lost_response", "slow"],
        *,
        count: int = 1,
        method: Optional[str] = None,
        path: Optional[str] = None,
        status: Optional[int] = None,
        retry_after: Optional[object] = None,
        seconds: Optional[float] = None,
        body: Optional[Any] = None,
    ) -> None: ...
    def clear_faults(self) -> None: ...
    def requests(self) -> list[dict[str, Any]]: ...
    def clear_requests(self) -> None: ...
    def uploads(self) -> list[dict[str, Any]]: ...
    def close(self) -> None: ...
    def __enter__(self) -> Simulator: ...
    def __exit__(self, a: object, b: object, c: object) -> None: ...

@final
class PgChannel:
    def __new__(cls, url: str, channel: str) -> PgChannel: ...
    @property
    def target(self) -> str: ...
    def notify(self, payload: str) -> Awaitable[None]: ...
    def listen(self) -> Awaitable[None]: ...
    def __aiter__(self) -> PgChannel: ...
    def __anext__(self) -> Awaitable[str]: ...
    def close(self) -> None: ...

def catalogue_json() -> Catalogue: ...
def cost_summary(models: list[tuple[str, str]]) -> str: ...
def validate(endpoint: str, body: Any) -> None: ...
def default_journal_path() -> str: ...
def endpoint_name(endpoint: str) -> str: ...
def estimate_cost(endpoint: str, body: Any) -> Optional[float]: ...
def _shutdown(timeout: float = 5.0) -> bool: ...
