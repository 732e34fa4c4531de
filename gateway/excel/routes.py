"""Excel as county offices work: lists as .xlsx/.csv, offline clues from an .xlsx template.

Exports take the list endpoint's own filters and roles; the service scopes the rows to the
caller exactly as it scopes the list (a unit's handler exports its own unit only). A new
list gets its export with one call to ``gateway.excel.export.export_response``.
"""
from __future__ import annotations

import asyncio
import hashlib
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from gateway.auth.guards import PrincipalDep, allow
from gateway.auth.roles import Role
from gateway.broker import BrokerUnavailable
from gateway.errors import problem
from gateway.excel import clue_import
from gateway.excel.export import MEDIA_TYPES, export_response
from gateway.excel.lists import (
    keyset_pages, missing_and_late, missing_work_plan_columns, one_page, problem_columns,
    work_plan_columns,
)
from gateway.routes.clues import accept_clue
from gateway.routes.problems import READERS, SUPERVISING, ProblemFilters, actor

router = APIRouter(prefix="/api/v1", tags=["Excel 表格导出与导入"])

R = Role
Fmt = Annotated[Literal["xlsx", "csv"], Path(description="xlsx or csv")]
IMPORT_ROLES = (R.COUNTY_OFFICE, R.SUPERVISOR, R.INVITED_SUPERVISOR)
PAGE_TIMEOUT = 60.0
SUBMIT_AT_ONCE = 64
EXPORT_DOC = {"responses": {"200": {"description": "the list as a file (表格文件)", "content": {
    MEDIA_TYPES["xlsx"]: {}, MEDIA_TYPES["csv"]: {}}}}}


@router.get("/problems.{fmt}", dependencies=[allow(*READERS)], openapi_extra=EXPORT_DOC,
            response_class=Response)
async def export_problems(fmt: Fmt, request: Request, principal: PrincipalDep,
                          filters: ProblemFilters) -> Response:
    """台账导出: the problems this caller may see (the filters of ``GET /problems``),
    newest first, as .xlsx or .csv (UTF-8 with BOM); streamed page by page."""
    broker, who = request.app.state.broker, actor(principal)

    async def fetch(after, limit):
        return await broker.call("ledger", "list_problems", actor=who, limit=limit, offset=0,
                                 filters={**filters, "after": after} if after else filters,
                                 timeout=PAGE_TIMEOUT)

    return await export_response(fmt, name="problems", name_zh="问题台账",
                                 columns=problem_columns(request.app.state.campaign),
                                 pages=keyset_pages(fetch))


@router.get("/work-plans.{fmt}", openapi_extra=EXPORT_DOC, response_class=Response,
            dependencies=[allow(R.COUNTY_OFFICE, R.SUPERVISOR, R.UNIT_HANDLER)])
async def export_work_plans(fmt: Fmt, request: Request, principal: PrincipalDep) -> Response:
    """清理工作方案导出: the work plans this caller may see, as .xlsx or .csv."""
    broker, who = request.app.state.broker, actor(principal)

    async def fetch():
        return await broker.call("ledger", "list_work_plans", actor=who, timeout=PAGE_TIMEOUT)

    return await export_response(fmt, name="work-plans", name_zh="清理工作方案",
                                 columns=work_plan_columns(request.app.state.campaign),
                                 pages=one_page(fetch))


@router.get("/work-plans/missing.{fmt}", openapi_extra=EXPORT_DOC, response_class=Response,
            dependencies=[allow(*SUPERVISING)])
