"""Resumable uploads (tus 1.0) and exposure cases, in-process: the gateway with a stand-in
broker on a temporary SQLite store and blob folder. The protocol's rules, the file's fate at
completion (typed by content, sealed original, redacted copy) and the case's clue."""
from __future__ import annotations

import base64
import hashlib
import io
import os
import struct

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from gateway.app import create_app
from gateway.auth import tokens
from gateway.auth.principal import Principal
from gateway.auth.roles import Role
from gateway.uploads import mp4meta, protocol
from gateway.uploads.protocol import TusRefusal
from kit.settings import Settings

SECRET = "unit-test-secret-that-is-long-enough-0123456789"
MEDIA = Principal("acc-m", "media", Role.MEDIA, None)
MEDIA2 = Principal("acc-m2", "media2", Role.MEDIA, None)
HANDLER = Principal("acc-h", "handler-school1", Role.UNIT_HANDLER, "org_sch_yanshan_high")
COUNTY = Principal("acc-c", "county", Role.COUNTY_OFFICE, "org_county_office")
CUSTODIAN = Principal("acc-k", "custodian", Role.CUSTODIAN, None)
ACCOUNTS: dict[str, Principal] = {}
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}
GPS = 0x8825
URL = "/api/v1/uploads"


class Broker:
    connected = True

    def __init__(self):
        self.events = []

    def start(self):
        pass

    def stop(self):
        pass

    async def call(self, service, method, **kwargs):
        return None

    async def publish_event(self, event):
        self.events.append(event)


@pytest.fixture(scope="module")
def broker():
    return Broker()


@pytest.fixture(scope="module")
def tmp_path(tmp_path_factory):
    return tmp_path_factory.mktemp("tus")


@pytest.fixture(scope="module")
def client(tmp_path, broker):
    """One gateway for the module (accounts' argon2 hashes take a second each)."""
    settings = Settings(environment="development", secret_key=SECRET, data_dir=tmp_path,
                        tus_max_bytes=8 << 20)
    with TestClient(create_app(settings, broker=broker), raise_server_exceptions=False) as c:
        for p in (MEDIA, MEDIA2, HANDLER, COUNTY, CUSTODIAN):
            ACCOUNTS[p.username] = c.app.state.accounts.create(
                p.username, "long enough password", p.role, p.org_code).principal()
        yield c


def auth(principal: Principal = MEDIA) -> dict:
    return {"Authorization": "Bearer " + tokens.issue(ACCOUNTS[principal.username], SECRET, 30)}


def create(client, length: int, filename: str = "clip.mp4", who=MEDIA):
    meta = protocol.encode_metadata({"filename": filename})
    return client.post(URL, headers={**TUS, **auth(who), "Upload-Length": str(length),
                                     "Upload-Metadata": meta})


def patch(client, location, offset, data, who=MEDIA, **extra):
    return client.patch(location, content=data, headers={**OCTETS, **auth(who),
                                                         "Upload-Offset": str(offset), **extra})


def sha1_header(data: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(data).digest()).decode()


def mp4(payload: bytes, gps: bytes = b"+39.9042+116.4074/") -> bytes:
    """ftyp, moov with udta (QuickTime's ©xyz location, ©mak the device) and mdat."""
    def box(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", 8 + len(body)) + kind + body
    xyz = box(b"\xa9xyz", struct.pack(">HH", len(gps), 0x15c7) + gps)
    mak = box(b"\xa9mak", struct.pack(">HH", 5, 0) + b"Apple")
    moov = box(b"moov", box(b"mvhd", bytes(100)) + box(b"udta", xyz + mak))
    return box(b"ftyp", b"isom\0\0\2\0isomiso2mp41") + moov + box(b"mdat", payload)


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[GPS] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 50.0)}
    exif[0x010F] = "Canon"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def upload(client, data: bytes, filename: str = "clip.mp4", who=MEDIA) -> str:
    created = create(client, len(data), filename, who)
    assert created.status_code == 201, created.text
    done = patch(client, created.headers["location"], 0, data, who)
    assert done.status_code == 204, done.text
    assert done.headers["upload-sha256"] == hashlib.sha256(data).hexdigest()
    return created.headers["location"].rsplit("/", 1)[1]


# --- the protocol's pure rules ------------------------------------------------------------------

def test_metadata_round_trips_and_malformed_metadata_is_refused():
    pairs = {"filename": "暗访 视频.mp4", "filetype": "video/mp4"}
    assert protocol.metadata(protocol.encode_metadata(pairs)) == pairs
    assert protocol.metadata("is_confidential") == {"is_confidential": ""}
    with pytest.raises(TusRefusal):
        protocol.metadata("filename not-base64!")


