"""What a finished upload becomes (上传完成): sniffed, moved into the blob store, given its
redacted copy and indexed. Runs on a worker thread (blocking file work).

- Typed by content (``gateway.files.sniff``), never by the name the client gave: anything
  outside the allow-list (an executable named ``.mp4`` too) is refused and removed.
- The original is moved into the blob store as it is (byte for byte, metadata and all):
  the **sealed** original (原件封存).
- The **redacted** copy (脱敏副本): an image re-encoded without EXIF/XMP (location, camera
  serial gone; ``gateway.files.redact``); an MP4/MOV video with its metadata boxes and
  its timed-metadata and subtitle tracks' samples blanked in place
  (``gateway.uploads.mp4meta``), made after the upload's last answer (``redact_video``, or
  when a case names it first); a video whose structure cannot be walked gets no copy
  (``withheld``: only the sealed readers and the uploader see it). Documents are kept as
  they are (as ``POST /api/v1/files`` does): their own metadata is not stripped yet.
"""
from __future__ import annotations

import os
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gateway.files.index import UPLOADER, FileIndex, FileRecord
from gateway.files.redact import Unreadable, redact_image
from gateway.files.sniff import HEAD_BYTES, FileType, sniff
from gateway.files.store import Blob, BlobStore, FolderStore, _fsync_dir
from gateway.uploads import mp4meta
from gateway.uploads.protocol import TusRefusal
from gateway.uploads.store import Upload, UploadStore

COPY_CHUNK = 1 << 20


def unsupported() -> TusRefusal:
    return TusRefusal(415, "unsupported_file_type",
                      "The file's content is not an accepted type (JPEG, PNG, WebP, PDF, Word, "
                      "Excel, PowerPoint, MP4, MOV), whatever its name says; the upload was "
                      "removed.",
                      "文件内容不属于允许的类型(JPEG、PNG、WebP、PDF、Word、Excel、PowerPoint、"
                      "MP4、MOV),与文件名无关;该上传已删除。")


def check_type(head: bytes, length: int, max_image_bytes: int) -> FileType:
    """The file's type from its first bytes; 415 for anything else, 413 for an image over
    the image limit (images are decoded in memory to be re-encoded)."""
    kind = sniff(head)
    if kind is None:
        raise unsupported()
    if kind.is_image and length > max_image_bytes:
        raise TusRefusal(413, "file_too_large",
                         f"An image may have at most {max_image_bytes} bytes.",
                         f"图片不得超过 {max_image_bytes} 字节。")
    return kind


def read_head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(HEAD_BYTES)


@dataclass(frozen=True)
class Finished:
    record: FileRecord
    withheld: bool


def finish(upload: Upload, sha256: str, uploads: UploadStore, blobs: BlobStore,
           index: FileIndex, max_image_bytes: int) -> Finished | None:
    """The upload's file typed, stored and (but for a video) redacted and indexed. A video's
    redacted copy is a second pass over the whole file (3.4 s per 500 MB on the shared
    machine): it is left to ``redact_video`` (``None`` is answered), run after the answer."""
    part = uploads.path(upload.id)
    kind = check_type(read_head(part), upload.length, max_image_bytes)
    redacted = None
    if kind.is_image:
        try:
            redacted = _store_bytes(blobs, redact_image(part.read_bytes(), kind.extension))
        except Unreadable:
            raise TusRefusal(422, "unreadable_file", "The image cannot be read; the upload "
                             "was removed.", "无法读取该图片,该上传已删除。") from None
    _fsync(part)
    original = adopt(blobs, part, sha256, upload.length)
    if kind.kind == "video":
        uploads.complete(upload, sha256=original.sha256, media_type=kind.media_type,
                         kind=kind.kind)
        return None
    redacted = redacted or original
    return _index(upload, uploads, index, original, redacted, kind.media_type, kind.kind,
                  withheld=False)


def _index(upload, uploads, index, original: Blob, redacted: Blob, media_type, kind,
           withheld: bool) -> Finished:
    record = FileRecord(sha256=original.sha256, media_type=media_type, kind=kind,
                        size=original.size, redacted_sha256=redacted.sha256,
                        redacted_size=redacted.size, filename=upload.filename)
    index.record(record, [(UPLOADER, upload.owner)])
    uploads.complete(upload, sha256=original.sha256, media_type=media_type, kind=kind,
                     redacted_sha256=redacted.sha256, redacted_size=redacted.size,
                     withheld=withheld)
    return Finished(record, withheld)


_redacting: dict[str, threading.Lock] = {}
_redacting_guard = threading.Lock()


def redact_video(upload_id: str, uploads: UploadStore, blobs: BlobStore,
                 index: FileIndex) -> Upload | None:
    """Make a finished video's redacted copy if it has none yet (once, whoever asks first:
    the job queued at completion, or a case naming the upload, e.g. after a restart)."""
    with _redacting_guard:
        lock = _redacting.setdefault(upload_id, threading.Lock())
    with lock:
        upload = uploads.get(upload_id)
        if upload is None or upload.kind != "video" or upload.redacted_sha256 \
                or upload.withheld:
            return upload
        original = Blob(upload.sha256, upload.length)
        try:
            with _seekable(blobs, upload.sha256) as f:
                redacted = _store_chunks(blobs, mp4meta.blanked(f, upload.length))
            withheld = False
        except mp4meta.Malformed:
            redacted, withheld = original, True
        _index(upload, uploads, index, original, redacted, upload.media_type, upload.kind,
               withheld)
    with _redacting_guard:
        _redacting.pop(upload_id, None)
    return uploads.get(upload_id)


@contextmanager
def _seekable(blobs: BlobStore, sha256: str):
    """The blob as a seekable file: in place in a folder store, else spooled to disk."""
    if isinstance(blobs, FolderStore):
        with open(blobs.path(sha256), "rb") as f:
            yield f
        return
    with tempfile.TemporaryFile() as f:
        for chunk in blobs.read(sha256):
            f.write(chunk)
        f.seek(0)
        yield f


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def adopt(blobs: BlobStore, part: Path, sha256: str, size: int) -> Blob:
    """The partial file becomes the blob named ``sha256``: renamed into a folder store (no
    copy), streamed into any other."""
    if isinstance(blobs, FolderStore):
        target = blobs.path(sha256)
        if target.exists():
            part.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, target)
            _fsync_dir(target.parent)
        return Blob(sha256, size)
    with open(part, "rb") as f:
        blob = _store_chunks(blobs, iter(lambda: f.read(COPY_CHUNK), b""))
    if blob.sha256 != sha256:
        raise RuntimeError(f"upload {part.name} hashed {blob.sha256} on its way in, not {sha256}")
    part.unlink()
    return blob


def _store_bytes(blobs: BlobStore, data: bytes) -> Blob:
    return _store_chunks(blobs, iter([data]))


def _store_chunks(blobs: BlobStore, chunks) -> Blob:
    writer = blobs.writer()
    try:
        for chunk in chunks:
            writer.write(chunk)
        return writer.commit()
    except BaseException:
        writer.abort()
        raise
