"""Weekly reports (周报告), zero reports (零报告), the summary report (总结报告) and the 建章立制
register over HTTP. The gateway names the roles; the ledger decides scope (own unit, own
system, all) and the rules (``services/ledger/domain/reports.py``)."""
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.auth.guards import PrincipalDep, allow
from gateway.auth.roles import Role
from gateway.files.evidence import require_files, tie_files
from gateway.files.index import UNIT
from gateway.routes.problems import actor

router = APIRouter(prefix="/api/v1", tags=["reports 周报告"])

R = Role
READERS = (R.COUNTY_OFFICE, R.SUPERVISOR, R.UNIT_HANDLER, R.SPOT_CHECK)
SUPERVISING = (R.COUNTY_OFFICE, R.SUPERVISOR)
Period = Annotated[str, Path(max_length=16, pattern=r"^(\d{4}-W\d{2}|summary)$")]
Unit = Annotated[str, Path(max_length=64)]


class Figures(BaseModel):
    """清理(问责)情况: whole numbers; the ledger refuses negative ones and rectified > found."""

    model_config = ConfigDict(extra="forbid")

    found: int = Field(0, description="发现问题数")
    rectified: int = Field(0, description="已整改数")
    cleaned_up: int = Field(0, description="清理事项数")
    held_accountable: int = Field(0, description="问责人数")


class ReportIn(BaseModel):
    """A unit's report for a week (``2017-W40``) or the summary report (``summary``). Filing
    again for the same period is an amendment and needs ``reason``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    unit: str = Field(max_length=64, description="the filer's own unit (本单位)")
    period: str = Field(max_length=16, pattern=r"^(\d{4}-W\d{2}|summary)$",
                        description="ISO week, e.g. 2017-W40, or 'summary' (总结报告)")
    kind: Literal["weekly", "zero", "summary"] = Field(
        description="weekly 周报告 | zero 零报告 (nothing found) | summary 总结报告")
    figures: Figures = Figures()
    text: str = Field("", max_length=20_000, description="工作进展")
    document_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$",
                                        description="the document's SHA-256 (总结报告 needs one)")
    reason: str | None = Field(None, max_length=1000, description="更正说明 (an amendment's)")


async def file_report(request: Request, principal, report: ReportIn) -> dict:
    """File through the ledger, for the API and the workbench alike."""
    named = [("document_sha256", report.document_sha256)] if report.document_sha256 else []
    files = await require_files(request, principal, named)
    answer = await request.app.state.broker.call(
        "ledger", "file_report", actor=actor(principal), unit=report.unit,
        period=report.period, kind=report.kind, figures=report.figures.model_dump(),
        text=report.text, document_sha256=report.document_sha256, reason=report.reason)
    await tie_files(request, files, UNIT, principal.org_code or "")
    return answer


@router.post("/reports", status_code=201, dependencies=[allow(R.UNIT_HANDLER)])
async def post_report(request: Request, principal: PrincipalDep, report: ReportIn) -> dict:
    """周报告 / 零报告 / 总结报告: a unit files (or amends, with a reason) its report, signed by
    the person filing. Impossible figures, a week not yet ended or another unit: 422/403,
    nothing changed."""
    return await file_report(request, principal, report)


@router.get("/reports", dependencies=[allow(*READERS)])
async def list_reports(request: Request, principal: PrincipalDep,
                       period: Annotated[str | None, Query(max_length=16)] = None,
                       unit: Annotated[str | None, Query(max_length=64)] = None,
                       contradicted: bool = False) -> dict:
    """The current report of each unit and period in the caller's scope; ``contradicted``:
    only zero reports the ledger contradicts (for the spot-check team)."""
    return await request.app.state.broker.call(
        "ledger", "list_reports", actor=actor(principal), period=period, unit=unit,
        contradicted=contradicted)


@router.get("/reports/{period}/missing", dependencies=[allow(*SUPERVISING)])
async def missing_reports(request: Request, principal: PrincipalDep, period: Period) -> dict:
    """For a period: units that filed, filed zero, filed late, are contradicted, are missing."""
    return await request.app.state.broker.call("ledger", "missing_reports",
                                               actor=actor(principal), period=period)


@router.get("/reports/{period}/summary", dependencies=[allow(*SUPERVISING)])
async def report_summary(request: Request, principal: PrincipalDep, period: Period) -> dict:
    """The caller's system's reports of a period added up (the county office: all)."""
    return await request.app.state.broker.call("ledger", "report_summary",
                                               actor=actor(principal), period=period)


@router.post("/reports/{period}/summary/forward", dependencies=[allow(R.SUPERVISOR)])
async def forward_summary(request: Request, principal: PrincipalDep, period: Period) -> dict:
    """A supervising body forwards its system's summary to the county office (a chain entry)."""
    return await request.app.state.broker.call("ledger", "forward_report_summary",
                                               actor=actor(principal), period=period)


@router.get("/reports/{period}/{unit}", dependencies=[allow(*READERS)])
async def get_report(request: Request, principal: PrincipalDep, period: Period,
                     unit: Unit) -> dict:
    """Every version of a unit's report for a period (amendments with their reasons)."""
    return await request.app.state.broker.call("ledger", "get_report", actor=actor(principal),
                                               unit=unit, period=period)


class MeasureIn(BaseModel):
    """建章立制: a measure the unit issued (已出台) or plans (计划出台)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(max_length=200, description="制度名称")
    status: Literal["issued", "planned"]
    on: str = Field(max_length=10, description="issued on / planned for, YYYY-MM-DD")


@router.post("/institutions", status_code=201, dependencies=[allow(R.UNIT_HANDLER)])
async def register_institution(request: Request, principal: PrincipalDep,
                               measure: MeasureIn) -> dict:
    """The unit records a measure in its 建章立制 register (a chain entry)."""
    return await request.app.state.broker.call(
        "ledger", "register_institution", actor=actor(principal), title=measure.title,
        status=measure.status, on=measure.on)


@router.get("/institutions", dependencies=[allow(*READERS)])
async def list_institutions(request: Request, principal: PrincipalDep) -> dict:
    """The 建章立制 register in the caller's scope, counted per unit and status."""
    return await request.app.state.broker.call("ledger", "list_institutions",
                                               actor=actor(principal))