def test_checksum_header_takes_sha1_only():
    assert protocol.checksum({"upload-checksum": sha1_header(b"x")}).digest == \
        hashlib.sha1(b"x").digest()
    for bad in ("md5 " + base64.b64encode(b"x" * 16).decode(), "sha1", "sha1 ***"):
        with pytest.raises(TusRefusal) as refused:
            protocol.checksum({"upload-checksum": bad})
        assert refused.value.status == 400


def test_offsets_and_lengths_are_non_negative_integers():
    assert protocol.upload_offset({"upload-offset": "5"}, 5) == 5
    for raw in ("-1", "1e3", "", " 5", "٥"):
        with pytest.raises(TusRefusal) as refused:
            protocol.upload_offset({"upload-offset": raw}, 5)
        assert refused.value.status == 400
    with pytest.raises(TusRefusal) as refused:
        protocol.upload_length({"upload-length": str(11)}, 10)
    assert refused.value.status == 413


def test_mp4_metadata_boxes_become_free_boxes_of_the_same_size():
    original = mp4(os.urandom(3000))
    redacted = b"".join(mp4meta.blanked(io.BytesIO(original), len(original)))
    assert len(redacted) == len(original)
    assert b"+39.9042" in original and b"+39.9042" not in redacted and b"Apple" not in redacted
    assert redacted[-3000:] == original[-3000:]  # the media data untouched, in place
    assert b"free" in redacted and b"udta" not in redacted
    with pytest.raises(mp4meta.Malformed):
        mp4meta.metadata_boxes(io.BytesIO(b"\0\0\0\x20ftypisom" + b"\xff" * 30), 42)


# --- the server ----------------------------------------------------------------------------------

def test_options_names_version_extensions_size_and_checksum(client):
    reply = client.options(URL)
    assert reply.status_code == 204
    assert reply.headers["tus-resumable"] == "1.0.0"
    assert reply.headers["tus-version"] == "1.0.0"
    assert set(reply.headers["tus-extension"].split(",")) == {
        "creation", "termination", "expiration", "checksum"}
    assert reply.headers["tus-max-size"] == str(8 << 20)
    assert reply.headers["tus-checksum-algorithm"] == "sha1"


def test_every_answer_says_tus_resumable_and_a_wrong_version_gets_412(client):
    reply = client.post(URL, headers={**auth(), "Tus-Resumable": "0.2.2", "Upload-Length": "5"})
    assert reply.status_code == 412 and reply.headers["tus-resumable"] == "1.0.0"
    assert reply.json()["detail"]["code"] == "tus_version_unsupported"
    assert reply.json()["detail"]["message_zh"]
    anonymous = client.post(URL, headers={**TUS, "Upload-Length": "5"})
    assert anonymous.status_code == 401 and anonymous.headers["tus-resumable"] == "1.0.0"


def test_only_the_media_team_and_the_county_office_create_uploads(client):
    assert create(client, 10, who=HANDLER).status_code == 403
    assert create(client, 10, who=CUSTODIAN).status_code == 403
    assert create(client, 10, who=COUNTY).status_code == 201


def test_an_upload_is_resumed_from_the_servers_offset(client):
    data = mp4(os.urandom(300_000))
    created = create(client, len(data))
    location = created.headers["location"]
    assert created.headers["upload-expires"].endswith("GMT")
    assert patch(client, location, 0, data[:100_000]).status_code == 204
    head = client.head(location, headers={**TUS, **auth()})
    assert head.status_code == 200
    assert head.headers["upload-offset"] == "100000"
    assert head.headers["upload-length"] == str(len(data))
    assert head.headers["cache-control"] == "no-store"
    assert "upload-expires" in head.headers
    assert protocol.metadata(head.headers["upload-metadata"])["filename"] == "clip.mp4"
    stale = patch(client, location, 0, data[:100_000])
    assert stale.status_code == 409 and stale.headers["upload-offset"] == "100000"
    done = patch(client, location, 100_000, data[100_000:])
    assert done.status_code == 204 and done.headers["upload-offset"] == str(len(data))
    assert done.headers["upload-sha256"] == hashlib.sha256(data).hexdigest()
    blobs = client.app.state.files.store
    assert b"".join(blobs.read(hashlib.sha256(data).hexdigest())) == data


def test_another_account_cannot_see_or_write_an_upload(client):
    location = create(client, 100).headers["location"]
    assert client.head(location, headers={**TUS, **auth(MEDIA2)}).status_code == 404
    assert patch(client, location, 0, b"x" * 10, who=MEDIA2).status_code == 404


