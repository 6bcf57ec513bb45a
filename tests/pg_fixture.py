"""A throwaway PostgreSQL server for the Python tests: tests/pg_server.sh (initdb on a temporary
directory, a free port; as root, run as the `postgres` user) started once per session, a fresh
database per test. No server (PostgreSQL missing, initdb failing): the tests that need one fail,
they are never skipped. tests/run.sh installs PostgreSQL where it is missing."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

SCRIPT = Path(__file__).with_name("pg_server.sh")
_names = itertools.count()


class PgServer:
    def __init__(self, *args: str) -> None:
        for _ in range(3):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            proc = subprocess.Popen(["bash", str(SCRIPT), str(port), *args], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.startswith("ready "):
                self.proc = proc
                self.url = line.split(" ", 1)[1].strip()
                return
            proc.wait()  # most likely the port was taken meanwhile: another port
        raise RuntimeError("could not start a PostgreSQL server for the tests (see pg_server.sh's message above)")

    def database(self, name: str) -> str:
        """The URL of a new, empty database."""
        db = f"py{os.getpid()}_{next(_names)}_{''.join(c if c.isalnum() else '_' for c in name.lower())}"[:60]
        line = self.command(f"createdb {db}")
        assert line.startswith("postgresql://"), f"could not create test database {db}: {line}"
        return line

    def command(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def close(self) -> None:
        # Closing its input stops the server and removes its files.
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer()
    yield server
    server.close()


@pytest.fixture
def pg_url(pg_server: PgServer, request: pytest.FixtureRequest) -> str:
    """A fresh PostgreSQL journal database for this test."""
    return pg_server.database(request.node.name)
