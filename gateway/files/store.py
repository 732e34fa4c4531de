"""The blob store (文件存储): files named by their SHA-256, behind one small interface.

A ``BlobStore`` hands out a ``BlobWriter`` that is fed chunks as they arrive (a request body,
later a resumable upload's pieces), hashes them as it goes and refuses the chunk that would
carry it past ``max_bytes`` (``TooLarge``, the partial data removed). ``commit()`` names the
blob by its digest; writing the same bytes twice stores them once. Reading streams chunks and
checks the digest as it goes: the last chunk is held back until the digest is checked, so a
blob whose bytes changed on disk never reaches a caller whole (``DigestMismatch``).

``FolderStore`` (the default, tested here) keeps ``<root>/ab/cd/<sha256>``: each blob is
written to a temporary file under ``<root>/tmp``, fsynced, renamed into place atomically and
its folder fsynced, so a crash leaves either the whole blob or none (and at worst a stray
temporary file). ``gateway.files.s3.S3Store`` keeps the same names in an S3 bucket.
"""
from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

CHUNK = 1 << 20
DIGEST = re.compile(r"^[0-9a-f]{64}$")


class TooLarge(Exception):
    """The bytes crossed the writer's limit; nothing was stored (超过大小上限)."""

    def __init__(self, max_bytes: int):
        super().__init__(f"more than {max_bytes} bytes")
        self.max_bytes = max_bytes


class DigestMismatch(Exception):
    """A stored blob's bytes no longer hash to its name (文件摘要不符)."""


@dataclass(frozen=True)
class Blob:
    sha256: str
    size: int


class BlobWriter(Protocol):
    size: int

    def write(self, chunk: bytes) -> None: ...
    def commit(self) -> Blob: ...
    def abort(self) -> None: ...


class BlobStore(Protocol):
    def writer(self, max_bytes: int | None = None) -> BlobWriter: ...
    def exists(self, sha256: str) -> bool: ...
    def size(self, sha256: str) -> int | None: ...
    def read(self, sha256: str, chunk_size: int = CHUNK) -> Iterator[bytes]: ...
    def delete(self, sha256: str) -> None: ...


def blob_key(sha256: str) -> str:
    """``ab/cd/abcd…``: two levels of 256 folders keep any one folder small."""
    if not DIGEST.match(sha256):
        raise ValueError("a blob is named by 64 lowercase hexadecimal digits")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def verified(chunks: Iterator[bytes], sha256: str) -> Iterator[bytes]:
    """Pass ``chunks`` on, holding the last one back until the whole digest is checked."""
    digest = hashlib.sha256()
    held: bytes | None = None
    for chunk in chunks:
        if not chunk:
            continue
        digest.update(chunk)
        if held is not None:
            yield held
        held = chunk
    if digest.hexdigest() != sha256:
        raise DigestMismatch(f"blob {sha256} does not match its digest")
    if held is not None:
        yield held


class SpoolWriter:
    """Chunks to a temporary file, hashed as they arrive; what to do on commit is the store's."""

    def __init__(self, tmp_dir: Path, max_bytes: int | None):
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self.path = tmp_dir / f"{uuid.uuid4().hex}.part"
        self._file = open(self.path, "xb")
        self._digest = hashlib.sha256()
        self._max = max_bytes
        self.size = 0

    def write(self, chunk: bytes) -> None:
        if self._max is not None and self.size + len(chunk) > self._max:
            self.abort()
            raise TooLarge(self._max)
        self._file.write(chunk)
        self._digest.update(chunk)
        self.size += len(chunk)

    def finish(self) -> Blob:
        """Flush and fsync the temporary file; the blob it will become."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return Blob(self._digest.hexdigest(), self.size)

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


class FolderWriter(SpoolWriter):
    def __init__(self, root: Path, max_bytes: int | None):
        super().__init__(root / "tmp", max_bytes)
        self._root = root

    def commit(self) -> Blob:
        blob = self.finish()
        target = self._root / blob_key(blob.sha256)
        if target.exists():  # the same bytes again: stored once
            self.path.unlink()
            return blob
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, target)
        _fsync_dir(target.parent)
        return blob


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FolderStore:
    """Blobs in a folder (默认存储): ``<root>/ab/cd/<sha256>``, written atomically."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def writer(self, max_bytes: int | None = None) -> FolderWriter:
        return FolderWriter(self.root, max_bytes)

    def path(self, sha256: str) -> Path:
        return self.root / blob_key(sha256)

    def exists(self, sha256: str) -> bool:
        return DIGEST.match(sha256) is not None and self.path(sha256).is_file()

    def size(self, sha256: str) -> int | None:
        try:
            return self.path(sha256).stat().st_size
        except (FileNotFoundError, ValueError):
            return None

    def read(self, sha256: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        """The blob's bytes, checked against its name as they stream (``DigestMismatch``)."""
        path = self.path(sha256)
        if not path.is_file():
            raise FileNotFoundError(sha256)
        return verified(_chunks(path, chunk_size), sha256)

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)


def _chunks(path: Path, chunk_size: int) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            yield chunk