async def export_missing_work_plans(
        fmt: Fmt, request: Request, principal: PrincipalDep,
        phase: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """未报送、逾期报送清理工作方案的单位, as .xlsx or .csv (the phase as ``GET
    /work-plans/missing``)."""
    broker, who = request.app.state.broker, actor(principal)

    async def fetch():
        return missing_and_late(await broker.call("ledger", "missing_work_plans", actor=who,
                                                  phase=phase, timeout=PAGE_TIMEOUT))

    return await export_response(fmt, name="missing-work-plans", name_zh="未按时报送工作方案单位",
                                 columns=missing_work_plan_columns(request.app.state.campaign),
                                 pages=one_page(fetch))


@router.get("/clues/import-template.xlsx", dependencies=[allow(*IMPORT_ROLES)],
            response_class=Response,
            openapi_extra={"responses": {"200": {"content": {MEDIA_TYPES["xlsx"]: {}}}}})
async def clue_import_template(request: Request, principal: PrincipalDep) -> Response:
    """线索导入模板: the .xlsx to fill with clues collected offline (问卷调查, 座谈会,
    实地走访, 特邀监督员 …), with lists of the channels this caller may use."""
    body = await asyncio.to_thread(clue_import.template, request.app.state.campaign, principal)
    return Response(body, media_type=MEDIA_TYPES["xlsx"], headers={
        "Content-Disposition": "attachment; filename=\"clue-import-template.xlsx\"; "
                               "filename*=UTF-8''%E7%BA%BF%E7%B4%A2%E5%AF%BC%E5%85%A5"
                               "%E6%A8%A1%E6%9D%BF.xlsx",
        "Cache-Control": "no-store"})


async def uploaded_file(request: Request) -> tuple[bytes, bool]:
    """The workbook, a multipart form's ``file`` field or the raw body, and whether a form
    asked to import the valid rows (its field ``import_valid_rows``)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        return await request.body(), False
    async with request.form(max_files=1, max_fields=4) as form:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise problem(422, "import_file_missing", "send the workbook in the form field "
                          "'file'", "请在表单中上传工作簿文件", "file")
        valid_rows = str(form.get("import_valid_rows", "")).lower() in ("true", "1", "on")
        return await upload.read(clue_import.MAX_FILE_BYTES + 1), valid_rows


@router.post("/clues/import", dependencies=[allow(*IMPORT_ROLES)], openapi_extra={
    "requestBody": {"required": True, "content": {
        MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary"}}}}}}})
async def import_clues(request: Request, principal: PrincipalDep,
                       import_valid_rows: bool = False) -> JSONResponse:
    """线索批量导入: each row of the filled template is validated as a clue from the form.
    Any refused row: 422 with every refusal (row, column, bilingual message) and nothing
    imported, unless ``import_valid_rows=true``, which imports the others. Importing the
    same file again creates nothing twice (each row's Idempotency-Key and clue id are
    derived from the file's SHA-256 and the row number). 202 with each row's clue id."""
    data, asked_in_form = await uploaded_file(request)
    import_valid_rows = import_valid_rows or asked_in_form
    state = request.app.state
    rows = await asyncio.to_thread(clue_import.read_rows, data)
    valid, errors = await asyncio.to_thread(clue_import.check_rows, rows, state.campaign,
                                            principal)
    if not rows:
        raise problem(422, "import_empty", "the template holds no clue",
                      "模板中没有填写线索", "file")
    if errors and not import_valid_rows:
        exc = problem(422, "import_rows_refused",
                      f"{len({e['row'] for e in errors})} of {len(rows)} rows were refused; "
                      "nothing was imported", f"共 {len(rows)} 行,其中 "
                      f"{len({e['row'] for e in errors})} 行有误,未导入任何线索", "file")
        exc.detail.update(rows=len(rows), errors=errors)
        raise exc
    digest = hashlib.sha256(data).hexdigest()
    imported = await submit_rows(state, principal, digest, valid)
    return JSONResponse(status_code=202, content={
        "file_sha256": digest, "rows": len(rows), "imported": imported, "errors": errors,
        "status_zh": f"已导入 {len(imported)} 条线索" + (
            f",{len({e['row'] for e in errors})} 行有误未导入" if errors else "")})


def imported_clue_id(digest: str, row: int) -> str:
    """The clue a file's row becomes, whoever imports it and however long after: intake and
    the ledger apply a clue once by its id, so a file imported again, also after the
    Idempotency-Key records expired or by another account, creates nothing twice."""
    return hashlib.sha256(f"clue-import\0{digest}\0{row}".encode()).hexdigest()[:32]


async def submit_rows(state, principal, digest: str, valid: list) -> list[dict]:
    """Each row through the clue route's idempotent submission, a batch at a time."""
    imported = []
    for start in range(0, len(valid), SUBMIT_AT_ONCE):
        batch = valid[start:start + SUBMIT_AT_ONCE]
        try:
            answers = await asyncio.gather(*(
                accept_clue(state, principal, clue, f"import:{digest}:{row}",
                            clue_id=imported_clue_id(digest, row))
                for row, clue in batch))
        except (BrokerUnavailable, HTTPException) as exc:
            if isinstance(exc, HTTPException) and exc.status_code != 503:
                raise
            raise problem(503, "import_interrupted", "the import was interrupted; some rows "
                          "may be in. Import the same file again: nothing is created twice",
                          "导入中断,部分线索可能已导入;请重新导入同一文件,已导入的不会重复") from None
        imported += [{"row": row, "clue_id": a.clue_id} for (row, _), a in zip(batch, answers)]
    return imported
