"""Each kind of failure reaches Python as its own exception class, all under RunwayError, so a
script can tell a bad setting from a broken journal, a local file from Runway's odd answer."""

from __future__ import annotations

import pytest

import runway_core
from runway_core import (ConfigurationError, InFlightError, JournalError, LocalFileError, ProtocolError,
                         RunwayError, ValidationError)

from conftest import FAST_POLL, api_requests, video_body

KINDS = (ConfigurationError, InFlightError, JournalError, LocalFileError, ProtocolError, ValidationError)


def test_every_kind_is_its_own_runway_error():
    assert all(issubclass(k, RunwayError) for k in KINDS)
    assert len({k for k in KINDS}) == len(KINDS) and not any(issubclass(a, b) for a in KINDS for b in KINDS if a is not b)


def test_settings_are_configuration_errors(sim, monkeypatch):
    with pytest.raises(ConfigurationError, match="base URL must start with https:// or http://"):
        runway_core.Client(sim.api_key, "ftp://example.com")
    for var in ("RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "RUNWAY_API_SECRET"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigurationError, match="no Runway API key"):
        runway_core.Client(base_url=sim.base_url)


async def test_a_file_that_cannot_be_written_is_a_local_file_error(sim, client, tmp_path):
    t = await client.create_task("text_to_image", {"model": "gen4_image", "promptText": "x", "ratio": "1280:720"})
    await client.wait_for_task(t.id, timeout=10)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(LocalFileError, match="cannot create"):
        await client.save_outputs(t.id, str(blocker / "out"))


async def test_an_answer_without_a_task_id_is_a_protocol_error(sim, client):
    sim.inject_fault("status", method="POST", path="/v1/text_to_video", status=200, body={"accepted": True})
    with pytest.raises(ProtocolError, match="has no task id") as e:
        await client.create_task("text_to_video", video_body())
    assert "A task may exist" in str(e.value)
    assert len(api_requests(sim, "POST")) == 1, "an ambiguous create is not retried"



async def test_a_journal_that_cannot_be_opened_is_a_journal_error(sim, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(JournalError):
        c = runway_core.Client(sim.api_key, sim.base_url, poll=FAST_POLL, journal=str(blocker / "j.sqlite3"))
        await c.list_tasks()


async def test_a_running_identical_task_that_cannot_be_looked_at_is_an_in_flight_error(tmp_path):
    sim = runway_core.Simulator(task_seconds=30)
    c = runway_core.Client(sim.api_key, sim.base_url, max_retries=0, poll=FAST_POLL, journal=str(tmp_path / "j.sqlite3"))
    try:
        first = await c.create_task("text_to_video", video_body())
        sim.inject_fault("status", method="GET", path=f"/v1/tasks/{first.id}", status=500, count=5)
        with pytest.raises(InFlightError, match=f"made task {first.id}, which may still be running"):
            await c.create_task("text_to_video", video_body())
        assert len(api_requests(sim, "POST")) == 1, "nothing was sent"
    finally:
        c.close()
        sim.close()
