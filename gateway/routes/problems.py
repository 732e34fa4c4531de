"""The ledger (台账) over HTTP: lists, a problem with its timeline, one endpoint per
lifecycle action, roll-ups, chain verification and work plans. The gateway names the roles
of each endpoint; the ledger decides scope (own unit, own system, all) and the rules."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.auth.guards import PrincipalDep, allow
from gateway.auth.principal import Principal
from gateway.auth.roles import Role

router = APIRouter(prefix="/api/v1", tags=["ledger 台账"])

R = Role
READERS = (R.COUNTY_OFFICE, R.SUPERVISOR, R.UNIT_HANDLER, R.SPOT_CHECK)
SUPERVISING = (R.COUNTY_OFFICE, R.SUPERVISOR)
UNIT = (R.COUNTY_OFFICE, R.UNIT_HANDLER)
ACTION_ROLES: dict[str, tuple[Role, ...]] = {
    "dispatch": SUPERVISING, "reassign": SUPERVISING, "approve_plan": SUPERVISING,
    "reject_plan": SUPERVISING, "accept_unfounded": SUPERVISING,
    "reject_unfounded": SUPERVISING, "check_progress": SUPERVISING,
    "reject_rectification": SUPERVISING, "strike_off": SUPERVISING, "merge": SUPERVISING,
    "unmerge": SUPERVISING, "transfer_out": SUPERVISING, "suspend": SUPERVISING,
    "resume": SUPERVISING, "decide_severity": SUPERVISING,
    "verify": UNIT, "report_unfounded": UNIT, "record_progress": UNIT,
    "report_rectified": UNIT,
    "reopen": (R.COUNTY_OFFICE, R.SUPERVISOR, R.SPOT_CHECK),
}
ACTION_SUMMARIES = {
    "dispatch": "交办 dispatch to a unit with a response deadline",
    "reassign": "转办 reassign to another unit (the deadline follows)",
    "verify": "查实 verified, with a rectification plan (six fields + handling class)",
    "report_unfounded": "查否 unfounded, with findings and evidence",
    "approve_plan": "审核通过整改计划 approve the plan", "reject_plan": "退回整改计划 send back",
    "accept_unfounded": "认可查否 accept unfounded", "reject_unfounded": "退回查否 send back",
    "record_progress": "报告整改进展 record progress",
    "check_progress": "整改落实情况检查 progress check, flags with reason and new deadline",
    "report_rectified": "报告整改完成 rectified, with evidence",
    "reject_rectification": "退回整改 send rectification back",
    "strike_off": "销号 strike off", "reopen": "重新启动 reopen (spot-check, look-back, dispute)",
    "merge": "合并重复线索 merge as duplicate", "unmerge": "撤销合并 undo a merge",
    "transfer_out": "移交 transfer out", "suspend": "中止计时 suspend (timers pause)",
    "resume": "恢复计时 resume", "decide_severity": "宽严相济 record the severity decision",
}
JsonObject = Annotated[dict[str, Any], Body(default_factory=dict)]


def actor(principal: Principal) -> dict:
    return {"username": principal.username, "role": principal.role.value,
            "org_code": principal.org_code}


@router.get("/problems", dependencies=[allow(*READERS)])
async def list_problems(
        request: Request, principal: PrincipalDep,
        state: Annotated[str | None, Query(max_length=32)] = None,
        unit: Annotated[str | None, Query(max_length=64)] = None,
        category: Annotated[str | None, Query(max_length=64)] = None,
        kind: Annotated[str | None, Query(max_length=64)] = None,
        channel: Annotated[str | None, Query(max_length=64)] = None,
        outcome: Annotated[str | None, Query(max_length=32)] = None,
        overdue: bool = False, stalled: bool = False,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> dict:
    """The problems this caller may see, newest first, filtered and paginated."""
    filters = {k: v for k, v in dict(state=state, unit=unit, category=category, kind=kind,
                                     channel=channel, outcome=outcome, overdue=overdue,
                                     stalled=stalled).items() if v}
    return await request.app.state.broker.call(
        "ledger", "list_problems", actor=actor(principal), filters=filters, limit=limit,
        offset=offset)


@router.get("/problems/{problem_id}", dependencies=[allow(*READERS)])
async def get_problem(problem_id: str, request: Request, principal: PrincipalDep) -> dict:
    """One problem with its timeline (hash-chained history) and its clues' provenance."""
    return await request.app.state.broker.call("ledger", "get_problem", problem_id=problem_id,
                                               actor=actor(principal))


