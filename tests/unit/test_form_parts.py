"""A workbench form posted with its files (``receive_form``): fields kept, each file streamed
through the upload pipeline, a refused file reported by its input without stopping the rest."""
from __future__ import annotations

import asyncio
import io
import os

import httpx
from PIL import Image

from gateway.files.intake import FORM_MAX_FIELDS, Limits, Refused, receive_form
from gateway.files.store import FolderStore

GPS = 0x8825
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LIMITS = Limits(max_bytes=50_000, max_image_bytes=20_000, max_files=3)


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[GPS] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 50.0)}
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, "JPEG", exif=exif)
    return out.getvalue()


def post(store, data: list, files: list, limits: Limits = LIMITS, chunk: int = 997, **kw):
    fields: dict[str, list[str]] = {}
    for key, value in data:
        fields.setdefault(key, []).append(value)
    request = httpx.Request("POST", "http://x/", data=fields, files=files)
    body = request.read()

    async def arrive():
        for i in range(0, len(body), chunk):
            yield body[i:i + chunk]
    return asyncio.run(receive_form(request.headers, arrive(), store, limits, **kw))


def test_fields_and_files_arrive_together_each_file_stored_by_its_input(tmp_path):
    store = FolderStore(tmp_path)
    form = post(store, [("csrftoken", "t"), ("note", "已整改"), ("note", "第二段")], [
        ("file:evidence", ("照片.jpg", jpeg_with_gps(), "image/jpeg")),
        ("file:evidence", ("验收.pdf", PDF, "application/pdf"))])
    assert form.fields == [("csrftoken", "t"), ("note", "已整改"), ("note", "第二段")]
    assert [(n, r.filename, r.kind) for n, r in form.files] == [
        ("file:evidence", "照片.jpg", "image"), ("file:evidence", "验收.pdf", "document")]
    photo = form.files[0][1]
    assert photo.redacted_sha256 != photo.sha256 and store.exists(photo.redacted_sha256)
    assert not form.refused


def test_a_refused_file_is_named_and_the_rest_of_the_form_still_arrives(tmp_path):
    store = FolderStore(tmp_path)
    exe = b"MZ\x90\x00\x03" + b"\0" * 5000
    form = post(store, [("a", "1")], [
        ("file:evidence", ("photo.jpg", exe, "image/jpeg")),
        ("file:big", ("big.pdf", PDF + b"\0" * 60_000, "application/pdf")),
        ("file:evidence", ("ok.pdf", PDF, "application/pdf"))], **{})
    assert [(n, f, e.status) for n, f, e in form.refused] == [
        ("file:evidence", "photo.jpg", 415), ("file:big", "big.pdf", 413)]
    assert [r.filename for _, r in form.files] == ["ok.pdf"]
    assert form.fields == [("a", "1")]
    assert not (tmp_path / "tmp").exists() or not os.listdir(tmp_path / "tmp")


def test_more_files_than_the_limit_are_refused_one_by_one(tmp_path):
    form = post(FolderStore(tmp_path), [], [("f", (f"{i}.pdf", PDF + bytes([i]), "application/pdf"))
                                            for i in range(5)])
    assert len(form.files) == 3 and [e.code for _, _, e in form.refused] == ["too_many_files"] * 2


def test_a_form_that_takes_no_files_skips_them_unread(tmp_path):
    store = FolderStore(tmp_path)
    form = post(store, [("a", "1")], [("f", ("x.pdf", PDF, "application/pdf"))],
                takes_files=False)
    assert form.fields == [("a", "1")] and not form.files and not form.refused
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_too_many_or_too_long_fields_are_refused(tmp_path):
    store = FolderStore(tmp_path)
    try:
        post(store, [("a", "x")] * (FORM_MAX_FIELDS + 1), [("f", ("x.pdf", PDF, "application/pdf"))])
    except Refused as exc:
        assert exc.code == "too_large"
    else:
        raise AssertionError("not refused")
    try:
        post(store, [("a", "x" * 70_000)], [("f", ("x.pdf", PDF, "application/pdf"))])
    except Refused as exc:
        assert exc.code == "too_large"
    else:
        raise AssertionError("not refused")


def test_a_file_input_left_empty_is_skipped(tmp_path):
    """What a browser sends for a file input where nothing was chosen."""
    body = (b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'
            b'--b\r\nContent-Disposition: form-data; name="file:evidence"; filename=""\r\n'
            b'Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n')

    async def arrive():
        yield body
    form = asyncio.run(receive_form({"content-type": "multipart/form-data; boundary=b"},
                                    arrive(), FolderStore(tmp_path), LIMITS))
    assert form.fields == [("a", "1")] and not form.files and not form.refused
