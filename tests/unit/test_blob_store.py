"""The blob store's contract, on the folder store and on the S3 store (against moto's fake
S3: no MinIO runs here), and the pieces of an upload: sniffing by content, redaction."""
from __future__ import annotations

import asyncio
import hashlib
import io
import os

import pytest
from PIL import Image

from gateway.files.intake import Incoming, Limits, Refused
from gateway.files.redact import Unreadable, redact_image
from gateway.files.sniff import sniff
from gateway.files.store import DigestMismatch, FolderStore, TooLarge, blob_key

GPS = 0x8825


@pytest.fixture(params=["folder", "s3"])
def store(request, tmp_path):
    if request.param == "folder":
        yield FolderStore(tmp_path / "blobs")
        return
    import boto3
    from moto import mock_aws

    from gateway.files.s3 import S3Store

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="evidence")
        yield S3Store(client, "evidence", tmp_path / "spool")


def put(store, data: bytes, chunk: int = 7, max_bytes: int | None = None):
    writer = store.writer(max_bytes=max_bytes)
    for i in range(0, len(data), chunk):
        writer.write(data[i:i + chunk])
    return writer.commit()


def leftovers(store) -> list[str]:
    """Temporary files the store left behind (folder: blobs/tmp; S3: the spool)."""
    folder = store.root / "tmp" if isinstance(store, FolderStore) else store.spool_dir
    return os.listdir(folder) if folder.exists() else []


def tamper(store, sha256: str, data: bytes) -> None:
    if isinstance(store, FolderStore):
        store.path(sha256).write_bytes(data)
    else:
        store.client.put_object(Bucket=store.bucket, Key=store.key(sha256), Body=data)


def test_a_blob_written_in_chunks_is_named_by_its_sha256_and_reads_back_whole(store):
    data = os.urandom(100_003)
    blob = put(store, data, chunk=4096)
    assert blob.sha256 == hashlib.sha256(data).hexdigest() and blob.size == len(data)
    assert store.exists(blob.sha256) and store.size(blob.sha256) == len(data)
    assert b"".join(store.read(blob.sha256, chunk_size=1000)) == data
    assert leftovers(store) == []


def test_the_folder_store_keeps_a_blob_under_two_levels_of_its_digest(tmp_path):
    store = FolderStore(tmp_path)
    blob = put(store, b"evidence")
    assert (tmp_path / blob.sha256[:2] / blob.sha256[2:4] / blob.sha256).read_bytes() == b"evidence"
    assert blob_key(blob.sha256) == f"{blob.sha256[:2]}/{blob.sha256[2:4]}/{blob.sha256}"


def test_the_same_bytes_written_twice_are_stored_once(store):
    first, second = put(store, b"same photo"), put(store, b"same photo", chunk=3)
    assert first == second and store.exists(first.sha256) and leftovers(store) == []


def test_a_write_past_the_limit_is_refused_and_leaves_no_partial_file(store):
    writer = store.writer(max_bytes=10)
    writer.write(b"0123456789")
    with pytest.raises(TooLarge):
        writer.write(b"x")
    assert leftovers(store) == []
    assert not store.exists(hashlib.sha256(b"0123456789x").hexdigest())


def test_an_aborted_write_leaves_nothing(store):
    writer = store.writer()
    writer.write(b"half a file")
    writer.abort()
    assert leftovers(store) == [] and not store.exists(hashlib.sha256(b"half a file").hexdigest())


def test_a_blob_altered_in_storage_never_reads_back_whole(store):
    data = b"A" * 5000
    blob = put(store, data)
    tamper(store, blob.sha256, b"B" * 5000)
    received = []
    with pytest.raises(DigestMismatch):
        for chunk in store.read(blob.sha256, chunk_size=1000):
            received.append(chunk)
    assert sum(map(len, received)) < len(data)  # the last chunk was held back


def test_an_absent_blob_is_not_found(store):
    absent = "0" * 64
    assert not store.exists(absent) and store.size(absent) is None
    with pytest.raises(FileNotFoundError):
        b"".join(store.read(absent))


def test_a_deleted_blob_is_gone(store):
    blob = put(store, b"to delete")
    store.delete(blob.sha256)
    assert not store.exists(blob.sha256)


