"""Evidence as real files, through the real gateway: typed by content, images redacted for
everyone but the county office and the custodian, streamed without the gateway's memory
growing, limits with nothing left behind, downloads only for who may see the problem, and
action evidence that must name an uploaded file."""
from __future__ import annotations

import hashlib
import http.client
import io
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from PIL import Image

from tests.e2e.test_ledger_flow import PASSWORDS, PLAN, Client, new_problem
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

MB = 1_000_000
GPS = 0x8825
USERS = {**PASSWORDS, "custodian": "dev-custodian-2017!",
         "supervisor-jc": "dev-supervisor-jc-2017!"}
MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"


@pytest.fixture(scope="module")
def stack(amqp_uri, tmp_path_factory):
    running = Stack(amqp_uri=amqp_uri, data_dir=tmp_path_factory.mktemp("stack"), extra_env={
        "UPLOAD_MAX_BYTES": str(300 * MB), "UPLOAD_MAX_IMAGE_BYTES": str(1 * MB),
        "UPLOAD_MAX_FILES": "3"})
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="module")
def client(stack):
    signed_in = Client(stack)
    signed_in.tokens.update({name: stack.token(name, USERS[name])
                             for name in USERS.keys() - PASSWORDS.keys()})
    return signed_in


@pytest.fixture(scope="module")
def dispatched(stack, client) -> str:
    """A problem of 盐山中学 (education system), dispatched to the school."""
    pid, _ = new_problem(stack, client)
    client.act("supervisor-edu", pid, "dispatch", respond_days=5)
    return pid


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[GPS] = {1: "N", 2: (38.0, 3.0, 30.0), 3: "E", 4: (117.0, 13.0, 44.0)}
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(out, "JPEG", exif=exif)
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    return bool(Image.open(io.BytesIO(data)).getexif().get_ifd(GPS))


def upload(client, who, content, filename="evidence.jpg", problem_id=None):
    """A raw body named by X-Filename (percent-encoded)."""
    params = {"problem_id": problem_id} if problem_id else {}
    return httpx.post(f"{client.stack.base_url}/api/v1/files", params=params, content=content,
                      timeout=120, headers={"X-Filename": quote(filename),
                                            "Authorization": f"Bearer {client.tokens[who]}"})


def download(client, who, sha256, **params) -> httpx.Response:
    return client.call(who, "GET", f"/api/v1/files/{sha256}", params=params)


def stored_files(stack) -> list[Path]:
    return sorted(p for p in (stack.data_dir / "blobs").rglob("*") if p.is_file())


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


@pytest.mark.parametrize("executable", [b"\x7fELF\x02\x01\x01\x00" + b"\0" * 300_000,
                                        b"MZ\x90\x00\x03\x00\x00\x00" + b"\0" * 300_000])
def test_a_file_named_jpg_whose_bytes_are_an_executable_is_refused(stack, client, executable):
    before = stored_files(stack)
    reply = upload(client, "handler-school1", executable, filename="photo.jpg")
    assert reply.status_code == 415, reply.text
    assert reply.json()["detail"]["code"] == "unsupported_file_type"
    assert reply.json()["detail"]["message_zh"]
    form = client.call("handler-school1", "POST", "/api/v1/files",
                       files={"file": ("photo.jpg", executable, "image/jpeg")})
    assert form.status_code == 415
    assert stored_files(stack) == before


def test_a_jpeg_with_gps_keeps_its_location_only_in_the_sealed_original(stack, client,
                                                                         dispatched):
    original = jpeg_with_gps()
    assert has_gps(original)
    reply = upload(client, "handler-school1", original, problem_id=dispatched)
    assert reply.status_code == 201, reply.text
    (answer,) = reply.json()["files"]
    sealed, redacted = answer["original"], answer["redacted"]
    assert sealed == {"sha256": hashlib.sha256(original).hexdigest(), "media_type": "image/jpeg",
                      "size": len(original)}
    assert redacted["sha256"] != sealed["sha256"] and redacted["media_type"] == "image/jpeg"
    for who in ("county", "custodian"):
        got = download(client, who, sealed["sha256"])
        assert got.status_code == 200 and got.content == original and has_gps(got.content)
        assert got.headers["x-file-copy"] == "original"
    for who in ("handler-school1", "supervisor-edu", "spotcheck"):
        for sha in (sealed["sha256"], redacted["sha256"]):
            got = download(client, who, sha)
            assert got.status_code == 200, (who, got.text)
            assert hashlib.sha256(got.content).hexdigest() == redacted["sha256"]
            assert got.headers["x-file-copy"] == "redacted" and not has_gps(got.content)
        assert download(client, who, sealed["sha256"], copy="original").status_code == 404
    county_redacted = download(client, "county", sealed["sha256"], copy="redacted")
    assert not has_gps(county_redacted.content)


