"""Media in and out through runway_core: every input form, the local-file guard, uploads,
downloads (integrity, atomicity, names) and chaining one task's output into the next."""

import asyncio
import base64
import hashlib
import socket
import threading
from pathlib import Path

import pytest

import runway_core
from runway_core import Client, RunwayError, ValidationError

from conftest import FAST_POLL, api_requests

MEDIA = Path(__file__).resolve().parents[2] / "src" / "simulator" / "media"
PNG = (MEDIA / "placeholder.png").read_bytes()
MP4 = (MEDIA / "placeholder.mp4").read_bytes()


@pytest.fixture
def files(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "frame.png").write_bytes(PNG)
    (d / "clip.mp4").write_bytes(MP4)
    (d / "notes.png").write_text("API_KEY=not-an-image\n")
    return d


def gen4_turbo(image):
    return {"model": "gen4_turbo", "promptImage": image, "ratio": "960:960"}


async def test_local_paths_absolute_and_home_become_data_uris(sim, client, files, monkeypatch):
    monkeypatch.setenv("HOME", str(files.parent))
    for image in (str(files / "frame.png"), "~/in/frame.png", f"file://{files / 'frame.png'}"):
        t = await client.create_task("image_to_video", gen4_turbo(image))
        assert t.id
    assert len(api_requests(sim, "POST", "/v1/image_to_video")) == 3


async def test_remote_forms_pass_through(client):
    data = "data:image/png;base64," + base64.b64encode(PNG).decode()
    for image in ("https://example.com/frame.png", data):
        assert (await client.create_task("image_to_video", gen4_turbo(image))).id


async def test_text_file_named_png_is_refused_before_sending(sim, client, files):
    with pytest.raises(ValidationError) as ei:
        await client.create_task("image_to_video", gen4_turbo(str(files / "notes.png")))
    msg = str(ei.value)
    assert "promptImage" in msg and "text, not an image" in msg
    assert "API_KEY" not in msg
    with pytest.raises(ValidationError, match="a video is needed"):
        await client.create_task("video_to_video", {"model": "aleph2", "videoUri": str(files / "frame.png")})
    with pytest.raises(ValidationError, match="no such file"):
        await client.create_task("image_to_video", gen4_turbo(str(files / "missing.png")))
    with pytest.raises(ValidationError, match="absolute"):
        await client.create_task("image_to_video", gen4_turbo("frame.png"))
    assert api_requests(sim) == []


async def test_input_dirs_confine_reads_and_symlinks_cannot_escape(sim, files, tmp_path):
    outside = tmp_path / "outside.png"
    outside.write_bytes(PNG)
    (files / "link.png").symlink_to(outside)
    c = Client(sim.api_key, sim.base_url, input_dirs=[str(files)])
    assert (await c.create_task("image_to_video", gen4_turbo(str(files / "frame.png")))).id
    # Whatever a path outside is (a file, a link out, `..`, nothing, a folder, a system file), the
    # refusal reads the same, and names neither the folders nor what the path resolves to.
    refusal = "not a file in the folders this server reads inputs from"
    for path in (outside, files / "link.png", files / ".." / "outside.png", files / "missing.png", files,
                 tmp_path / "missing.png", "/etc/passwd", "/etc", f"file://{outside}"):
        with pytest.raises(ValidationError) as e:
            await c.create_task("image_to_video", gen4_turbo(str(path)))
        shown = str(path).removeprefix("file://")
        assert str(e.value) == f"promptImage: '{shown}': {refusal}"
    for path in (outside, files / "missing.png", "/etc/passwd"):
        with pytest.raises(ValidationError) as e:
            await c.upload(path)
        assert str(e.value).endswith(f"'{path}': {refusal}")
    with pytest.raises(ValidationError, match="absolute"):
        await c.upload("frame.png")  # never relative to the process's working folder
    assert len(api_requests(sim, "POST")) == 1


