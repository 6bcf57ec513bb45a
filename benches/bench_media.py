"""Media transfer benchmark: a large output downloaded by runway_core against `curl -o` of the same
URL, and a large upload against curl's multipart POST to the same kind of upload slot, both served
by the simulator in a separate process. Each runway_core transfer runs in its own fresh process,
which reports its peak memory growth (VmHWM after the transfer minus VmRSS before it).

    python benches/bench_media.py [--download-mb 200] [--upload-mb 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

WORKER = r"""
import asyncio, json, sys, time, runway_core

def rss(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

async def main(mode, base, key, arg, dest):
    c = runway_core.Client(key, base)
    before = rss("VmRSS")
    t0 = time.perf_counter()
    if mode == "download":
        d = await c.download(arg, dest)
        size = d["bytes"]
    else:
        await c.upload(arg)
        size = None
    took = time.perf_counter() - t0
    print(json.dumps({"seconds": took, "bytes": size, "rss_growth_mb": rss("VmHWM") - before}))

asyncio.run(main(*sys.argv[1:]))
"""


def api(base: str, key: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {key}", "X-Runway-Version": "2024-11-06",
                                          "Content-Type": "application/json"}, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def worker(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", WORKER, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def curl(*args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(["curl", "-sS", "--fail", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--download-mb", type=int, default=200)
    ap.add_argument("--upload-mb", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import runway_core

    print(f"runway_core {runway_core.__version__} from {runway_core.__file__}")
    print(f"python {platform.python_version()}, {os.cpu_count()} cores; curl {subprocess.run(['curl', '--version'], capture_output=True, text=True).stdout.split()[1]}")
    sim = subprocess.Popen([sys.executable, "-m", "runway_core.simulator", "--task-seconds", "0.2"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    info = json.loads(sim.stdout.readline())
    base, key = info["base_url"], info["api_key"]
    work = tempfile.mkdtemp(prefix="bench-media-")
    try:
        size = args.download_mb * 1_000_000
        t = api(base, key, "/v1/text_to_video", {"model": "gen4.5", "promptText": f"big [sim:output_bytes={size}]",
                                                 "ratio": "1280:720", "duration": 5})
        time.sleep(0.5)
        url = api(base, key, f"/v1/tasks/{t['id']}")["output"][0]
        core, curls, growth = [], [], []
        for i in range(args.rounds):
            dest = os.path.join(work, f"core{i}.mp4")
            r = worker("download", base, key, url, dest)
            assert r["bytes"] == size and os.path.getsize(dest) == size
            core.append(r["seconds"])
            growth.append(r["rss_growth_mb"])
            os.remove(dest)
            curls.append(curl("-o", os.path.join(work, "curl.mp4"), url))
            os.remove(os.path.join(work, "curl.mp4"))
        c, k = statistics.median(core), statistics.median(curls)
        print(f"download {args.download_mb} MB: runway_core {size / c / 1e6:7.0f} MB/s (median {c:.2f} s), "
              f"curl -o {size / k / 1e6:7.0f} MB/s (median {k:.2f} s); speed ratio {k / c:.2f}x curl (target >= 0.9); "
              f"peak memory growth {max(growth):.1f} MB (target < 30)")

        src = os.path.join(work, "upload.mp4")
        # An MP4 'ftyp' box is all the content sniffing needs; the rest is padding.
        ph = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2"
        with open(src, "wb") as f:
            f.write(ph)
            f.write(b"\0" * (args.upload_mb * 1_000_000 - len(ph)))
        core, curls, growth = [], [], []
        for _ in range(args.rounds):
            r = worker("upload", base, key, src, "-")
            core.append(r["seconds"])
            growth.append(r["rss_growth_mb"])
            slot = api(base, key, "/v1/uploads", {"filename": "upload.mp4", "type": "ephemeral"})
            form = [x for k2, v in slot["fields"].items() for x in ("-F", f"{k2}={v}")]
            curls.append(curl(*form, "-F", f"file=@{src};type=video/mp4", slot["uploadUrl"]))
            # The worker's next run is a new process: its upload cache is empty, so it uploads again.
        c, k = statistics.median(core), statistics.median(curls)
        up = args.upload_mb * 1_000_000
        print(f"upload {args.upload_mb} MB: runway_core {up / c / 1e6:7.0f} MB/s (median {c:.2f} s), "
              f"curl -F {up / k / 1e6:7.0f} MB/s (median {k:.2f} s); speed ratio {k / c:.2f}x curl (target >= 0.9); "
              f"peak memory growth {max(growth):.1f} MB (target < 30)")
    finally:
        sim.stdin.close()
        sim.wait(timeout=20)
        for name in os.listdir(work):
            os.remove(os.path.join(work, name))
        os.rmdir(work)


if __name__ == "__main__":
    main()
