"""Runs the official `runwayml` SDK's own generated API tests against our simulator.

    python tests/scripts/sdk_suite.py [-n WORKERS]

The SDK's sdist (pinned below, with its sha256) holds `tests/api_resources`: a call
of every operation with minimal and with all parameters, through the sync, async and aiohttp
clients, with the answers validated against the SDK's types (loose and strict). They were written
for Runway's mock server; tests/sdk_suite/sdk_plugin.py points them at ours. Every test must pass
except those in tests/sdk_suite/expected_failures.txt, each with its reason; a listed test that
passes fails the run too, so the list stays true. Prints the counts.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import os
import pathlib
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET

VERSION = "5.24.0"
SHA256 = "39fc587fa575a3262c75864630f4f0916cc12b5352e5b6ce42f226a274113797"
REPO = pathlib.Path(__file__).resolve().parents[2]
HERE = REPO / "tests" / "sdk_suite"
CACHE = pathlib.Path(os.environ.get("RUNWAY_SDK_CACHE", REPO / "target" / "sdk-suite"))


def sdist() -> pathlib.Path:
    """The unpacked sdist, downloaded once into the cache."""
    root = CACHE / f"runwayml-{VERSION}"
    if (root / "tests" / "api_resources").is_dir():
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    # pip knows where PyPI is on this machine (an index mirror, a proxy); the hash pins the file.
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                    "--dest", str(CACHE), f"runwayml=={VERSION}"], check=True)
    archive = CACHE / f"runwayml-{VERSION}.tar.gz"
    if hashlib.sha256(archive.read_bytes()).hexdigest() != SHA256:
        raise SystemExit(f"{archive} is not the runwayml {VERSION} sdist PyPI publishes (sha256 differs)")
    with tarfile.open(archive) as t:
        t.extractall(CACHE, filter="data")
    return root


def expected() -> list[tuple[str, str]]:
    """(test id pattern, reason) from expected_failures.txt: `pattern  # reason` per line."""
    out = []
    for line in (HERE / "expected_failures.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pattern, _, reason = line.partition("#")
        if not reason.strip():
            raise SystemExit(f"expected_failures.txt: no reason given for {pattern.strip()}")
        out.append((pattern.strip(), reason.strip()))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--workers", default=os.environ.get("PYTEST_WORKERS", "2"))
    ap.add_argument("pytest_args", nargs="*")
    args = ap.parse_args()
    root = sdist()
    report = CACHE / "report.xml"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "pytest", "tests/api_resources", "-p", "sdk_plugin", "-q", "-p", "no:cacheprovider",
           "-o", "addopts=", "-n", str(args.workers), f"--junitxml={report}", *args.pytest_args]
    subprocess.run(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    results: dict[str, tuple[str, str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        parts = case.get("classname", "").split(".")[2:]  # past tests.api_resources
        module, cls = (parts[:-1], parts[-1:]) if parts and parts[-1].startswith("Test") else (parts, [])
        name = "::".join(["/".join(module) + ".py", *cls, case.get("name", "")])
        failed = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped")
        outcome = "failed" if failed is not None else "skipped" if skipped is not None else "passed"
        results[name] = (outcome, (failed.get("message", "") if failed is not None else "")[:300])
    if not results:
        raise SystemExit("the SDK's suite ran no test")
    rules = expected()
    listed = lambda n: next((r for r in rules if fnmatch.fnmatchcase(n, r[0])), None)  # noqa: E731
    unexpected = sorted(n for n, (o, _) in results.items() if o == "failed" and listed(n) is None)
    now_passing = sorted(n for n, (o, _) in results.items() if o == "passed" and listed(n) is not None)
    unused = [p for p, _ in rules if not any(fnmatch.fnmatchcase(n, p) for n in results)]
    counts = {o: sum(1 for v in results.values() if v[0] == o) for o in ("passed", "failed", "skipped")}
    print(f"runwayml {VERSION} SDK suite against the simulator: {counts['passed']} of {len(results)} passed, "
          f"{counts['failed']} failed ({counts['failed'] - len(unexpected)} listed as expected), "
          f"{counts['skipped']} skipped by the SDK itself")
    for n in unexpected:
        print(f"  UNEXPECTED FAILURE {n}: {results[n][1]}")
    for n in now_passing:
        print(f"  LISTED BUT PASSES  {n} (remove it from expected_failures.txt)")
    for p in unused:
        print(f"  LISTED, NO SUCH TEST {p}")
    return 1 if unexpected or now_passing or unused else 0


if __name__ == "__main__":
    raise SystemExit(main())