async def test_no_input_dirs_reads_no_local_file(sim, files):
    """`input_dirs=[]` (the HTTP server's default): no local path is read, not even a good image."""
    c = Client(sim.api_key, sim.base_url, input_dirs=[])
    for path in (files / "frame.png", files / "missing.png", "/etc/passwd", f"file://{files / 'frame.png'}"):
        with pytest.raises(ValidationError, match="this server reads no local files") as e:
            await c.create_task("image_to_video", gen4_turbo(str(path)))
        assert "no such file" not in str(e.value)
        with pytest.raises(ValidationError, match="reads no local files"):
            await c.upload(str(path).removeprefix("file://"))
    assert api_requests(sim) == []


async def test_size_cap_is_checked_before_reading(sim, client, tmp_path):
    big = tmp_path / "huge.mp4"
    with open(big, "wb") as f:  # sparse: 200 MB + 1 byte without writing them
        f.write(MP4[:32])
        f.truncate(200 * 1024 * 1024 + 1)
    with pytest.raises(ValidationError, match="at most 209715200 bytes"):
        await client.create_task("video_to_video", {"model": "aleph2", "videoUri": str(big)})
    with pytest.raises(ValidationError, match="200 MB"):
        await client.upload(big)
    assert api_requests(sim) == []


async def test_task_ids_as_inputs_chain_outputs(sim, client):
    img = await client.create_task("text_to_image", {"model": "gen4_image", "promptText": "x [sim:outputs=2]", "ratio": "1280:720"})
    await client.wait_for_task(img.id, timeout=10)
    for ref in (img.id, f"{img.id}#1"):
        t = await client.create_task("image_to_video", gen4_turbo(ref))
        assert (await client.wait_for_task(t.id, timeout=10)).status == "SUCCEEDED"
    with pytest.raises(ValidationError, match="#5 does not exist"):
        await client.create_task("image_to_video", gen4_turbo(f"{img.id}#5"))
    pending = await client.create_task("text_to_image", {"model": "gen4_image", "promptText": "x [sim:seconds=30]", "ratio": "1280:720"})
    with pytest.raises(ValidationError, match="no output to use yet"):
        await client.create_task("image_to_video", gen4_turbo(pending.id))
    # An image task's output is not a video.
    with pytest.raises(ValidationError, match="a video is needed"):
        await client.create_task("video_to_video", {"model": "aleph2", "videoUri": img.id})


