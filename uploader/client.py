"""A plain tus 1.0 client (断点续传客户端) over httpx: create, HEAD, PATCH with a SHA-1 checksum
per chunk, resume from the server's offset, retry network errors with backoff.

Nothing here knows the gateway's routes but the tus endpoint's URL; ``uploader.cli`` adds
signing in and the exposure case.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import httpx

TUS = {"Tus-Resumable": "1.0.0"}
RETRY_STATUSES = {408, 423, 429, 500, 502, 503, 504}
SLICE = 256 << 10  # progress is reported every slice of a chunk sent


class Refused(Exception):
    """The server refused (4xx): its code and both languages; retrying will not help."""

    def __init__(self, status: int, code: str, message: str, message_zh: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.message_zh = status, code, message, message_zh

    @classmethod
    def of(cls, reply: httpx.Response) -> "Refused":
        try:
            detail = reply.json().get("detail", {})
        except ValueError:
            detail = {}
        if not isinstance(detail, dict):
            detail = {"message": json.dumps(detail, ensure_ascii=False)[:500]}
        return cls(reply.status_code, detail.get("code", f"http_{reply.status_code}"),
                   detail.get("message", reply.reason_phrase or "refused"),
                   detail.get("message_zh", "服务器拒绝了请求"))


class GaveUp(Exception):
    """The network kept failing after every retry."""


class DigestMismatch(Exception):
    """The server's SHA-256 of the file is not ours."""


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "yanshan-upload"


def file_key(path: Path, server: str) -> str:
    """One upload per file version and server: path, size, modification time, server."""
    st = path.stat()
    raw = f"{server}\0{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


class State:
    """A small JSON file per key under ``state_dir()``, written atomically."""

    def __init__(self, key: str, folder: Path | None = None):
        self.folder = folder or state_dir()
        self.path = self.folder / f"{key}.json"
        try:
            self.data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            self.data = {}

    def save(self, **values) -> None:
        self.data.update(values)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, ensure_ascii=False))
        os.replace(tmp, self.path)


def sha256_of(path: Path, progress: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 << 20):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


@dataclass
class Outcome:
    path: str
    url: str
    sha256: str
    size: int
    resumed_from: int
    sent: int = 0          # bytes sent this run (including chunks sent again)
    retries: int = 0
    upload_id: str = field(default="")


class Backoff:
    def __init__(self, retries: int, base: float = 0.5, cap: float = 20.0, sleep=time.sleep):
        self.retries, self.base, self.cap, self.sleep = retries, base, cap, sleep
        self.failures = 0

    def failed(self, why: str, report: Callable[[str], None]) -> None:
        self.failures += 1
        if self.failures > self.retries:
            raise GaveUp(why)
        delay = min(self.cap, self.base * 2 ** (self.failures - 1)) * (0.5 + random.random() / 2)
        report(f"网络错误,{delay:.1f} 秒后重试({self.failures}/{self.retries})· network "
               f"error ({why}); retrying in {delay:.1f} s ({self.failures}/{self.retries})")
        self.sleep(delay)

    def succeeded(self) -> None:
        self.failures = 0