def test_a_download_by_a_unit_that_may_not_see_the_problem_is_404(stack, client, dispatched):
    reply = upload(client, "supervisor-edu", jpeg_with_gps() + b"\0" * 10, problem_id=dispatched)
    assert reply.status_code == 201, reply.text
    (answer,) = reply.json()["files"]
    for who in ("handler-police", "supervisor-jc", "media"):
        for sha in (answer["original"]["sha256"], answer["redacted"]["sha256"]):
            refused = download(client, who, sha)
            assert refused.status_code == 404, (who, refused.text)
            assert refused.json()["detail"]["code"] == "not_found"
    assert download(client, "handler-school1", answer["redacted"]["sha256"]).status_code == 200
    assert download(client, "county", "0" * 64).status_code == 404
    assert upload(client, "handler-police", jpeg_with_gps(),
                  problem_id=dispatched).status_code == 404


def test_a_form_carries_several_files_up_to_the_count_limit(stack, client, dispatched):
    photo, pdf = jpeg_with_gps(), b"%PDF-1.7\n" + b"form upload " * 100
    form = client.call("handler-school1", "POST", "/api/v1/files",
                       params={"problem_id": dispatched}, data={"note": "现场照片和报告"},
                       files=[("file", ("现场.jpg", photo, "image/jpeg")),
                              ("file", ("report.pdf", pdf, "application/pdf"))])
    assert form.status_code == 201, form.text
    answers = form.json()["files"]
    assert [(a["filename"], a["kind"], a["original"]["sha256"]) for a in answers] == [
        ("现场.jpg", "image", hashlib.sha256(photo).hexdigest()),
        ("report.pdf", "document", hashlib.sha256(pdf).hexdigest())]
    assert all(a["problem_id"] == dispatched for a in answers)
    too_many = client.call("handler-school1", "POST", "/api/v1/files",
                           files=[("file", (f"{n}.pdf", pdf, "application/pdf"))
                                  for n in range(4)])
    assert too_many.status_code == 422
    assert too_many.json()["detail"]["code"] == "too_many_files"


def test_a_redacted_copy_shared_by_two_uploads_is_visible_to_each_uploader(stack, client,
                                                                          dispatched):
    def photo(latitude: float) -> bytes:
        exif = Image.Exif()
        exif[GPS] = {1: "N", 2: (latitude, 0.0, 0.0)}
        out = io.BytesIO()
        Image.new("RGB", (32, 32), "blue").save(out, "JPEG", exif=exif)
        return out.getvalue()

    (school,) = upload(client, "handler-school1", photo(38.0),
                       problem_id=dispatched).json()["files"]
    (police,) = upload(client, "handler-police", photo(39.0)).json()["files"]
    assert school["original"]["sha256"] != police["original"]["sha256"]
    shared = school["redacted"]["sha256"]
    assert police["redacted"]["sha256"] == shared  # same pixels, metadata gone
    for who in ("handler-school1", "handler-police"):
        assert download(client, who, shared).status_code == 200, who
    assert download(client, "handler-police", school["original"]["sha256"]).status_code == 404


def test_evidence_must_name_an_uploaded_file_and_its_digest_enters_the_history(stack, client):
    pid, _ = new_problem(stack, client)
    client.act("supervisor-edu", pid, "dispatch", respond_days=5)
    client.act("handler-school1", pid, "verify", plan=PLAN, seriousness="ordinary")
    client.act("supervisor-edu", pid, "approve_plan")
    missing = client.act("handler-school1", pid, "report_rectified", expect=422,
                         evidence=[{"description": "整改照片", "sha256": "ab" * 32}])
    assert missing["detail"]["code"] == "unknown_file"
    assert missing["detail"]["field"] == "evidence[0].sha256"
    assert missing["detail"]["message_zh"]
    pdf = b"%PDF-1.7\n" + b"rectification report " * 1000
    (report,) = upload(client, "handler-school1", pdf, filename="整改报告.pdf").json()["files"]
    assert report["original"] == report["redacted"]  # nothing to strip from a PDF
    sha = report["original"]["sha256"]
    assert download(client, "spotcheck", sha).status_code == 404  # not yet evidence
    police = client.act("handler-police", pid, "report_rectified", expect=422,
                        evidence=[{"description": "别人的文件", "sha256": sha}])
    assert police["detail"]["code"] in ("unknown_file", "not_found")
    client.act("handler-school1", pid, "report_rectified",
               evidence=[{"description": "整改报告", "sha256": sha}])
    got = download(client, "spotcheck", sha)  # sees the problem, so now its evidence
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == sha
    problem = client.call("county", "GET", f"/api/v1/problems/{pid}").json()
    assert sha in str(problem["timeline"][-1])
    assert client.call("county", "GET", "/api/v1/ledger/verify").json()["ok"] is True


