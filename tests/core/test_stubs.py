"""The hand-written stubs match the compiled extension (as pydantic-core checks its own)."""

import subprocess
import sys

import pytest


@pytest.mark.smoke
def test_core_stubs_match_the_binary():
    p = subprocess.run([sys.executable, "-m", "mypy.stubtest", "runway_core._core"], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.smoke
def test_package_type_checks_strictly():
    p = subprocess.run([sys.executable, "-m", "mypy", "--strict", "-p", "runway_core"], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
