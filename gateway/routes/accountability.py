"""The accountability ladder over HTTP (严格责任追究: 通报,限期整改 → 约谈主要负责人 → 责任追究和问责).

Rules propose steps; a person of the county office confirms or dismisses each with a reason
(never automatic). The audit service decides scope, the rules and who reads names
(``services/audit/ladder.py``); the gateway names the roles, checks evidence files exist and
passes the unit's principal head recorded at confirmation (an interview names them)."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from gateway.auth.guards import PrincipalDep, allow
from gateway.auth.roles import Role
from gateway.files.evidence import require_files, tie_files
from gateway.files.index import UNIT
from gateway.routes.problems import actor

router = APIRouter(prefix="/api/v1/accountability", tags=["accountability 问责阶梯"])

R = Role
DECIDERS = (R.COUNTY_OFFICE,)
FINDERS = (R.COUNTY_OFFICE, R.SPOT_CHECK)
OVERSEERS = (R.COUNTY_OFFICE, R.SUPERVISOR, R.SPOT_CHECK, R.CUSTODIAN)
READERS = (*OVERSEERS, R.UNIT_HANDLER)
Id = Annotated[str, Path(max_length=32, pattern=r"^[0-9a-f]{32}$")]
Unit = Annotated[str, Path(max_length=64)]
Sha = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class PersonIn(BaseModel):
    """A person concerned (涉及人员): only the county office and the custodian read names."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    post: str = Field(min_length=1, max_length=100, description="职务")
    name: str = Field(min_length=1, max_length=100, description="姓名")


class ConfirmIn(BaseModel):
    """确认: the step is recorded with its deadline. ``skip_reason``: one of the campaign
    file's ``accountability.skip_reasons``, needed only where the step skips one."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    skip_reason: str | None = Field(None, max_length=64, description="越级理由 (code)")
    note: str | None = Field(None, max_length=2000, description="说明")
    persons: list[PersonIn] = Field(default_factory=list, max_length=20,
                                    description="涉及人员 (post and name)")


class DismissIn(BaseModel):
    """不予采纳, with the reason (required): the same facts are never proposed again."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(max_length=2000, description="不予采纳的理由")


class FindingIn(BaseModel):
    """暗访发现: 走过场 (``perfunctory``) or 弄虚作假 (``falsified``), with evidence files
    uploaded first (``POST /api/v1/files``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    unit: str = Field(max_length=64, description="被暗访的单位")
    kind: Literal["perfunctory", "falsified"]
    findings: str = Field(max_length=2000, description="暗访发现的情况")
    evidence: list[Sha] = Field(default_factory=list, max_length=20,
                                description="佐证材料文件的 SHA-256")
    problem_ids: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list,
                                                                     max_length=50)


async def head_of(request: Request, unit: str) -> dict | None:
    """The unit's principal head as recorded now (主要负责同志): {name, title}."""
    head = await run_in_threadpool(request.app.state.accounts.principal_head, unit)
    return {"name": head.name, "title": head.title} if head else None


async def confirm_proposal(request: Request, principal, proposal_id: str,
                           body: ConfirmIn) -> dict:
    """For the API and the workbench alike: the audit service refuses a skipped step, a
    second decision, anyone but the county office; the head is looked up here."""
    call = request.app.state.broker.call
    found = await call("audit", "ladder_proposals", actor=actor(principal), status="proposed",
                       proposal_id=proposal_id)
    proposal = next((p for p in found["items"] if p["id"] == proposal_id), None)
    head = await head_of(request, proposal["unit"]) if proposal else None
    return await call("audit", "ladder_confirm", actor=actor(principal), proposal_id=proposal_id,
                      skip_reason=body.skip_reason or None, note=body.note,
                      persons=[p.model_dump() for p in body.persons], head=head)


async def record_finding(request: Request, principal, body: FindingIn) -> dict:
    files = await require_files(request, principal,
                                [(f"evidence[{i}]", sha) for i, sha in enumerate(body.evidence)])
    answer = await request.app.state.broker.call(
        "audit", "ladder_record_finding", actor=actor(principal), unit=body.unit,
        kind=body.kind, findings=body.findings, evidence=body.evidence,
        problem_ids=body.problem_ids)
    await tie_files(request, files, UNIT, body.unit)
    return answer


@router.get("/proposals", dependencies=[allow(*OVERSEERS)])
async def list_proposals(request: Request, principal: PrincipalDep,
                         status: Literal["proposed", "confirmed", "dismissed"] | None = None,
                         unit: Annotated[str | None, Query(max_length=64)] = None) -> dict:
    """Proposals in the caller's scope (a supervising body: its system), newest first;
    ``status=proposed``: those waiting for the county office."""
    return await request.app.state.broker.call("audit", "ladder_proposals",
                                               actor=actor(principal), status=status, unit=unit)


@router.post("/proposals/{proposal_id}/confirm", dependencies=[allow(*DECIDERS)])
async def confirm(request: Request, principal: PrincipalDep, proposal_id: Id,
                  body: ConfirmIn) -> dict:
    """确认: the step recorded (reason, problems, documents, who, when, deadline in working
    days, a chain entry); the unit's handlers and principal head are notified. A skipped
    step without an allowed reason: 409 ``ladder_step_skipped``; decided already: 409."""
    return await confirm_proposal(request, principal, proposal_id, body)


@router.post("/proposals/{proposal_id}/dismiss", dependencies=[allow(*DECIDERS)])
async def dismiss(request: Request, principal: PrincipalDep, proposal_id: Id,
                  body: DismissIn) -> dict:
    """不予采纳 with a reason (422 ``reason_required`` without one)."""
    return await request.app.state.broker.call("audit", "ladder_dismiss", actor=actor(principal),
                                               proposal_id=proposal_id, reason=body.reason)


@router.post("/findings", status_code=201, dependencies=[allow(*FINDERS)])
async def post_finding(request: Request, principal: PrincipalDep, body: FindingIn) -> dict:
    """暗访: a covert inspection found 走过场 or 弄虚作假; a step is proposed for the unit."""
    return await record_finding(request, principal, body)


@router.get("/units", dependencies=[allow(*READERS)])
async def overview(request: Request, principal: PrincipalDep) -> dict:
    """Each unit in the caller's scope with a step or a proposal: its latest step and
    deadline, proposals waiting (a unit's handler: its own unit, steps only)."""
    return await request.app.state.broker.call("audit", "ladder_overview", actor=actor(principal))


@router.get("/units/{unit}", dependencies=[allow(*READERS)])
async def unit_ladder(request: Request, principal: PrincipalDep, unit: Unit) -> dict:
    """One unit's ladder: steps (names only for the county office and the custodian), next
    step, proposals (not for the unit itself)."""
    return await request.app.state.broker.call("audit", "ladder_unit", actor=actor(principal),
                                               unit=unit)