def test_a_work_plan_names_its_document_only_once_uploaded(stack, client):
    body = {"title": "县公安局清理工作方案", "summary": "本单位开展专项清理的工作方案"}
    missing = client.call("handler-police", "POST", "/api/v1/work-plans",
                          json={**body, "document_sha256": "cd" * 32})
    assert missing.status_code == 422 and missing.json()["detail"]["code"] == "unknown_file"
    (doc,) = upload(client, "handler-police", b"%PDF-1.4\n" + b"plan " * 500,
                    filename="方案.pdf").json()["files"]
    filed = client.call("handler-police", "POST", "/api/v1/work-plans",
                        json={**body, "document_sha256": doc["original"]["sha256"]})
    assert filed.status_code == 201, filed.text
    assert download(client, "supervisor-jc", doc["original"]["sha256"]).status_code == 200
    assert download(client, "supervisor-edu", doc["original"]["sha256"]).status_code == 404


def test_an_upload_over_the_limit_gives_413_and_leaves_no_file(stack, client):
    before = stored_files(stack)
    image = jpeg_with_gps()

    def over_the_image_limit():  # streamed in pieces: no Content-Length to refuse up front
        yield image
        for _ in range(15):
            yield b"\0" * 100_000

    reply = upload(client, "handler-school1", over_the_image_limit())
    assert reply.status_code == 413, reply.text
    assert reply.json()["detail"]["code"] == "file_too_large"
    assert reply.json()["detail"]["message_zh"]
    declared = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    declared.putrequest("POST", "/api/v1/files")  # announces 300 MB + 1, sends none of it
    for name, value in (("Authorization", f"Bearer {client.tokens['county']}"),
                        ("Content-Length", str(300 * MB + 1)), ("X-Filename", "big.mp4")):
        declared.putheader(name, value)
    declared.endheaders()
    assert declared.getresponse().status == 413
    declared.close()
    assert stored_files(stack) == before


def test_a_200_mb_upload_streams_without_the_gateway_holding_it_in_memory(stack, client):
    pid = stack.procs["gateway"].pid
    block = hashlib.sha256(b"seed").digest() * (MB // 32)  # 1 MB that is not all zeros
    expected = hashlib.sha256()

    def video():
        expected.update(MP4_HEAD)
        yield MP4_HEAD
        for i in range(200):
            chunk = i.to_bytes(4, "big") + block[4:]
            expected.update(chunk)
            yield chunk

    upload(client, "media", jpeg_with_gps())  # warm the route up
    base_rss, base_peak = rss_kb(pid), rss_kb(pid, "VmHWM")
    samples: list[int] = []
    done = threading.Event()

    def sample():
        while not done.is_set():
            samples.append(rss_kb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        reply = upload(client, "media", video(), filename="暗访.mp4")
    finally:
        done.set()
        sampler.join()
    assert reply.status_code == 201, reply.text
    peak = max(samples + [rss_kb(pid, "VmHWM") if rss_kb(pid, "VmHWM") > base_peak else 0])
    growth_mb = (peak - base_rss) / 1000
    print(f"gateway RSS {base_rss / 1000:.0f} MB before, peak {peak / 1000:.0f} MB "
          f"during a 200 MB upload (+{growth_mb:.1f} MB)")
    assert growth_mb < 50
    (answer,) = reply.json()["files"]
    assert answer["original"] == {"sha256": expected.hexdigest(), "media_type": "video/mp4",
                                  "size": 200 * MB + len(MP4_HEAD)}
    received = hashlib.sha256()
    with httpx.stream("GET", f"{stack.base_url}/api/v1/files/{expected.hexdigest()}",
                      headers={"Authorization": f"Bearer {client.tokens['county']}"},
                      timeout=120) as got:
        assert got.status_code == 200 and got.headers["x-content-sha256"] == expected.hexdigest()
        for chunk in got.iter_bytes():
            received.update(chunk)
    assert received.hexdigest() == expected.hexdigest()


def test_a_file_altered_in_storage_is_never_served_whole(stack, client):
    pdf = b"%PDF-1.7\n" + b"original bytes " * 200_000
    (doc,) = upload(client, "county", pdf, filename="altered.pdf").json()["files"]
    sha = doc["original"]["sha256"]
    (path,) = [p for p in stored_files(stack) if p.name == sha]
    path.write_bytes(pdf.replace(b"original", b"forged!!"))
    with pytest.raises(httpx.HTTPError):
        reply = download(client, "county", sha)
        assert hashlib.sha256(reply.content).hexdigest() == sha  # never reached
    assert "failed its digest check" in stack.tail("gateway", 200)