async def test_download_integrity_and_save_outputs(sim, client, tmp_path):
    t = await client.create_task("text_to_video", {"model": "gen4.5", "promptText": "x [sim:outputs=2]", "ratio": "1280:720", "duration": 5})
    done = await client.wait_for_task(t.id, timeout=10)
    seen = []
    d = await client.download(done.output[0], tmp_path / "a" / "clip.mp4", on_progress=lambda n, total: seen.append((n, total)))
    assert d["bytes"] == len(MP4) and d["mime_type"] == "video/mp4"
    assert hashlib.sha256(Path(d["path"]).read_bytes()).digest() == hashlib.sha256(MP4).digest()
    await asyncio.sleep(0.05)  # progress callbacks run on the loop
    assert seen and seen[-1] == (len(MP4), len(MP4))
    files = await client.save_outputs(done, tmp_path / "out", prefix="../../evil name")
    assert [Path(f["path"]).name for f in files] == [f"evilname_{t.id}_0.mp4", f"evilname_{t.id}_1.mp4"]
    assert all(Path(f["path"]).parent == tmp_path / "out" for f in files)
    assert [f["bytes"] for f in files] == [len(MP4)] * 2
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def _truncating_server():
    """Answers every GET with a Content-Length of 1000 but only 100 bytes, then hangs up."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def run():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100)
            conn.close()

    threading.Thread(target=run, daemon=True).start()
    return srv


async def test_failed_download_leaves_no_partial_file(tmp_path):
    srv = _truncating_server()
    try:
        port = srv.getsockname()[1]
        c = Client("key_x_long_enough", f"http://127.0.0.1:{port}")
        dest = tmp_path / "out" / "clip.mp4"
        with pytest.raises(RunwayError):
            await c.download(f"http://127.0.0.1:{port}/clip.mp4", dest)
        assert not dest.exists()
        assert list((tmp_path / "out").iterdir()) == []
    finally:
        srv.close()


async def test_only_https_is_fetched_against_an_https_api(tmp_path):
    c = Client("key_x_long_enough", "https://api.example.test")
    with pytest.raises(RunwayError, match="only https"):
        await c.download("http://example.test/a.mp4", tmp_path / "a.mp4")


def _big_png(path: Path, size: int) -> Path:
    path.write_bytes(PNG + b"\0" * (size - len(PNG)))  # a PNG header, then padding: sniffs as PNG
    return path


async def test_large_files_go_through_an_upload_once(sim, client, tmp_path):
    big = _big_png(tmp_path / "big.png", 6 * 1024 * 1024)  # over the 5 MB image data-URI limit
    for _ in range(2):
        t = await client.create_task("image_to_video", gen4_turbo(str(big)))
        assert (await client.wait_for_task(t.id, timeout=10)).status == "SUCCEEDED"
    uploads = sim.uploads()
    assert len(uploads) == 1 and uploads[0]["size"] == big.stat().st_size
    assert len(api_requests(sim, "POST", "/v1/uploads")) == 1, "an unchanged file is not uploaded again"
    uri = await client.upload(big)
    assert uri.startswith("runway://") and len(sim.uploads()) == 1
    assert (await client.create_task("image_to_video", gen4_turbo(uri))).id
    # A changed file is a new upload.
    _big_png(big, 6 * 1024 * 1024 + 10)
    await client.upload(big)
    assert len(sim.uploads()) == 2


async def test_upload_explicitly_and_small_file_limits(sim, client, tmp_path, files):
    uri = await client.upload(files / "clip.mp4")
    assert uri.startswith("runway://") and sim.uploads()[0]["size"] == len(MP4)
    tiny = tmp_path / "tiny.png"
    tiny.write_bytes(PNG)  # 161 bytes: too small for Runway's uploads (512 B minimum)...
    with pytest.raises(ValidationError, match="at least 512 bytes"):
        await client.upload(tiny)
    # ...but fine inline.
    assert (await client.create_task("image_to_video", gen4_turbo(str(tiny)))).id
    with pytest.raises(ValidationError, match="text, not an image"):
        await client.upload(files / "notes.png")


async def test_expired_output_urls_are_refreshed(tmp_path):
    with runway_core.Simulator(task_seconds=0.3, output_url_ttl=0.5) as sim:
        c = Client(sim.api_key, sim.base_url, poll=FAST_POLL)
        t = await c.create_task("text_to_image", {"model": "gen4_image", "promptText": "x", "ratio": "1280:720"})
        done = await c.wait_for_task(t.id, timeout=10)
        await asyncio.sleep(0.8)
        with pytest.raises(runway_core.ApiError) as ei:
            await c.download(done.output[0], tmp_path / "stale.png")
        assert ei.value.status == 403
        files = await c.save_outputs(done, tmp_path / "out", prefix="img")
        assert files[0]["bytes"] == len(PNG) and files[0]["url"] != done.output[0]
        assert Path(files[0]["path"]).read_bytes() == PNG


async def test_whole_body_is_checked_before_any_upload(sim, client, tmp_path):
    # A video too big for a data URI would be uploaded; a bad field elsewhere must stop that first.
    big = tmp_path / "big.mp4"
    with open(big, "wb") as f:
        f.write(MP4)
        f.truncate(20 * 1024 * 1024)
    other = tmp_path / "notes.png"
    other.write_text("not an image")
    body = {"model": "aleph2", "videoUri": str(big), "targetAspectRatio": "5:4"}
    with pytest.raises(ValidationError) as ei:
        await client.create_task("video_to_video", body)
    assert "targetAspectRatio" in str(ei.value) and "'5:4'" in str(ei.value)
    # A bad second file is found before the first one is uploaded.
    body = {"model": "aleph2", "videoUri": str(big), "keyframes": [{"uri": str(other), "at": 0}]}
    with pytest.raises(ValidationError, match="keyframes"):
        await client.create_task("video_to_video", body)
    assert sim.uploads() == [] and api_requests(sim) == []