def test_a_patch_with_another_content_type_gets_415(client):
    location = create(client, 100).headers["location"]
    reply = client.patch(location, content=b"x" * 10, headers={
        **TUS, **auth(), "Upload-Offset": "0", "Content-Type": "application/octet-stream"})
    assert reply.status_code == 415 and reply.headers["tus-resumable"] == "1.0.0"


def test_over_the_limit_gets_413_at_creation_before_any_byte_is_stored(client, tmp_path):
    before = sorted(p.name for p in (tmp_path / "uploads").iterdir())
    reply = create(client, (8 << 20) + 1)
    assert reply.status_code == 413 and reply.json()["detail"]["code"] == "file_too_large"
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == before
    location = create(client, 100).headers["location"]
    assert patch(client, location, 0, b"y" * 101).status_code == 413  # past Upload-Length


def test_a_wrong_checksum_gets_460_and_the_chunk_is_discarded(client):
    data = mp4(os.urandom(200_000))
    location = create(client, len(data)).headers["location"]
    first = data[:50_000]
    assert patch(client, location, 0, first,
                 **{"Upload-Checksum": sha1_header(first)}).status_code == 204
    wrong = patch(client, location, 50_000, data[50_000:120_000],
                  **{"Upload-Checksum": sha1_header(b"something else")})
    assert wrong.status_code == 460 and wrong.json()["detail"]["code"] == "checksum_mismatch"
    assert client.head(location, headers={**TUS, **auth()}).headers["upload-offset"] == "50000"
    rest = data[50_000:]
    done = patch(client, location, 50_000, rest, **{"Upload-Checksum": sha1_header(rest)})
    assert done.headers["upload-sha256"] == hashlib.sha256(data).hexdigest()


def test_an_executable_named_mp4_is_refused_and_removed(client, tmp_path):
    elf = b"\x7fELF\x02\x01\x01\x00" + os.urandom(200_000)
    location = create(client, len(elf), "clip.mp4").headers["location"]
    reply = patch(client, location, 0, elf)
    assert reply.status_code == 415
    assert reply.json()["detail"]["code"] == "unsupported_file_type"
    assert client.head(location, headers={**TUS, **auth()}).status_code == 404
    assert not (tmp_path / "uploads" / (location.rsplit("/", 1)[1] + ".part")).exists()


def test_termination_removes_an_unfinished_upload(client):
    location = create(client, 1000).headers["location"]
    assert client.delete(location, headers={**TUS, **auth()}).status_code == 204
    assert client.head(location, headers={**TUS, **auth()}).status_code == 404


def test_an_expired_upload_is_gone(client):
    location = create(client, 1000).headers["location"]
    store = client.app.state.uploads
    upload = store.get(location.rsplit("/", 1)[1])
    store.set_offset(upload.id, 0, 0)
    assert client.head(location, headers={**TUS, **auth()}).status_code == 410


def test_the_running_digest_survives_losing_the_gateways_memory(client):
    data = mp4(os.urandom(2_500_000))
    location = create(client, len(data)).headers["location"]
    assert patch(client, location, 0, data[:1_500_000]).status_code == 204
    store = client.app.state.uploads
    store._hashes.clear()  # as after a restart: only the store's offset and the partial file
    before = store.rehashed_bytes
    done = patch(client, location, 1_500_000, data[1_500_000:])
    assert done.headers["upload-sha256"] == hashlib.sha256(data).hexdigest()
    assert store.rehashed_bytes - before == 1_500_000


# --- exposure cases --------------------------------------------------------------------------------

def case_body(uploads, **extra):
    return {"title": "某镇便民服务中心工作时间无人值守", "description": "记者暗访发现窗口长时间无人。",
            "place": "盐山县某镇", "occurred_on": "2017-10-09", "occurred_at": "10:30",
            "uploads": uploads, **extra}


