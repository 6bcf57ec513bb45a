"""A pytest plugin loaded into the official `runwayml` SDK's own generated tests
(tests/scripts/sdk_suite.py runs them): it points them at our simulator instead of Runway's mock
server. The tests themselves are theirs, unchanged; this only prepares what any server would hold:

- a simulator per pytest worker, whose key is the one the SDK's tests send;
- before each test, objects with the placeholder id the tests read, update and delete (one of
  each resource, made afresh, because an earlier test may have deleted it);
- the router whose slug the `generate.*` tests name, and no other: each test starts with the
  project's routers as a fresh project has them (several tests create the slug "slug", which
  Runway keeps unique).
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any, Iterator

import pytest

import runway_core

SDK_TEST_KEY = "My API Key"
PLACEHOLDER_ID = "182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e"
ROUTER_SLUG = "n6_"

# Started on import, before the SDK's conftest reads TEST_API_BASE_URL.
_sim = runway_core.Simulator(
    task_seconds=0.2, pending_seconds=0.0, credit_balance=1e12, api_key=SDK_TEST_KEY, daily_limit=None
)
os.environ["TEST_API_BASE_URL"] = _sim.base_url


def _request(method: str, path: str, body: Any = None, key: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(_sim.base_url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if key is not None:
        req.add_header("Authorization", f"Bearer {key}")
        req.add_header("X-Runway-Version", runway_core.API_VERSION)
    text = urllib.request.urlopen(req, timeout=10).read()
    return json.loads(text) if text else None


def _post(path: str, body: dict[str, Any], key: str | None = None) -> None:
    _request("POST", path, body, key)


def _fresh_routers() -> None:
    routers = _request("GET", "/v1/routers?limit=100", key=SDK_TEST_KEY)["data"]
    for r in routers:
        if r["slug"] != ROUTER_SLUG:
            _request("DELETE", f"/v1/routers/{r['id']}", key=SDK_TEST_KEY)
    if not any(r["slug"] == ROUTER_SLUG for r in routers):
        _post("/v1/routers", {"slug": ROUTER_SLUG}, key=SDK_TEST_KEY)


SEEDED = ["router", "avatar", "document", "voice", "realtime_session", "workflow", "workflow_invocation",
          "audit_log", "task"]


@pytest.fixture(autouse=True)
def _placeholder_objects() -> Iterator[None]:
    _fresh_routers()
    for resource in SEEDED:
        _post("/_sim/seed", {"resource": resource, "id": PLACEHOLDER_ID})
    yield