def test_the_s3_store_creates_its_bucket_on_first_connect(tmp_path):
    import boto3
    from moto import mock_aws

    from gateway.files.s3 import S3Store

    with mock_aws():
        store = S3Store.connect(endpoint_url=None, bucket="fresh", access_key="k",
                                secret_key="s", region="us-east-1", spool_dir=tmp_path)
        blob = put(store, b"first file")
        names = [b["Name"] for b in boto3.client("s3", region_name="us-east-1")
                 .list_buckets()["Buckets"]]
        assert names == ["fresh"] and store.exists(blob.sha256)


# --- sniffing by content --------------------------------------------------------------------

def jpeg_with_gps(orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[GPS] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 50.0)}
    exif[0x010F] = "PhoneMaker"
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.mark.parametrize("head", [b"\x7fELF\x02\x01\x01\x00" + b"\0" * 200,
                                  b"MZ\x90\x00\x03" + b"\0" * 200,
                                  b"#!/bin/sh\nrm -rf /\n", b"<html><script>x</script></html>"])
def test_executables_and_scripts_are_not_an_accepted_type_whatever_their_name(head):
    assert sniff(head) is None


def test_images_documents_and_video_are_known_by_their_first_bytes():
    png = io.BytesIO()
    Image.new("RGB", (2, 2)).save(png, "PNG")
    mp4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\0" * 64
    found = {sniff(data).media_type for data in (jpeg_with_gps(), png.getvalue(),
                                                 b"%PDF-1.7\n" + b"0" * 64, mp4)}
    assert found == {"image/jpeg", "image/png", "application/pdf", "video/mp4"}


def test_a_docx_is_known_as_word_and_a_plain_zip_is_refused():
    import zipfile

    docx, plain = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    with zipfile.ZipFile(plain, "w") as z:
        z.writestr("payload.bin", "x")
    assert sniff(docx.getvalue()).extension == "docx"
    assert sniff(plain.getvalue()) is None


# --- redaction ------------------------------------------------------------------------------

def test_a_redacted_image_has_no_gps_or_camera_and_stands_the_right_way_up():
    original = jpeg_with_gps(orientation=6)  # "rotate 90°": 40x30 shows as 30x40
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS)
    clean = Image.open(io.BytesIO(redact_image(original, "jpg")))
    assert dict(clean.getexif()) == {} and clean.size == (30, 40)
    assert b"PhoneMaker" not in redact_image(original, "jpg")


def test_bytes_that_claim_to_be_an_image_but_do_not_decode_are_unreadable():
    with pytest.raises(Unreadable):
        redact_image(b"\xff\xd8\xff\xe0" + b"\0" * 100, "jpg")


# --- one incoming file ----------------------------------------------------------------------

def receive(store, data: bytes, limits: Limits, chunk: int = 10_000):
    async def arrive():
        incoming = Incoming(store, limits, "x.jpg")
        try:
            for i in range(0, len(data), chunk):
                await incoming.feed(data[i:i + chunk])
            return await incoming.finish()
        finally:
            incoming.abort()
    return asyncio.run(arrive())


def test_an_incoming_image_keeps_its_original_sealed_and_a_redacted_copy(tmp_path):
    store = FolderStore(tmp_path)
    original = jpeg_with_gps()
    record = receive(store, original, Limits(10**6, 10**6, 10))
    assert record.sha256 == hashlib.sha256(original).hexdigest() and record.sealed
    assert b"".join(store.read(record.sha256)) == original
    redacted = b"".join(store.read(record.redacted_sha256))
    assert not Image.open(io.BytesIO(redacted)).getexif().get_ifd(GPS)


def test_an_incoming_file_over_its_types_limit_is_refused_413_and_nothing_stays(tmp_path):
    store = FolderStore(tmp_path)
    big_pdf = b"%PDF-1.7\n" + os.urandom(300_000)
    with pytest.raises(Refused) as refused:
        receive(store, big_pdf, Limits(max_bytes=200_000, max_image_bytes=10**6, max_files=1))
    assert refused.value.status == 413 and refused.value.code == "file_too_large"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_an_image_has_a_lower_limit_than_other_files(tmp_path):
    with pytest.raises(Refused) as refused:
        receive(FolderStore(tmp_path), jpeg_with_gps() + b"\0" * 5000,
                Limits(max_bytes=10**6, max_image_bytes=1000, max_files=1))
    assert refused.value.status == 413


def test_an_incoming_executable_named_jpg_is_refused_415_before_anything_is_stored(tmp_path):
    with pytest.raises(Refused) as refused:
        receive(FolderStore(tmp_path), b"\x7fELF\x02\x01\x01" + os.urandom(200_000),
                Limits(10**6, 10**6, 1))
    assert refused.value.status == 415 and refused.value.code == "unsupported_file_type"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