class TusUploader:
    """Uploads one file to a tus endpoint, resuming where the server has it."""

    def __init__(self, http: httpx.Client, endpoint: str, *, chunk_size: int = 16 << 20,
                 retries: int = 10, checksum: bool = True,
                 progress: Callable[[int, int], None] = lambda position, sent: None,
                 report: Callable[[str], None] = lambda s: None, sleep=time.sleep,
                 reauth: Callable[[], None] | None = None):
        self.http, self.endpoint = http, endpoint
        self.reauth = reauth  # signs in again when a token ran out mid-upload (401)
        self.chunk_size, self.retries, self.checksum = chunk_size, retries, checksum
        self.progress, self.report, self.sleep = progress, report, sleep

    def upload(self, path: Path, state: State, sha256: str,
               metadata: dict[str, str]) -> Outcome:
        size = path.stat().st_size
        backoff = Backoff(self.retries, sleep=self.sleep)
        url = state.data.get("url")
        offset = None
        outcome = Outcome(str(path), url or "", sha256, size, 0)
        reauths = 0
        while True:
            try:
                if url:
                    offset, server_sha = self._head(url)
                    if offset is None:  # gone (expired, removed): start again
                        self.report(f"服务器上已无此上传,重新开始 · the server no longer has "
                                    f"this upload; starting again: {path.name}")
                        url = None
                        state.save(url=None, offset=0)
                        continue
                else:
                    url = self._create(size, metadata)
                    offset, server_sha = 0, None
                    state.save(url=url, offset=0, sha256=sha256, size=size, path=str(path))
                outcome.url = url
                if offset and not outcome.sent and not outcome.resumed_from:
                    outcome.resumed_from = offset  # what the server had before this run
                self.progress(offset, 0)
                while offset < size:
                    offset, server_sha = self._patch(url, path, offset, size, outcome)
                    state.save(offset=offset)
                    backoff.succeeded()
                break
            except Refused as exc:
                if exc.status != 401 or self.reauth is None or reauths >= 2:
                    raise
                reauths += 1
                self.report("登录已过期,重新登录 · the sign-in ran out; signing in again")
                self.reauth()
            except (httpx.TransportError, _Retry) as exc:
                outcome.retries += 1
                backoff.failed(type(exc).__name__ if not isinstance(exc, _Retry) else str(exc),
                               self.report)
        if server_sha is None:
            _, server_sha = self._head(url)
        state.save(offset=size, complete=True, server_sha256=server_sha)
        if server_sha != sha256:
            raise DigestMismatch(f"{path}: server has {server_sha}, the file is {sha256}")
        outcome.upload_id = url.rstrip("/").rsplit("/", 1)[-1]
        return outcome

    # --- requests ------------------------------------------------------------------------

    def _create(self, size: int, metadata: dict[str, str]) -> str:
        encoded = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}"
                           for k, v in metadata.items())
        reply = self.http.post(self.endpoint, headers={
            **TUS, "Upload-Length": str(size), "Upload-Metadata": encoded})
        self._check(reply, 201)
        return urljoin(self.endpoint, reply.headers["location"])

    def _head(self, url: str) -> tuple[int | None, str | None]:
        reply = self.http.head(url, headers=TUS)
        if reply.status_code in (404, 410):
            return None, None
        self._check(reply, 200)
        return int(reply.headers["upload-offset"]), reply.headers.get("upload-sha256")

    def _patch(self, url: str, path: Path, offset: int, size: int,
               outcome: Outcome) -> tuple[int, str | None]:
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read(min(self.chunk_size, size - offset))
        headers = {**TUS, "Content-Type": "application/offset+octet-stream",
                   "Upload-Offset": str(offset), "Content-Length": str(len(chunk))}
        if self.checksum:
            headers["Upload-Checksum"] = "sha1 " + base64.b64encode(
                hashlib.sha1(chunk).digest()).decode()

        def body():
            view = memoryview(chunk)
            for i in range(0, len(chunk), SLICE):
                piece = view[i:i + SLICE]
                yield bytes(piece)
                outcome.sent += len(piece)
                self.progress(offset + i + len(piece), len(piece))

        reply = self.http.patch(url, content=body(), headers=headers)
        if reply.status_code == 204:
            return int(reply.headers["upload-offset"]), reply.headers.get("upload-sha256")
        if reply.status_code == 460 or reply.status_code in RETRY_STATUSES:
            raise _Retry(f"HTTP {reply.status_code}")
        if reply.status_code == 409:  # another offset (or a request still writing): ask again
            raise _Retry("HTTP 409 offset")
        raise Refused.of(reply)

    @staticmethod
    def _check(reply: httpx.Response, expected: int) -> None:
        if reply.status_code == expected:
            return
        if reply.status_code in RETRY_STATUSES:
            raise _Retry(f"HTTP {reply.status_code}")
        raise Refused.of(reply)


class _Retry(Exception):
    pass
