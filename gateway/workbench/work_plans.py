"""Work plans on the workbench (清理工作方案备案): for the county office and the supervising
bodies, the units that have not filed a work plan by the phase's end, those that filed late,
and the plans filed, each with its document and, until it is done, an acknowledge button.

The lists are the ledger's (``services/ledger/handlers/work_plans.py``) and its scope: a
supervising body sees its own system, the county office every unit. The document is served
by the files API's own download (``gateway.files.routes.download``) and its access rules.
"""
from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request

from gateway.auth.roles import Role
from gateway.errors import problem
from gateway.excel.routes import export_missing_work_plans, export_work_plans
from gateway.files.routes import download
from gateway.routes.problems import actor
from gateway.workbench.guards import allow
from gateway.workbench.ledger_query import Ignored
from gateway.workbench.pages import PREFIX, PageRoute, lang_of, principal_in, render
from gateway.workbench.routes import _names, see_other

router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=PageRoute)
SUPERVISING = (Role.COUNTY_OFFICE, Role.SUPERVISOR)
PATH = f"{PREFIX}/work-plans"
SHA256 = re.compile(r"[0-9a-f]{64}")
Fmt = Annotated[Literal["xlsx", "csv"], Path()]


def phase_of(value: str | None, phases) -> tuple[str | None, Ignored | None]:
    """The phase asked for (its code), or None for the ledger's default (the first phase);
    an unknown one is left out and named."""
    value = (value or "").strip()
    if not value:
        return None, None
    if any(p.code == value for p in phases):
        return value, None
    shown = value[:64]
    return None, Ignored("phase", shown, f"工作阶段“{shown}”无法识别，已显示第一阶段",
                         f"phase '{shown}' is not known; the first phase is shown")


@router.get("/work-plans", dependencies=[allow(*SUPERVISING)])
async def work_plans_page(request: Request):
    """未报送、逾期报送和已报送的工作方案, for the caller's scope."""
    principal = principal_in(request)
    campaign = request.app.state.campaign
    phase, ignored = phase_of(request.query_params.get("phase"), campaign.phases)
    broker, who = request.app.state.broker, actor(principal)
    missing = await broker.call("ledger", "missing_work_plans", actor=who, phase=phase)
    filed = await broker.call("ledger", "list_work_plans", actor=who)
    lang = lang_of(request)
    chosen = next(p for p in campaign.phases if p.code == missing["phase"])
    suffix = f"?phase={phase}" if phase else ""
    return render(request, "work_plans.html", principal=principal, missing=missing,
                  plans=sorted(filed["items"], key=lambda p: p["filed_at"], reverse=True),
                  phases=[(p.code, p.name_en if lang == "en" else p.name_zh)
                          for p in campaign.phases],
                  phase=missing["phase"],
                  phase_name=chosen.name_en if lang == "en" else chosen.name_zh,
                  ignored=[ignored] if ignored else [], names=_names(request),
                  done=request.scope["session"].pop("flash_plan", None),
                  exports={"missing": {f: f"{PATH}/missing.{f}{suffix}" for f in ("xlsx", "csv")},
                           "filed": {f: f"{PATH}.{f}" for f in ("xlsx", "csv")}})


@router.post("/work-plans/{plan_id}/acknowledge", dependencies=[allow(*SUPERVISING)])
async def acknowledge(plan_id: Annotated[str, Path(max_length=64)], request: Request):
    """确认备案: the supervising body (or the county office) acknowledges a filed plan; the
    ledger refuses a plan outside the caller's system (404) or one acknowledged already."""
    await request.app.state.broker.call("ledger", "acknowledge_work_plan",
                                        actor=actor(principal_in(request)), plan_id=plan_id)
    request.scope["session"]["flash_plan"] = plan_id
    return see_other(PATH)


@router.get("/work-plans/documents/{sha256}", dependencies=[allow(*SUPERVISING)])
async def plan_document(sha256: Annotated[str, Path(max_length=64)], request: Request):
    """A plan's document, through the files API's download and its access rules."""
    if not SHA256.fullmatch(sha256):
        raise problem(404, "not_found", "No such file, or not visible to you.",
                      "未找到该文件或无权查看。")
    return await download(sha256, request, principal_in(request))


@router.get("/work-plans.{fmt}", dependencies=[allow(*SUPERVISING)])
async def export_filed(fmt: Fmt, request: Request):
    """已报送的工作方案, as the API exports them."""
    return await export_work_plans(fmt, request, principal_in(request))


@router.get("/work-plans/missing.{fmt}", dependencies=[allow(*SUPERVISING)])
async def export_missing(fmt: Fmt, request: Request):
    """未按时报送工作方案的单位, as the API exports them (the page's phase)."""
    phase, _ = phase_of(request.query_params.get("phase"),
                        request.app.state.campaign.phases)
    return await export_missing_work_plans(fmt, request, principal_in(request), phase)
