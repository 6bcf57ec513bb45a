"""The typed examples in examples/: each runs against the simulator and passes `mypy --strict`."""

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_make_video_runs_against_the_simulator(tmp_path):
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, str(EXAMPLES / "make_video.py"), "--out", str(out), "--task-seconds", "1"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    stills = list(out.glob("still_*.png"))
    videos = list(out.glob("video_*.mp4"))
    assert len(stills) == 1 and len(videos) == 1, sorted(out.iterdir())
    assert stills[0].read_bytes().startswith(b"\x89PNG")
    assert videos[0].read_bytes()[4:8] == b"ftyp"
    assert "image: at most 8 credits" in p.stdout and "video: at most 25 credits" in p.stdout
    # The bad body is refused locally with both problems, and never reaches the simulator.
    assert "refused before sending (2 problems)" in p.stdout
    assert "duration: 30 is out of range" in p.stdout and "ratio: '16:9' is not allowed" in p.stdout
    assert "2 files; the simulator saw 2 tasks created" in p.stdout


def test_examples_type_check_strictly(tmp_path):
    p = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "mypy-cache"),
                        *map(str, sorted(EXAMPLES.glob("*.py")))], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Success: no issues found in 1 source file" in p.stdout
