"""Make a still image, then animate it into a video: the async `runway_core` library, typed.

By default it runs against the built-in Runway simulator (no key, no credits); `--real` uses the
real API with RUNWAYML_API_SECRET and spends credits. It shows the library's main steps:

1. check the bodies and price them locally (`validate`, `estimate_cost`), before anything is sent;
2. create the image task and wait for it, with progress;
3. use the image task's id as the video's first frame (the client resolves it to its output);
4. wait for the video and save both outputs to a folder;
5. a body the catalogue refuses: `ValidationError` lists every problem, and nothing is sent.

    python examples/make_video.py [--out DIR] [--task-seconds 2] [--real]

Checked with `mypy --strict` and run by the tests (tests/test_examples.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

import runway_core
from runway_core import Client, Task, TaskFailedError, ValidationError


def show_progress(task: Task) -> None:
    pct = f"{task.progress * 100:3.0f}%" if task.progress is not None else "   -"
    print(f"  {task.id[:8]} {task.status or '?':10s} {pct}")


def priced(endpoint: str, body: dict[str, Any]) -> str:
    runway_core.validate(endpoint, body)  # raises ValidationError, as create_task would
    cost: Optional[float] = runway_core.estimate_cost(endpoint, body)
    return "price not published" if cost is None else f"at most {cost:g} credits"


async def make(client: Client, out: Path) -> list[Path]:
    image_body: dict[str, Any] = {
        "model": "gen4_image",
        "promptText": "a lighthouse on a cliff at dawn, oil painting",
        "ratio": "1920:1080",
    }
    print("image:", priced("text_to_image", image_body))
    image = await client.create_task("text_to_image", image_body)
    image = await client.wait_for_task(image, timeout=600, on_progress=show_progress)

    video_body: dict[str, Any] = {
        "model": "gen4_turbo",
        "promptImage": image.id,  # an earlier task's id stands for its first output
        "promptText": "waves crash below, the light turns slowly",
        "ratio": "1280:720",
        "duration": 5,
    }
    print("video:", priced("image_to_video", {**video_body, "promptImage": "https://example.com/f.png"}))
    video = await client.create_task("image_to_video", video_body)
    try:
        video = await client.wait_for_task(video, timeout=900, on_progress=show_progress)
    except TaskFailedError as e:
        print(f"the video failed: {e.task.failure} ({e.task.failure_code})", file=sys.stderr)
        raise

    saved: list[Path] = []
    for task, prefix in ((image, "still"), (video, "video")):
        for f in await client.save_outputs(task, out, prefix=prefix):
            saved.append(Path(f["path"]))
            print(f"saved {f['path']} ({f['mime_type']}, {f['bytes']} bytes)")
    print(f"spent: image {image.cost}, video {video.cost} credits")

    try:
        await client.create_task("image_to_video", {**video_body, "duration": 30, "ratio": "16:9"})
    except ValidationError as e:
        print(f"refused before sending ({len(e.issues)} problems):")
        for issue in e.issues:
            field = ".".join(str(part) for part in issue.get("path", []))
            print(f"  {field}: {issue.get('message')}")
    return saved


async def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--out", type=Path, default=None, help="folder for the outputs (default: a temporary one)")
    ap.add_argument("--task-seconds", type=float, default=3.0, help="length of a simulated task")
    ap.add_argument("--real", action="store_true", help="use the real API (RUNWAYML_API_SECRET); spends credits")
    opts = ap.parse_args(argv)
    out: Path = opts.out or Path(tempfile.mkdtemp(prefix="runway-example-"))

    if opts.real:
        async with Client() as client:
            await make(client, out)
        return 0
    with runway_core.Simulator(task_seconds=opts.task_seconds) as sim:
        # Polls sooner than the production schedule (first poll 5 s after creating), to show progress.
        fast = {"first_delay": 0.5, "idle_interval": 0.5, "min_interval": 0.5}
        async with Client(sim.api_key, sim.base_url, poll=fast) as client:
            files = await make(client, out)
        print(f"{len(files)} files; the simulator saw {sim.tasks_created} tasks created")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
