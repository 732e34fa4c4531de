"""Exposure cases (曝光案例) of the media team (县委宣传部 行动小组): a clue on channel
``media_exposure`` (新闻媒体曝光) with its photos, videos and documents.

The files are uploaded first, resumably (``/api/v1/uploads``, tus 1.0); the case names
the finished uploads by id. The case goes in as any clue does (``gateway.routes.clues``:
the door's channel rules, ``Idempotency-Key``, the broker's confirm), carrying the files'
SHA-256 as provenance (``ClueFields.files``), which the ledger writes into the problem's
registration entry of its hash chain. The gateway keeps the case (fields, files, who)
in its store.

Who sees what: the **sealed** originals (byte for byte, metadata and all) only the media
team, the county office and the custodian (``SEALED_READERS`` here); everyone the ledger
shows the problem sees the **redacted** copies through ``GET /api/v1/files/{sha256}``
(files are tied to the problem). A video whose redacted copy is withheld is not tied to
the problem: nobody else sees it until it can be redacted.
"""
from __future__ import annotations

import json
import time
import urllib.parse
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text, select
from sqlalchemy.dialects import postgresql, sqlite
from starlette.concurrency import run_in_threadpool

from contracts.events import problem_id_for
from gateway.auth.guards import Principal, allow
from gateway.auth.roles import Role
from gateway.errors import problem
from gateway.files.index import PROBLEM
from gateway.idempotency import scope_of
from gateway.routes.clues import ClueIn, accept_clue, idempotency_key_of, refuse_unacceptable
from gateway.uploads.complete import redact_video
from gateway.uploads.store import COMPLETE, USED, UploadStore

CHANNEL = "media_exposure"
CREATORS = (Role.MEDIA,)
SEALED_READERS = (Role.MEDIA, Role.COUNTY_OFFICE, Role.CUSTODIAN)

metadata = MetaData()
cases = Table(
    "exposure_cases", metadata,
    Column("id", String(64), primary_key=True),          # the clue's id
    Column("problem_id", String(64), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("fields", Text, nullable=False),               # JSON
    Column("files", Text, nullable=False),                # JSON list
)


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=2, max_length=200, description="标题")
    description: str = Field(min_length=5, max_length=5000, description="问题描述")
    subject_unit: str | None = Field(None, max_length=64, description="被曝光单位 code")
    category: str | None = Field(None, max_length=64, description="问题类别 code")
    kind: str | None = Field(None, max_length=64, description="不作为/乱作为/慢作为 code")
    place: str | None = Field(None, max_length=200, description="地点")
    occurred_on: date | None = Field(None, description="发生日期")
    occurred_at: str | None = Field(None, max_length=40, description="时间 (e.g. 14:30)")
    uploads: list[Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]] = Field(
        default_factory=list, description="finished upload ids 已完成上传的编号")


@asynccontextmanager
async def lifespan(app):
    await run_in_threadpool(metadata.create_all, app.state.accounts.engine)
    yield


router = APIRouter(prefix="/api/v1/exposure-cases", tags=["exposure 媒体曝光"],
                   lifespan=lifespan)


def describe_file(upload) -> dict:
    return {"upload_id": upload.id, "filename": upload.filename, "kind": upload.kind,
            "media_type": upload.media_type, "size": upload.length,
            "sha256": upload.sha256, "redacted_sha256": None if upload.withheld
            else upload.redacted_sha256, "redacted_withheld": upload.withheld}


@router.post("", status_code=201, dependencies=[allow(*CREATORS)],
             summary="提交曝光案例 · Submit an exposure case")