def _action_endpoint(action: str):
    async def endpoint(problem_id: str, request: Request, principal: PrincipalDep,
                       args: JsonObject) -> dict:
        return await request.app.state.broker.call(
            "ledger", "act", problem_id=problem_id, action=action, actor=actor(principal),
            args=args)
    endpoint.__name__ = f"problem_{action}"
    return endpoint


for _action, _roles in ACTION_ROLES.items():
    router.add_api_route(f"/problems/{{problem_id}}/{_action}", _action_endpoint(_action),
                         methods=["POST"], dependencies=[allow(*_roles)],
                         summary=ACTION_SUMMARIES[_action])


@router.get("/ledger/rollup", dependencies=[allow(R.COUNTY_OFFICE, R.SUPERVISOR, R.SPOT_CHECK)])
async def rollup(request: Request, principal: PrincipalDep) -> dict:
    """Counts by state, category, kind, unit, channel; rates per unit; overdue and stalled."""
    return await request.app.state.broker.call("ledger", "rollup", actor=actor(principal))


@router.get("/ledger/verify", dependencies=[allow(R.COUNTY_OFFICE, R.SPOT_CHECK, R.OPS)])
async def verify(request: Request) -> dict:
    """Verify the whole history chain; names the first broken entry."""
    return await request.app.state.broker.call("ledger", "verify_chain", timeout=120)


@router.get("/ledger/head", dependencies=[allow(R.PUBLIC)])
async def head(request: Request) -> dict:
    """The chain's current head hash, fit to publish (e.g. in the monthly bulletin)."""
    return await request.app.state.broker.call("ledger", "chain_head")


class WorkPlanIn(BaseModel):
    """A unit's campaign work plan (清理工作方案)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=2, max_length=200, description="标题")
    summary: str = Field(min_length=5, max_length=20_000, description="内容摘要")
    document_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the plan's document, 64 lowercase hex digits (文件摘要)")


@router.post("/work-plans", status_code=201, dependencies=[allow(R.UNIT_HANDLER)])
async def file_work_plan(request: Request, principal: PrincipalDep, plan: WorkPlanIn) -> dict:
    """清理工作方案备案: a unit files its work plan with its supervising body."""
    return await request.app.state.broker.call(
        "ledger", "file_work_plan", actor=actor(principal), title=plan.title,
        summary=plan.summary, document_sha256=plan.document_sha256)


@router.get("/work-plans", dependencies=[allow(R.COUNTY_OFFICE, R.SUPERVISOR, R.UNIT_HANDLER)])
async def list_work_plans(request: Request, principal: PrincipalDep) -> dict:
    return await request.app.state.broker.call("ledger", "list_work_plans",
                                               actor=actor(principal))


@router.get("/work-plans/missing", dependencies=[allow(*SUPERVISING)])
async def missing_work_plans(request: Request, principal: PrincipalDep,
                             phase: Annotated[str | None, Query(max_length=64)] = None) -> dict:
    """Units without a filed work plan by the phase's end (default: the first phase)."""
    return await request.app.state.broker.call("ledger", "missing_work_plans",
                                               actor=actor(principal), phase=phase)


@router.post("/work-plans/{plan_id}/acknowledge", dependencies=[allow(*SUPERVISING)])
async def acknowledge_work_plan(plan_id: Annotated[str, Path(max_length=64)], request: Request,
                                principal: PrincipalDep) -> dict:
    return await request.app.state.broker.call("ledger", "acknowledge_work_plan",
                                               actor=actor(principal), plan_id=plan_id)
