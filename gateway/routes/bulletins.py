"""The monthly bulletin (月通报) over HTTP: the county office drafts and publishes; the county
office, supervising bodies and the spot-check team read what is published. A published
bulletin never changes (a second publication of its month: 409), its PDF's SHA-256 is a
chain entry in the ledger (``gateway/bulletins.py``)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from gateway import bulletins
from gateway.auth.guards import PrincipalDep, allow
from gateway.auth.roles import Role
from gateway.errors import problem
from kit import bulletin as rules

router = APIRouter(prefix="/api/v1/bulletins", tags=["bulletins 月通报"])
R = Role
READERS = (R.COUNTY_OFFICE, R.SUPERVISOR, R.SPOT_CHECK)
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
Month = Annotated[str, Path(max_length=7, pattern=MONTH)]


class BulletinIn(BaseModel):
    """What the county office chooses: the month, typical cases, the ranking threshold."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    month: str = Field(max_length=7, pattern=MONTH, description="统计月份 YYYY-MM")
    cases: list[Annotated[str, Field(max_length=64)]] = Field(
        [], max_length=20, description="典型案例: problem ids chosen by the county office")
    min_problems: int = Field(rules.MIN_PROBLEMS, ge=1, le=10_000,
                              description="units with fewer problems are listed apart, not ranked")
    reviewed: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description=(
        "the draft's digest as reviewed (from /draft): if the figures changed since, 409"))


def refused(exc: rules.BulletinRefused):
    status = {"conflict": 409, "not_found": 404, "forbidden": 403}.get(exc.status, 422)
    return problem(status, exc.code, str(exc), exc.message_zh, exc.field)


@router.post("/draft", dependencies=[allow(R.COUNTY_OFFICE)])
async def post_draft(request: Request, principal: PrincipalDep, body: BulletinIn) -> dict:
    """起草: the month's bulletin from the ledger's figures now (not stored)."""
    try:
        doc = await bulletins.draft(request, principal, body.month,
                                    min_problems=body.min_problems, cases=body.cases)
    except rules.BulletinRefused as exc:
        raise refused(exc) from None
    return {**doc.bulletin.to_dict(), "head": doc.head, "as_of": doc.as_of,
            "weeks": doc.weeks, "status": "draft", "digest": doc.bulletin.digest()}


@router.post("", status_code=201, dependencies=[allow(R.COUNTY_OFFICE)])
async def post_publish(request: Request, principal: PrincipalDep, body: BulletinIn) -> dict:
    """发布: print the PDF, keep it, and append its SHA-256 to the ledger's chain. Once per
    month: publishing a month again is refused (409) and nothing changes."""
    try:
        return await bulletins.publish(request, principal, body.month,
                                       min_problems=body.min_problems, cases=body.cases,
                                       reviewed=body.reviewed)
    except rules.BulletinRefused as exc:
        raise refused(exc) from None


@router.get("", dependencies=[allow(*READERS)])
async def list_published(request: Request, principal: PrincipalDep) -> dict:
    """The published bulletins, latest first (month, PDF SHA-256, chain seq, who, when)."""
    return await bulletins.listing(request, principal)


@router.get("/{month}", dependencies=[allow(*READERS)])
async def get_published(request: Request, principal: PrincipalDep, month: Month) -> dict:
    """One published bulletin with the figures it printed."""
    return await bulletins.published(request, principal, month)


@router.get("/{month}/pdf", dependencies=[allow(*READERS)],
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
async def get_pdf(request: Request, principal: PrincipalDep, month: Month) -> Response:
    """The published PDF, exactly the bytes whose SHA-256 the chain entry holds."""
    entry = await bulletins.published(request, principal, month)
    return await pdf_response(request, entry)


async def pdf_response(request: Request, entry: dict) -> Response:
    digest = entry["pdf_sha256"]
    store = request.app.state.files.store
    data = await run_in_threadpool(lambda: b"".join(store.read(digest)))
    return Response(data, media_type="application/pdf", headers={
        "X-Content-SHA256": digest, "ETag": f'"{digest}"', "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'attachment; filename="bulletin-{entry["month"]}.pdf"'})