async def create_case(case: CaseIn, request: Request) -> dict:
    """A case with its finished uploads becomes a clue on 新闻媒体曝光 (``Idempotency-Key``
    makes a retry return the first answer). Answers the case (= clue) id, the problem id it
    will be registered under and the receipt code."""
    principal: Principal = request.state.principal
    state = request.app.state
    key = idempotency_key_of(request)
    max_files = state.settings.exposure_max_files
    if len(case.uploads) > max_files or len(set(case.uploads)) != len(case.uploads):
        raise problem(422, "too_many_files", f"At most {max_files} distinct files per case.",
                      f"每个案例最多 {max_files} 个不同的文件。", "uploads")
    clue = ClueIn(channel=CHANNEL, **case.model_dump(exclude={"uploads", "occurred_at"}))
    refuse_unacceptable(clue, state.campaign, principal)
    store: UploadStore = state.uploads
    uploads = []
    for i, upload_id in enumerate(case.uploads):
        upload = await run_in_threadpool(store.get, upload_id)
        if upload is None or upload.owner != principal.username:
            raise problem(422, "unknown_file", f"No upload {upload_id} of yours.",
                          "未找到您的该项上传。", f"uploads[{i}]")
        if upload.state not in (COMPLETE, USED):
            raise problem(422, "upload_not_complete", f"Upload {upload_id} is not complete "
                          f"({upload.offset} of {upload.length} bytes).",
                          f"该文件尚未上传完成(已收到 {upload.offset}/{upload.length} 字节)。",
                          f"uploads[{i}]")
        if upload.kind == "video":  # its redacted copy made (or being made: waited for)
            upload = await run_in_threadpool(
                redact_video, upload.id, store, state.files.store, state.files.index)
        uploads.append(upload)
    # a file is evidence of one case only; a keyed retry of the same case may name it again
    retry_id = (state.idempotency.keyed(scope_of(principal), key,
                                        clue.model_dump_json().encode()).clue_id
                if key else None)
    for i, upload in enumerate(uploads):
        if upload.state == USED and upload.case_id != retry_id:
            raise problem(422, "unknown_file", "This upload is already part of another case.",
                          "该文件已属于另一曝光案例。", f"uploads[{i}]")
    files = [describe_file(u) for u in uploads]
    answer = await accept_clue(state, principal, clue, key,
                               files=tuple(u.sha256 for u in uploads))
    problem_id = problem_id_for(answer.clue_id)
    await run_in_threadpool(_record, state, answer.clue_id, problem_id, principal.username,
                            case, files, uploads)
    return {"case_id": answer.clue_id, "clue_id": answer.clue_id, "problem_id": problem_id,
            "receipt_code": answer.receipt_code, "channel": CHANNEL, "files": files}


def _record(state, case_id, problem_id, username, case: CaseIn, files, uploads) -> None:
    engine = state.accounts.engine
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.begin() as conn:
        conn.execute(insert(cases).values(
            id=case_id, problem_id=problem_id, created_by=username,
            created_at=int(time.time()),
            fields=case.model_dump_json(exclude={"uploads"}),
            files=json.dumps(files, ensure_ascii=False)).on_conflict_do_nothing())
    state.uploads.mark_used([u.id for u in uploads], case_id)
    shown = [u.sha256 for u in uploads if not u.withheld]
    state.files.index.link(shown, PROBLEM, problem_id)


CaseId = Annotated[str, Path(max_length=64, pattern=r"^[0-9a-zA-Z_-]+$")]


def _load(engine, case_id: str) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(select(cases).where(cases.c.id == case_id)).mappings().first()
    if row is None:
        return None
    return {"case_id": row["id"], "problem_id": row["problem_id"],
            "created_by": row["created_by"], "created_at": row["created_at"],
            "channel": CHANNEL, **json.loads(row["fields"]), "files": json.loads(row["files"])}


def _list(engine, limit: int) -> list[dict]:
    with engine.connect() as conn:
        ids = list(conn.execute(select(cases.c.id).order_by(cases.c.created_at.desc())
                                .limit(limit)).scalars())
    return [_load(engine, i) for i in ids]


@router.get("", dependencies=[allow(*SEALED_READERS)],
            summary="曝光案例列表 · Exposure cases")
async def list_cases(request: Request, limit: int = 100) -> dict:
    """The newest cases first (at most ``limit``, ≤ 500)."""
    return {"cases": await run_in_threadpool(_list, request.app.state.accounts.engine,
                                             max(1, min(limit, 500)))}


@router.get("/{case_id}", dependencies=[allow(*SEALED_READERS)],
            summary="曝光案例 · An exposure case")
async def get_case(case_id: CaseId, request: Request) -> dict:
    found = await run_in_threadpool(_load, request.app.state.accounts.engine, case_id)
    if found is None:
        raise problem(404, "not_found", "No such case.", "未找到该曝光案例。")
    return found


@router.get("/{case_id}/files/{sha256}", dependencies=[allow(*SEALED_READERS)],
            summary="案例文件(原件或脱敏副本) · A case's file, sealed or redacted",
            response_class=StreamingResponse)
async def case_file(case_id: CaseId, sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")],
                    request: Request,
                    copy: Literal["original", "redacted"] = "original") -> StreamingResponse:
    """The sealed original (default) or the redacted copy of one of the case's files."""
    found = await run_in_threadpool(_load, request.app.state.accounts.engine, case_id)
    item = next((f for f in (found or {}).get("files", []) if f["sha256"] == sha256), None)
    chosen = item and (item["sha256"] if copy == "original" else item["redacted_sha256"])
    if not chosen:
        raise problem(404, "not_found", "No such file in this case (or no redacted copy yet).",
                      "该案例中没有此文件(或尚无脱敏副本)。")
    blobs = request.app.state.files.store
    size = await run_in_threadpool(blobs.size, chosen)
    return StreamingResponse(blobs.read(chosen), media_type=item["media_type"], headers={
        "Content-Length": str(size), "X-Content-SHA256": chosen, "X-File-Copy": copy,
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
        "Content-Disposition": "attachment; filename*=UTF-8''"
                               + urllib.parse.quote(item["filename"])})
