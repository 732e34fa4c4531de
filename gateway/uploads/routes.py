"""Resumable uploads over tus 1.0 (断点续传): ``/api/v1/uploads``.

``OPTIONS`` says what the server offers; ``POST`` creates an upload (``Upload-Length``,
``Upload-Metadata``: ``filename``); ``HEAD`` tells how many bytes the server has;
``PATCH`` appends bytes at that offset (``application/offset+octet-stream``, optionally
``Upload-Checksum: sha1 …``); ``DELETE`` removes an unfinished upload. Every answer carries
``Tus-Resumable: 1.0.0`` (``TusHeaders``, also on the guards' 401/403). Only the media team
and the county office create uploads; an upload is seen by its owner only (others 404).

The body streams to a partial file in ``FLUSH_BYTES`` pieces written and hashed (SHA-256
over the whole file, SHA-1 over the chunk when a checksum is given) on a worker thread;
nothing holds a file in memory. When the last byte arrives the file is typed by content,
moved into the blob store and given its redacted copy (``gateway.uploads.complete``); the
final PATCH and later HEADs name its SHA-256 in ``Upload-SHA256`` (also
``X-Content-SHA256``) so the client can check it.
"""
from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from gateway.auth.guards import Principal, allow
from gateway.auth.roles import Role
from gateway.files.sniff import HEAD_BYTES
from gateway.uploads import complete, protocol
from gateway.uploads.protocol import BASE_HEADERS, TusRefusal
from gateway.uploads.store import COMPLETE, OPEN, PERSIST_EVERY, Upload, UploadStore

log = logging.getLogger("gateway.uploads")

PREFIX = "/api/v1/uploads"
UPLOADERS = (Role.MEDIA, Role.COUNTY_OFFICE)
FLUSH_BYTES = 4 << 20
UploadId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="upload id 上传编号")]
Uploader = Annotated[Principal, allow(*UPLOADERS)]


