"""Evidence and documents as files (佐证材料文件): upload and download.

``POST /api/v1/files`` streams the body (raw with an ``X-Filename`` header, or
``multipart/form-data``) to the blob store; ``GET /api/v1/files/{sha256}`` streams a file
back, checking its digest as it goes and the caller's right to see it.
"""
from __future__ import annotations

import logging
import urllib.parse
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from gateway.auth.guards import PrincipalDep, allow
from gateway.auth.principal import Principal
from gateway.auth.roles import Role
from gateway.errors import problem
from gateway.files import access
from gateway.files.index import PROBLEM, UNIT, UPLOADER, FileIndex, FileRecord
from gateway.files.intake import Limits, Refused, receive, too_large
from gateway.files.store import BlobStore, FolderStore

log = logging.getLogger("gateway.files")

R = Role
UPLOADERS = (R.UNIT_HANDLER, R.SUPERVISOR, R.COUNTY_OFFICE, R.SPOT_CHECK, R.MEDIA)
READERS = (*UPLOADERS, R.CUSTODIAN)
Digest = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="SHA-256 (文件摘要)")]


@dataclass
class Files:
    store: BlobStore
    index: FileIndex
    limits: Limits


def make_store(settings) -> BlobStore:
    """The configured blob store: ``BLOB_STORE=folder`` (``DATA_DIR/blobs``) or ``s3``."""
    if settings.blob_store == "s3":
        from gateway.files.s3 import S3Store

        return S3Store.connect(endpoint_url=settings.s3_endpoint_url, bucket=settings.s3_bucket,
                               access_key=settings.s3_access_key,
                               secret_key=settings.s3_secret_key, region=settings.s3_region,
                               spool_dir=settings.data_dir / "blob-spool")
    return FolderStore(settings.data_dir / "blobs")


@asynccontextmanager
async def lifespan(app):
    settings = app.state.settings
    index = FileIndex(app.state.accounts.engine)
    await run_in_threadpool(index.create_schema)
    app.state.files = Files(make_store(settings), index, Limits(
        settings.upload_max_bytes, settings.upload_max_image_bytes, settings.upload_max_files))
    yield


router = APIRouter(prefix="/api/v1", tags=["files 文件"], lifespan=lifespan)


def _refusal(exc: Refused):
    return problem(exc.status, exc.code, exc.message, exc.message_zh)


def describe(record: FileRecord, problem_id: str | None) -> dict:
    return {"filename": record.filename, "kind": record.kind, "problem_id": problem_id,
            "original": {"sha256": record.sha256, "media_type": record.media_type,
                         "size": record.size},
            "redacted": {"sha256": record.redacted_sha256, "media_type": record.media_type,
                         "size": record.redacted_size}}


BINARY = {"type": "string", "format": "binary"}
UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": BINARY},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "array", "items": BINARY}}}}}}}
SERVICE_ERRORS = {status: {"description": text} for status, text in (
    (502, "A service failed 后台服务出错"), (503, "A service is unavailable 服务暂不可用"),
    (504, "A service did not answer in time 后台服务响应超时"))}


@router.post("/files", status_code=201, dependencies=[allow(*UPLOADERS)],
             summary="上传佐证材料文件 · Upload evidence files",
             openapi_extra=UPLOAD_BODY, responses={
                 404: {"description": "`problem_id` names no problem visible to the caller"},
                 415: {"description": "Not an accepted type by content 文件类型不允许 — code: "
                                      "`unsupported_file_type`"},
                 **SERVICE_ERRORS})
async def upload(request: Request, principal: PrincipalDep,
                 problem_id: Annotated[str | None, Query(max_length=64)] = None) -> dict:
    """Upload evidence or a document: the raw body with ``X-Filename`` (percent-encoded), or
    ``multipart/form-data``. Typed by content (JPEG, PNG, WebP, PDF, Word, Excel,
    PowerPoint, MP4, MOV); an image's original is sealed (county office and custodian only)
    and everyone else sees a copy re-encoded without metadata (location gone). Answers each
    file's original and redacted SHA-256, type and size. ``problem_id`` ties the files to a
    problem the caller may see."""
    return {"files": await take_upload(request, principal, problem_id)}


