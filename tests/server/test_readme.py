"""The README's pictures: every image it shows is in the repository, a PNG small enough to keep in
git, and every screenshot kept under docs/screenshots/ is shown."""

from __future__ import annotations

import re
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"


def images(markdown: str) -> list[str]:
    """The local targets of the Markdown images (`![alt](path)`) and HTML <img src> in `markdown`."""
    found = re.findall(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)", markdown) + re.findall(r"<img\b[^>]*\bsrc=[\"']([^\"']+)", markdown)
    return [f for f in found if not re.match(r"[a-z]+:", f)]


def test_every_image_the_readme_shows_exists():
    readme = (ROOT / "README.md").read_text()
    shown = images(readme)
    assert shown, "the README shows no image"
    for target in shown:
        path = (ROOT / target.split("#")[0]).resolve()
        assert path.is_file() and ROOT in path.parents, f"README shows {target}: not in the repository"
        head = path.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{target}: not a PNG"
        width, height = struct.unpack(">II", head[16:24])
        assert 0 < width <= 1600 and 0 < height <= 1600, (target, width, height)
        assert path.stat().st_size < 150_000, f"{target}: {path.stat().st_size} bytes"
    # No screenshot kept that the README does not show.
    kept = {p.relative_to(ROOT).as_posix() for p in SHOTS.glob("*")} if SHOTS.is_dir() else set()
    assert kept <= set(shown), kept - set(shown)


def test_the_image_finder_reads_markdown_and_html():
    md = '![a](docs/x.png) ![b]( <docs/y.png> ) <img alt="c" src="docs/z.png"> ![d](https://e.org/f.png)'
    assert images(md) == ["docs/x.png", "docs/y.png", "docs/z.png"]