def test_a_case_becomes_a_media_exposure_clue_with_its_files_as_provenance(client, broker):
    photo = jpeg_with_gps()
    video = mp4(os.urandom(100_000))
    ids = [upload(client, photo, "现场.jpg"), upload(client, video, "暗访.mp4")]
    reply = client.post("/api/v1/exposure-cases", json=case_body(ids), headers=auth())
    assert reply.status_code == 201, reply.text
    case = reply.json()
    (event,) = [e for e in broker.events if getattr(e, "clue_id", None) == case["case_id"]]
    assert event.clue.channel == "media_exposure"
    assert event.clue.files == (hashlib.sha256(photo).hexdigest(),
                                hashlib.sha256(video).hexdigest())
    assert event.submitted_by == "media"
    # sealed original: GPS and all; the redacted copy: none
    photo_file = case["files"][0]
    for who in (MEDIA, COUNTY, CUSTODIAN):
        got = client.get(f"/api/v1/exposure-cases/{case['case_id']}/files/"
                         f"{photo_file['sha256']}", headers=auth(who))
        assert got.status_code == 200 and got.content == photo
        assert Image.open(io.BytesIO(got.content)).getexif().get_ifd(GPS)
    redacted = client.get(f"/api/v1/exposure-cases/{case['case_id']}/files/"
                          f"{photo_file['sha256']}?copy=redacted", headers=auth()).content
    assert not Image.open(io.BytesIO(redacted)).getexif().get_ifd(GPS)
    assert hashlib.sha256(redacted).hexdigest() == photo_file["redacted_sha256"]
    video_file = case["files"][1]
    clean = client.get(f"/api/v1/exposure-cases/{case['case_id']}/files/"
                       f"{video_file['sha256']}?copy=redacted", headers=auth()).content
    assert video_file["redacted_sha256"], (video_file, client.app.state.uploads.get(video_file["upload_id"]))
    assert b"+39.9042" in video and b"+39.9042" not in clean and len(clean) == len(video)
    # the redacted copies are tied to the problem; others never get the original here
    assert client.get(f"/api/v1/exposure-cases/{case['case_id']}",
                      headers=auth(HANDLER)).status_code == 403
    index = client.app.state.files.index
    assert ("problem", case["problem_id"]) in index.refs(photo_file["sha256"])
    # a file belongs to one case
    again = client.post("/api/v1/exposure-cases", json=case_body(ids[:1]), headers=auth())
    assert again.status_code == 422


def test_a_case_names_only_finished_uploads_of_its_own_author(client):
    unfinished = create(client, 1000).headers["location"].rsplit("/", 1)[1]
    reply = client.post("/api/v1/exposure-cases", json=case_body([unfinished]), headers=auth())
    assert reply.status_code == 422 and reply.json()["detail"]["code"] == "upload_not_complete"
    others = upload(client, mp4(b"x" * 1000), who=MEDIA2)
    reply = client.post("/api/v1/exposure-cases", json=case_body([others]), headers=auth())
    assert reply.status_code == 422 and reply.json()["detail"]["code"] == "unknown_file"
    assert client.post("/api/v1/exposure-cases", json=case_body([]),
                       headers=auth(COUNTY)).status_code == 403


def test_a_partial_file_shorter_than_its_offset_sets_the_offset_back(client, tmp_path):
    data = mp4(os.urandom(200_000))
    location = create(client, len(data)).headers["location"]
    assert patch(client, location, 0, data[:150_000]).status_code == 204
    part = tmp_path / "uploads" / (location.rsplit("/", 1)[1] + ".part")
    with open(part, "r+b") as f:  # as if the machine lost the last bytes before the disk had them
        f.truncate(120_000)
    assert client.head(location, headers={**TUS, **auth()}).headers["upload-offset"] == "120000"
    done = patch(client, location, 120_000, data[120_000:])
    assert done.headers["upload-sha256"] == hashlib.sha256(data).hexdigest()


# --- completion on either blob store ----------------------------------------------------------

@pytest.fixture(params=["folder", "s3"])
def blobs(request, tmp_path_factory):
    from gateway.files.store import FolderStore

    tmp = tmp_path_factory.mktemp("blobs")
    if request.param == "folder":
        yield FolderStore(tmp / "blobs")
        return
    import boto3
    from moto import mock_aws

    from gateway.files.s3 import S3Store

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="evidence")
        yield S3Store(s3, "evidence", tmp / "spool")


def test_a_finished_video_is_stored_sealed_and_redacted_on_either_store(blobs, tmp_path_factory):
    from sqlalchemy import create_engine

    from gateway.files.index import FileIndex
    from gateway.uploads import complete
    from gateway.uploads.store import UploadStore

    tmp = tmp_path_factory.mktemp("finish")
    engine = create_engine(f"sqlite:///{tmp / 'g.db'}")
    uploads, index = UploadStore(engine, tmp / "uploads"), FileIndex(engine)
    uploads.create_schema()
    index.create_schema()
    video = mp4(os.urandom(2_000_000))
    upload = uploads.create("media", len(video), {"filename": "v.mp4"}, 3600)
    uploads.path(upload.id).write_bytes(video)
    digest = hashlib.sha256(video).hexdigest()
    assert complete.finish(upload, digest, uploads, blobs, index, 30_000_000) is None
    assert not uploads.path(upload.id).exists()
    done = complete.redact_video(upload.id, uploads, blobs, index)
    assert b"".join(blobs.read(digest)) == video  # the sealed original, byte for byte
    clean = b"".join(blobs.read(done.redacted_sha256))
    assert len(clean) == len(video) and b"+39.9042" not in clean
    assert index.find(digest)[0].redacted_sha256 == done.redacted_sha256
