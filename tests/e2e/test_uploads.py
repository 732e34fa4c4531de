"""Resumable uploads end to end (断点续传): the media team's tool (``yanshan-upload``) and
tuspy against the real gateway and services.

- The tool sends a 500 MB video, is SIGKILLed at about half, is run again and resumes:
  the second run sends about half (its own count of bytes sent), the stored blob's
  SHA-256 is the file's, the gateway's resident memory grows by less than 50 MB, and the
  case lands in the ledger with the file's digest in its registration entry.
- The same with the connection cut by a TCP proxy between tool and gateway: one run,
  retried, resumed, not restarted.
- tuspy 1.1 (the protocol's own Python client) uploads, stops, and resumes.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import httpx
import pytest

from tests.support.stack import Stack
from tests.support.uploads import (
    CuttingProxy, RssSampler, file_sha256, make_video, state_offset, tool_command, tool_env,
)

pytestmark = pytest.mark.e2e

SIZE = 500_000_000
MEDIA_PASSWORD = "dev-media-2017!"
CHUNK_MIB = 8


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory):
    """The real processes (as tests/e2e/conftest.py's), stopped without the long grace."""
    running = Stack(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("stack"))
    try:
        running.start_all()
        yield running
    finally:  # every process told at once, then a few seconds' grace in all
        for proc in running.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for name, proc in running.procs.items():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                running.kill(name)


def wait_for(process, condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the tool made no progress"
        time.sleep(0.02)


def blob_path(stack, sha256: str):
    return stack.data_dir / "blobs" / sha256[:2] / sha256[2:4] / sha256


def write_case(folder, title: str) -> None:
    folder.mkdir()
    (folder / "case.yaml").write_text(
        f"title: {title}\n"
        "description: 记者暗访发现办事窗口工作时间长时间无人值守,群众排队等候。\n"
        "place: 盐山县某镇便民服务中心\n"
        "occurred_on: 2017-10-09\n"
        "occurred_at: '10:30'\n", encoding="utf-8")


def test_the_tool_resumes_after_a_sigkill_and_the_gateway_stays_flat(stack, tmp_path):
    folder = tmp_path / "case"
    write_case(folder, "便民服务中心窗口无人值守")
    sha256 = make_video(folder / "暗访.mp4", SIZE, b"kill")
    env = tool_env(tmp_path / "state", MEDIA_PASSWORD)
    args = [str(folder), "--server", stack.base_url, "--chunk-mib", str(CHUNK_MIB)]
    state = tmp_path / "state"
    gateway = stack.procs["gateway"].pid
    first = subprocess.Popen(tool_command(*args, "--quiet"), env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # memory is measured from the first bytes on: signing in hashes the password with
    # argon2id (64 MiB for a moment), which is not the upload's doing
    wait_for(first, lambda: state_offset(state) > 0)
    with RssSampler(gateway) as streaming:
        wait_for(first, lambda: state_offset(state) >= SIZE // 2)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    killed_at = state_offset(state)
    second = subprocess.Popen(tool_command(*args, "--json"), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(second, lambda: state_offset(state) > killed_at)
    with RssSampler(gateway) as resumed:
        out, err = second.communicate(timeout=180)
    assert second.returncode == 0, err.decode()[-3000:]
    summary = json.loads(out)
    growth = max(streaming.growth_mb, resumed.growth_mb)
    (sent,) = summary["files"]
    assert sent["sha256"] == sha256
    assert SIZE * 0.4 <= sent["resumed_from"] <= SIZE * 0.6
    assert sent["resumed_from"] >= killed_at - (CHUNK_MIB << 20)
    # the second run sent only the rest (at most a chunk more)
    assert sent["sent"] == SIZE - sent["resumed_from"]
    assert sent["sent"] <= SIZE * 0.6
    assert file_sha256(blob_path(stack, sha256)) == sha256
    assert growth < 50, f"the gateway grew by {growth:.0f} MB"
    # the case: a clue on 新闻媒体曝光, registered with the file's digest as provenance
    case = summary["case"]
    token = stack.token("county", "dev-county-2017!")
    headers = {"Authorization": f"Bearer {token}"}
    got = httpx.get(f"{stack.base_url}/api/v1/exposure-cases/{case['case_id']}",
                    headers=headers, timeout=10).json()
    assert [f["sha256"] for f in got["files"]] == [sha256]
    assert got["files"][0]["redacted_sha256"] not in (None, sha256)  # location box blanked
    redacted = blob_path(stack, got["files"][0]["redacted_sha256"])
    with open(redacted, "rb") as f:
        assert b"+38.0586" not in f.read(4096)
    with open(blob_path(stack, sha256), "rb") as f:
        assert b"+38.0586" in f.read(4096)
    problem = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = httpx.get(f"{stack.base_url}/api/v1/problems/{case['problem_id']}",
                          headers=headers, timeout=10)
        if reply.status_code == 200:
            problem = reply.json()
            break
        time.sleep(0.3)
    assert problem is not None, "the case never reached the ledger"
    assert sha256 in str(problem)  # the registration entry names the file


def test_the_tool_rides_out_a_cut_connection(stack, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    sha256 = make_video(folder / "clip.mp4", SIZE, b"cut")
    env = tool_env(tmp_path / "state", MEDIA_PASSWORD)
    state = tmp_path / "state"
    with CuttingProxy(stack.port, cut_after=SIZE // 2) as proxy:
        tool = subprocess.Popen(tool_command(
            str(folder), "--server", f"http://127.0.0.1:{proxy.port}", "--files-only",
            "--chunk-mib", str(CHUNK_MIB), "--json"), env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        wait_for(tool, lambda: state_offset(state) > 0)  # signed in (argon2id: see above)
        with RssSampler(stack.procs["gateway"].pid) as rss:
            out, err = tool.communicate(timeout=180)
    assert tool.returncode == 0, err.decode()[-3000:]
    summary = json.loads(out)
    assert proxy.cuts == 1
    (sent,) = summary["files"]
    assert sent["retries"] >= 1 and sent["resumed_from"] == 0
    # resumed where the server had it: the cut chunk again at most, never the whole file
    assert SIZE <= sent["sent"] <= SIZE + (CHUNK_MIB << 20)
    assert sent["sha256"] == sha256 == file_sha256(blob_path(stack, sha256))
    assert rss.growth_mb < 50, f"the gateway grew by {rss.growth_mb:.0f} MB"


def test_tuspy_uploads_and_resumes(stack, tmp_path):
    tus_client = pytest.importorskip("tusclient.client", reason="tuspy==1.1.0 (requirements)")
    path = tmp_path / "clip.mp4"
    sha256 = make_video(path, 6_000_000, b"tuspy")
    token = stack.token("media", MEDIA_PASSWORD)
    client = tus_client.TusClient(f"{stack.base_url}/api/v1/uploads",
                                  headers={"Authorization": f"Bearer {token}"})
    first = client.uploader(str(path), chunk_size=1 << 20, upload_checksum=True,
                            metadata={"filename": "clip.mp4"})
    first.upload(stop_at=3 << 20)
    assert first.offset == 3 << 20
    again = client.uploader(str(path), url=first.url, chunk_size=1 << 20,
                            upload_checksum=True)
    assert again.offset == 3 << 20  # asked the server (HEAD)
    again.upload()
    head = httpx.head(first.url, headers={"Tus-Resumable": "1.0.0",
                                          "Authorization": f"Bearer {token}"})
    assert head.headers["upload-offset"] == str(6_000_000)
    assert head.headers["upload-sha256"] == sha256 == file_sha256(blob_path(stack, sha256))


def test_the_tool_exits_non_zero_with_both_languages_on_a_refusal(stack, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(b"\x7fELF\x02\x01\x01\x00" + os.urandom(300_000))
    env = tool_env(tmp_path / "state", MEDIA_PASSWORD)
    done = subprocess.run(tool_command(str(folder), "--server", stack.base_url,
                                       "--files-only", "--quiet"),
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "unsupported_file_type" in done.stderr
    assert "文件内容不属于允许的类型" in done.stderr and "whatever its name says" in done.stderr


def test_a_case_is_published_with_its_redacted_photo_and_taken_back(stack):
    from io import BytesIO

    from PIL import Image

    from tests.unit.test_tus_uploads import GPS, jpeg_with_gps

    photo = jpeg_with_gps()
    media = {"Authorization": f"Bearer {stack.token('media', MEDIA_PASSWORD)}"}
    county = {"Authorization": f"Bearer {stack.token('county', 'dev-county-2017!')}"}
    tus = {"Tus-Resumable": "1.0.0"}
    base = stack.base_url
    created = httpx.post(f"{base}/api/v1/uploads", headers={
        **media, **tus, "Upload-Length": str(len(photo))})
    location = base + created.headers["location"]
    done = httpx.patch(location, content=photo, headers={
        **media, **tus, "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream"})
    assert done.status_code == 204
    case = httpx.post(f"{base}/api/v1/exposure-cases", headers=media, json={
        "title": "某镇便民服务中心窗口无人值守", "description": "记者暗访,窗口工作时间无人。",
        "uploads": [location.rsplit("/", 1)[1]]}).json()
    problem_url = f"{base}/api/v1/problems/{case['problem_id']}"
    deadline = time.monotonic() + 30
    while httpx.get(problem_url, headers=county).status_code != 200:
        assert time.monotonic() < deadline, "the case never reached the ledger"
        time.sleep(0.3)
    photo_sha = done.headers["upload-sha256"]
    published = httpx.post(f"{problem_url}/publish", headers=county, json={
        "found": "工作时间窗口无人值守,群众排队等候。", "done": "责令整改,值班负责人诫勉谈话。",
        "evidence": [{"description": "现场照片", "sha256": photo_sha}]})
    assert published.status_code == 200, published.text

    def shown() -> list[dict]:
        return httpx.get(f"{base}/api/v1/published-cases").json()["cases"]

    deadline = time.monotonic() + 15
    while not shown():
        assert time.monotonic() < deadline
        time.sleep(0.5)
    page = httpx.get(f"{base}/exposures").text
    assert "某镇便民服务中心窗口无人值守" in page and "诫勉谈话" in page
    (item,) = shown()[0]["media"]
    served = httpx.get(base + item["url"])  # anyone, no token
    assert served.status_code == 200 and served.content != photo
    assert not Image.open(BytesIO(served.content)).getexif().get_ifd(GPS)
    taken = httpx.post(f"{problem_url}/unpublish", headers=county,
                       json={"reason": "当事单位已整改到位,撤下曝光"})
    assert taken.status_code == 200, taken.text
    deadline = time.monotonic() + 15
    while shown():
        assert time.monotonic() < deadline
        time.sleep(0.5)
    timeline = str(httpx.get(problem_url, headers=county).json())
    assert "'publish'" in timeline and "'unpublish'" in timeline  # both in the chain
