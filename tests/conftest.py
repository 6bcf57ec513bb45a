import os
import sys

import pytest

import runway_core
import runway_mcp_server

# Polling tuned for sub-second simulated tasks; production defaults are tested in Rust and benched.
FAST_POLL = {"first_delay": 0.2, "idle_interval": 0.15, "max_idle_interval": 0.3, "min_interval": 0.05,
             "max_predict_interval": 0.5, "margin": 0.05}


@pytest.fixture
def sim():
    s = runway_core.Simulator(task_seconds=0.8)
    yield s
    s.close()


@pytest.fixture
def client(sim):
    c = runway_core.Client(sim.api_key, sim.base_url, max_retries=3, poll=FAST_POLL)
    yield c
    c.close()


def pytest_sessionstart(session):
    """tests/scripts/wheels.sh runs this suite against an installed wheel: then both packages must come
    from that venv's site-packages, never from the source tree's python/."""
    venv = os.environ.get("RUNWAY_TEST_INSTALLED_IN")
    if venv is None:
        return
    import sysconfig

    site = os.path.realpath(sysconfig.get_paths()["platlib"])
    if os.path.realpath(sys.prefix) != os.path.realpath(venv):
        raise pytest.UsageError(f"running in {sys.prefix}, not in {venv}")
    for mod in (runway_core, runway_core._core, runway_mcp_server):
        where = os.path.realpath(mod.__file__ or "")
        if not where.startswith(site + os.sep):
            raise pytest.UsageError(f"{mod.__name__} imported from {where}, not from the wheel in {site}")


def video_body(prompt="a red fox in snow", **extra):
    body = {"model": "gen4.5", "promptText": prompt, "ratio": "1280:720", "duration": 5}
    body.update(extra)
    return body


def api_requests(sim, method=None, prefix="/v1/"):
    return [r for r in sim.requests() if r["path"].startswith(prefix) and (method is None or r["method"] == method)]


def text(result):
    """The text blocks of a tool result, joined."""
    return "\n".join(getattr(b, "text", "") for b in result.content)


def data(result):
    """A tool result's structured content."""
    return result.structured_content


class Asker:
    """An elicitation callback for the tests of questions put to the user (deleting, spending):
    records each question and answers as told, `{field: answer}` on accept. `field` must be what
    the question asks."""

    def __init__(self, field: str, action: str = "accept", answer: bool = True) -> None:
        self.field, self.action, self.answer = field, action, answer
        self.asked: list[str] = []

    async def __call__(self, context, params):
        from mcp.types import ElicitResult

        self.asked.append(params.message)
        assert list(params.requested_schema["properties"]) == [self.field]
        content = {self.field: self.answer} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)