async def take_upload(request: Request, principal: Principal,
                      problem_id: str | None = None) -> list[dict]:
    """Store every file of this request's body for ``principal`` (``describe`` of each);
    refusals are bilingual ``HTTPException``s. Reusable by any route that takes files (the
    workbench's forms): it reads ``request.stream()``, never the whole body."""
    files: Files = request.app.state.files
    if problem_id and not await access.sees_problem(request.app.state.broker, principal,
                                                    problem_id):
        raise problem(404, "not_found", "No such problem, or not visible to you.",
                      "未找到该问题或无权查看。", "problem_id")
    declared = request.headers.get("content-length", "")
    raw = not request.headers.get("content-type", "").startswith("multipart/")
    if raw and declared.isdigit() and int(declared) > files.limits.max_bytes:
        raise _refusal(too_large(files.limits.max_bytes))
    try:
        records = await receive(request.headers, request.stream(), files.store, files.limits)
    except Refused as exc:
        raise _refusal(exc) from None
    await remember(request, principal, records, problem_id)
    return [describe(r, problem_id) for r in records]


async def remember(request: Request, principal: Principal, records: list[FileRecord],
                   problem_id: str | None = None) -> None:
    """Index stored files as the uploader's (and their unit's, and the problem's, if any)."""
    files: Files = request.app.state.files
    refs = [(UPLOADER, principal.username)]
    refs += [(UNIT, principal.org_code)] if principal.org_code else []
    refs += [(PROBLEM, problem_id)] if problem_id else []
    for record in records:
        await run_in_threadpool(files.index.record, record, refs)


@router.get("/files/{sha256}", dependencies=[allow(*READERS)],
            summary="下载文件 · Download a file",
            response_class=StreamingResponse, responses={
                200: {"description": "the file's bytes; `X-Content-SHA256` names them, "
                                     "`X-File-Copy` says original or redacted",
                      "content": {"application/octet-stream": {"schema": BINARY}}},
                **SERVICE_ERRORS})
async def download(sha256: Digest, request: Request, principal: PrincipalDep,
                   copy: Literal["original", "redacted"] | None = None) -> StreamingResponse:
    """A file's bytes, digest-checked as they stream. The county office and the custodian
    get what the digest names (``copy`` picks); everyone else who may see the file gets its
    redacted copy, and anyone who may not see it 404."""
    files: Files = request.app.state.files
    record = await access.visible(request, principal, files.index, sha256)
    wants_original = copy == "original" or (copy is None and record is not None
                                            and sha256 == record.sha256)
    if record is None or (copy == "original" and not access.sees_original(principal)):
        raise problem(404, "not_found", "No such file, or not visible to you.",
                      "未找到该文件或无权查看。")
    original = wants_original and access.sees_original(principal)
    chosen = record.sha256 if original else record.redacted_sha256
    size = record.size if original else record.redacted_size
    stored = await run_in_threadpool(files.store.size, chosen)
    if stored != size:
        raise RuntimeError(f"blob {chosen} is missing or has {stored} bytes, not {size}")
    disposition = "inline" if record.kind == "image" else "attachment"
    return StreamingResponse(_logged(files.store.read(chosen), chosen),
                             media_type=record.media_type, headers={
        "Content-Length": str(size), "ETag": f'"{chosen}"', "X-Content-SHA256": chosen,
        "X-File-Copy": "original" if original or not record.sealed else "redacted",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
        "Content-Disposition": f"{disposition}; filename*=UTF-8''"
                               + urllib.parse.quote(record.filename)})


def _logged(chunks, sha256: str):
    try:
        yield from chunks
    except Exception:
        log.error("blob %s failed its digest check while streaming; the answer was cut", sha256)
        raise
