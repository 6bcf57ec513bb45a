"""The PostgreSQL journal over TLS, against a real server that takes TLS connections only
(tests/scripts/pg_server.sh tls: pg_hba hostssl, a certificate for `localhost` signed by a throwaway CA):
each sslmode as libpq reads it, sslrootcert, a wrong CA, a host name the certificate does not
name, and a password that never shows in the errors."""

from __future__ import annotations

import asyncio
from typing import Iterator

import pytest

import runway_core

from fixtures.pg import PgServer


@pytest.fixture(scope="module")
def tls_server() -> Iterator[PgServer]:
    s = PgServer("tls")
    yield s
    s.close()


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A CA that did not sign the server's certificate."""
    import subprocess

    d = tmp_path_factory.mktemp("other-ca")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", "/CN=another CA", "-keyout", str(d / "k"), "-out", str(d / "ca.pem"),
                    "-addext", "basicConstraints=critical,CA:TRUE"], check=True, capture_output=True)
    return str(d / "ca.pem")


def url(server: PgServer, name: str, host: str = "127.0.0.1", query: str = "") -> str:
    u = server.database(name)
    if host != "127.0.0.1":
        u = u.replace("@127.0.0.1:", f"@{host}:")
    return u + (f"?{query}" if query else "")


async def journal_works(u: str, sim: runway_core.Simulator) -> None:
    async with runway_core.Client(sim.api_key, sim.base_url, journal=u) as c:
        t = await c.create_task("text_to_image", {"model": "gen4_image", "promptText": "a kite over TLS",
                                                  "ratio": "1280:720"})
        rows = await c.list_tasks()
    assert [r["task_id"] for r in rows] == [t.id]


@pytest.mark.parametrize("query", ["", "sslmode=prefer", "sslmode=require", "sslmode=allow"])
async def test_encrypted_without_a_root_as_libpq_does(tls_server, sim, query):
    await journal_works(url(tls_server, "plain-" + query, query=query), sim)


async def test_verify_full_with_the_ca(tls_server, sim):
    ca = tls_server.command("ca")
    await journal_works(url(tls_server, "full", "localhost", f"sslmode=verify-full&sslrootcert={ca}"), sim)


async def test_verify_ca_checks_the_chain_not_the_name(tls_server, sim, other_ca):
    ca = tls_server.command("ca")
    await journal_works(url(tls_server, "ca", query=f"sslmode=verify-ca&sslrootcert={ca}"), sim)
    # require with a root file checks the chain too (libpq's rule).
    with pytest.raises(runway_core.RunwayError, match="(?i)certificate"):
        runway_core.Client(sim.api_key, sim.base_url,
                           journal=url(tls_server, "req-other", query=f"sslmode=require&sslrootcert={other_ca}"))


def test_refused_when_the_certificate_is_not_trusted_or_not_for_the_host(tls_server, sim, other_ca):
    ca = tls_server.command("ca")
    cases = [
        (url(tls_server, "wrong-ca", "localhost", f"sslmode=verify-full&sslrootcert={other_ca}"), "certificate"),
        (url(tls_server, "wrong-name", query=f"sslmode=verify-full&sslrootcert={ca}"), "certificate"),
        (url(tls_server, "no-tls", query="sslmode=disable"), "no encryption"),
    ]
    for u, needle in cases:
        with pytest.raises(runway_core.RunwayError) as e:
            runway_core.Client(sim.api_key, sim.base_url, journal=u)
        assert needle in str(e.value).lower(), (u, str(e.value))


def test_the_password_never_shows(tls_server, sim, other_ca):
    u = url(tls_server, "secret", "localhost", f"sslmode=verify-full&sslrootcert={other_ca}")
    u = u.replace("runway@", "runway:hunter2-secret@")
    with pytest.raises(runway_core.RunwayError) as e:
        runway_core.Client(sim.api_key, sim.base_url, journal=u)
    assert "hunter2" not in str(e.value) and "localhost" in str(e.value)


def test_a_bad_sslmode_is_named(sim):
    with pytest.raises(runway_core.RunwayError, match="sslmode=verify_full is not one of"):
        runway_core.Client(sim.api_key, sim.base_url, journal="postgresql://runway@127.0.0.1:1/x?sslmode=verify_full")


async def test_replica_events_go_over_tls_as_the_journal_does(tls_server, other_ca):
    """The event channel between replicas (runway_core.PgChannel) connects as the journal does."""
    ca = tls_server.command("ca")
    good = url(tls_server, "events", "localhost", f"sslmode=verify-full&sslrootcert={ca}")
    listener, sender = runway_core.PgChannel(good, "runway_events"), runway_core.PgChannel(good, "runway_events")
    try:
        await listener.listen()
        await sender.notify('{"uri":"runway://task/x"}')
        assert await asyncio.wait_for(listener.__anext__(), 60) == '{"uri":"runway://task/x"}'
    finally:
        listener.close()
        sender.close()
    bad = runway_core.PgChannel(url(tls_server, "events-bad", "localhost", f"sslmode=verify-full&sslrootcert={other_ca}"),
                                "runway_events")
    with pytest.raises(runway_core.JournalError) as e:
        await bad.notify("x")
    assert "certificate" in str(e.value).lower()
    with pytest.raises(runway_core.JournalError):
        await bad.listen()
    bad.close()