class TusHeaders:
    """``Tus-Resumable`` on every answer under ``/api/v1/uploads``, whoever answers."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            return await self.app(scope, receive, send)

        async def tagged(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"tus-resumable"]
                message = {**message, "headers": [*headers, (b"tus-resumable", b"1.0.0")]}
            await send(message)

        await self.app(scope, receive, tagged)


@asynccontextmanager
async def lifespan(app):
    settings = app.state.settings
    store = UploadStore(app.state.accounts.engine, settings.data_dir / "uploads")
    await run_in_threadpool(store.create_schema)
    app.state.uploads = store
    app.state.upload_locks = {}
    app.state.redaction = ThreadPoolExecutor(1, thread_name_prefix="redact")
    try:
        yield
    finally:
        app.state.redaction.shutdown(wait=False, cancel_futures=True)


router = APIRouter(prefix=PREFIX, tags=["uploads 断点续传"], lifespan=lifespan)


def refused(exc: TusRefusal) -> HTTPException:
    return HTTPException(exc.status, detail={"code": exc.code, "message": exc.message,
                                             "message_zh": exc.message_zh},
                         headers={**BASE_HEADERS, **exc.headers})


def not_found() -> HTTPException:
    return HTTPException(404, detail={"code": "not_found", "message": "No such upload, or not "
                                      "yours.", "message_zh": "未找到该上传或无权访问。"},
                         headers=BASE_HEADERS)


def _settings(request: Request):
    return request.app.state.settings


async def owned(request: Request, principal: Principal, upload_id: str) -> Upload:
    store: UploadStore = request.app.state.uploads
    upload = await run_in_threadpool(store.get, upload_id)
    if upload is None or upload.owner != principal.username:
        raise not_found()
    if upload.expired(time.time()):
        await run_in_threadpool(store.remove, upload_id)
        raise refused(TusRefusal(410, "upload_expired", "The upload expired and was removed; "
                                 "start it again.", "该上传已过期并被清除,请重新上传。"))
    return await run_in_threadpool(store.reconciled, upload)


def state_headers(upload: Upload) -> dict[str, str]:
    headers = {**BASE_HEADERS, "Upload-Offset": str(upload.offset),
               "Upload-Length": str(upload.length), "Cache-Control": "no-store"}
    if upload.metadata:
        headers["Upload-Metadata"] = protocol.encode_metadata(upload.metadata)
    if upload.state == OPEN:
        headers["Upload-Expires"] = protocol.expires_header(upload.expires_at)
    if upload.sha256:
        headers["Upload-SHA256"] = headers["X-Content-SHA256"] = upload.sha256
    return headers


@router.options("", dependencies=[allow(Role.PUBLIC)], status_code=204,
                summary="断点续传能力 · What the tus server offers")
@router.options("/{upload_id}", dependencies=[allow(Role.PUBLIC)], status_code=204,
                include_in_schema=False)
async def capabilities(request: Request) -> Response:
    """``Tus-Version``, ``Tus-Extension``, ``Tus-Max-Size``, ``Tus-Checksum-Algorithm``."""
    return Response(status_code=204,
                    headers=protocol.options_headers(_settings(request).tus_max_bytes))


@router.post("", status_code=201, summary="创建上传 · Create a resumable upload", responses={
    412: {"description": "Tus-Resumable is not 1.0.0 — `tus_version_unsupported`"},
    413: {"description": "Upload-Length over Tus-Max-Size — `file_too_large`"}})
async def create(request: Request, principal: Uploader) -> Response:
    """tus creation: ``Upload-Length`` (at most ``Tus-Max-Size``, checked before any byte is
    stored) and ``Upload-Metadata`` (``filename``). Answers 201 with ``Location``."""
    settings = _settings(request)
    store: UploadStore = request.app.state.uploads
    try:
        protocol.check_version(request.headers)
        length = protocol.upload_length(request.headers, settings.tus_max_bytes)
        meta = protocol.metadata(request.headers.get("upload-metadata"))
    except TusRefusal as exc:
        raise refused(exc) from None
    await run_in_threadpool(store.sweep, time.time())
    if await run_in_threadpool(store.open_count, principal.username) \
            >= settings.tus_max_open_uploads:
        raise refused(TusRefusal(429, "too_many_uploads",
                                 f"At most {settings.tus_max_open_uploads} unfinished uploads; "
                                 "finish or delete some first.",
                                 f"未完成的上传最多 {settings.tus_max_open_uploads} 个,"
                                 "请先完成或删除。"))
    if "filename" in meta:
        from gateway.files.intake import clean_filename

        meta["filename"] = clean_filename(meta["filename"])
    upload = await run_in_threadpool(store.create, principal.username, length, meta,
                                     settings.tus_expiry_seconds)
    log.info("upload %s created by %s: %d bytes", upload.id, principal.username, length)
    return Response(status_code=201, headers={
        **BASE_HEADERS, "Location": f"{PREFIX}/{upload.id}", "Upload-Offset": "0",
        "Upload-Expires": protocol.expires_header(upload.expires_at)})


@router.head("/{upload_id}", summary="查询上传进度 · How many bytes the server has")
async def head(upload_id: UploadId, request: Request, principal: Uploader) -> Response:
    """``Upload-Offset`` and ``Upload-Length`` (never cached), ``Upload-Expires`` while
    unfinished, ``Upload-SHA256`` once finished."""
    try:
        protocol.check_version(request.headers)
    except TusRefusal as exc:
        raise refused(exc) from None
    upload = await owned(request, principal, upload_id)
    return Response(status_code=200, headers=state_headers(upload))


@router.delete("/{upload_id}", status_code=204, summary="终止上传 · Terminate an upload")
async def terminate(upload_id: UploadId, request: Request, principal: Uploader) -> Response:
    """tus termination: an unfinished or unused upload is removed (a file already part of
    a case stays: 409)."""
    try:
        protocol.check_version(request.headers)
    except TusRefusal as exc:
        raise refused(exc) from None
    upload = await owned(request, principal, upload_id)
    if upload.state not in (OPEN, COMPLETE):
        raise refused(TusRefusal(409, "upload_busy", "The file is part of a case and stays.",
                                 "该文件已属于曝光案例,不能删除。"))
    if request.app.state.upload_locks.get(upload_id, asyncio.Lock()).locked():
        raise refused(busy())
    await run_in_threadpool(request.app.state.uploads.remove, upload_id)
    return Response(status_code=204, headers=BASE_HEADERS)


def busy() -> TusRefusal:
    return TusRefusal(409, "upload_busy", "Another request is writing this upload; ask with "
                      "HEAD and retry shortly.", "该文件正在由另一请求上传,请稍后查询后重试。",
                      {"Retry-After": "1"})


@router.patch("/{upload_id}", status_code=204, summary="续传字节 · Append bytes", responses={
    409: {"description": "Upload-Offset is not the server's — `upload_offset_mismatch`"},
    412: {"description": "Tus-Resumable is not 1.0.0 — `tus_version_unsupported`"},
    415: {"description": "not application/offset+octet-stream — `unsupported_media_type`; "
                         "content not an accepted type — `unsupported_file_type`"},
    460: {"description": "Upload-Checksum mismatch, chunk discarded — `checksum_mismatch`"}},
    openapi_extra={"requestBody": {"required": True, "content": {
        protocol.OFFSET_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}}}})
async def append(upload_id: UploadId, request: Request, principal: Uploader) -> Response:
    """tus core PATCH at ``Upload-Offset``; with ``Upload-Checksum: sha1 <base64>`` the chunk
    is kept only if it matches (460 otherwise, offset unchanged)."""
    try:
        protocol.check_version(request.headers)
        protocol.check_patch_content_type(request.headers)
    except TusRefusal as exc:
        raise refused(exc) from None
    upload = await owned(request, principal, upload_id)
    locks: dict[str, asyncio.Lock] = request.app.state.upload_locks
    lock = locks.setdefault(upload_id, asyncio.Lock())
    if lock.locked():
        raise refused(busy())
    async with lock:
        try:
            return await _append(request, upload_id)
        except TusRefusal as exc:
            raise refused(exc) from None
        finally:
            locks.pop(upload_id, None)


async def _append(request: Request, upload_id: str) -> Response:
    store: UploadStore = request.app.state.uploads
    settings = _settings(request)
    upload = await run_in_threadpool(store.get, upload_id)  # again, under the lock
    if upload is None:
        raise TusRefusal(404, "not_found", "No such upload.", "未找到该上传。")
    upload = await run_in_threadpool(store.reconciled, upload)
    protocol.upload_offset(request.headers, upload.offset)
    checksum = protocol.checksum(request.headers)
    declared = request.headers.get("content-length")
    if upload.state != OPEN:  # finished: nothing more to take
        if declared not in (None, "0"):
            raise TusRefusal(409, "upload_offset_mismatch", "The upload is complete.",
                             "该上传已完成。", {"Upload-Offset": str(upload.offset)})
        return Response(status_code=204, headers=state_headers(upload))
    if declared and declared.isdigit() and upload.offset + int(declared) > upload.length:
        raise TusRefusal(413, "too_large", "The chunk goes past Upload-Length.",
                         "数据块超出声明的文件长度。")
    receiver = Receiver(store, upload, checksum, settings.upload_max_image_bytes)
    await run_in_threadpool(receiver.open)
    try:
        try:
            async for chunk in request.stream():
                await receiver.feed(chunk)
        except ClientDisconnect:
            await run_in_threadpool(receiver.interrupted)
            log.info("upload %s: connection lost at %d bytes", upload_id, receiver.offset)
            return Response(status_code=400, headers=BASE_HEADERS)
        await run_in_threadpool(receiver.close)
    except TusRefusal as exc:
        await run_in_threadpool(receiver.abandon, exc)
        raise
    except BaseException:
        await run_in_threadpool(receiver.interrupted)
        raise
    upload.offset = receiver.offset
    upload.expires_at = receiver.expires_at
    if upload.offset == upload.length:
        try:
            finished = await run_in_threadpool(
                complete.finish, upload, receiver.running.digest.hexdigest(), store,
                request.app.state.files.store, request.app.state.files.index,
                settings.upload_max_image_bytes)
        except TusRefusal:
            await run_in_threadpool(store.remove, upload_id)
            raise
        upload = await run_in_threadpool(store.get, upload_id)
        log.info("upload %s complete: %s (%s)", upload_id, upload.sha256, upload.media_type)
        if finished is None:  # a video: its redacted copy after this answer, one at a time
            request.app.state.redaction.submit(
                complete.redact_video, upload_id, store, request.app.state.files.store,
                request.app.state.files.index)
    return Response(status_code=204, headers=state_headers(upload))


class Receiver:
    """One PATCH's bytes into the partial file. Blocking methods run on a worker thread."""

    def __init__(self, store: UploadStore, upload: Upload, checksum, max_image_bytes: int):
        self.store, self.upload, self.checksum = store, upload, checksum
        self.max_image_bytes = max_image_bytes
        self.start = self.offset = self.persisted = upload.offset
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.expires_at = upload.expires_at
        self.ttl = upload.expires_at - upload.created_at
        self.file = None
        self.running = None
        self.chunk_hash = checksum.hasher() if checksum else None
        self.sniffed = upload.offset >= min(HEAD_BYTES, upload.length)

    def open(self) -> None:
        kept = self.store.running_hash(self.upload)
        # with a checksum the chunk may be refused: hash on a copy until it is checked
        self.running = type(kept)(kept.offset, kept.digest.copy()) if self.checksum else kept
        self.file = open(self.store.path(self.upload.id), "r+b")
        self.file.seek(self.offset)
        self.file.truncate(self.offset)

    async def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self.offset + self.pending_bytes + len(chunk) > self.upload.length:
            raise TusRefusal(413, "too_large", "The chunk goes past Upload-Length.",
                             "数据块超出声明的文件长度。")
        self.pending.append(chunk)
        self.pending_bytes += len(chunk)
        if self.pending_bytes >= FLUSH_BYTES:
            await run_in_threadpool(self._write, self._take())

    def _take(self) -> bytes:
        data = b"".join(self.pending)
        self.pending, self.pending_bytes = [], 0
        return data

    def _write(self, data: bytes) -> None:
        self.file.write(data)
        self.running.digest.update(data)
        if self.chunk_hash is not None:
            self.chunk_hash.update(data)
        self.offset += len(data)
        self.running.offset = self.offset
        if not self.sniffed and self.offset >= min(HEAD_BYTES, self.upload.length):
            self.file.flush()
            complete.check_type(complete.read_head(self.store.path(self.upload.id)),
                                self.upload.length, self.max_image_bytes)
            self.sniffed = True
        if self.checksum is None and self.offset - self.persisted >= PERSIST_EVERY:
            self._persist()

    def _persist(self) -> None:
        self.file.flush()
        self.expires_at = int(time.time()) + self.ttl
        self.store.set_offset(self.upload.id, self.offset, self.expires_at)
        self.persisted = self.offset

    def close(self) -> None:
        """The body ended: the rest written, the checksum checked, the offset stored."""
        if self.pending:
            self._write(self._take())
        if self.checksum is not None and self.chunk_hash.digest() != self.checksum.digest:
            raise protocol.checksum_mismatch()
        self._persist()
        if self.checksum is not None:
            self.store.keep_hash(self.upload.id, self.running)
        self.file.close()

    def interrupted(self) -> None:
        """The client went away: keep what arrived (without a checksum to check it against),
        or drop the chunk (with one)."""
        if self.checksum is not None:
            self._roll_back()
            return
        if self.pending:
            self._write(self._take())
        self._persist()
        self.file.close()

    def abandon(self, exc: TusRefusal) -> None:
        if exc.code == "unsupported_file_type" or exc.code == "file_too_large":
            self.file.close()
            self.store.remove(self.upload.id)  # refused by content: nothing kept
            return
        self._roll_back()

    def _roll_back(self) -> None:
        """Back to the offset the PATCH started from; the kept digest still covers it."""
        self.file.truncate(self.start)
        self.file.close()
        if self.checksum is None:
            self.store.forget_hash(self.upload.id)
