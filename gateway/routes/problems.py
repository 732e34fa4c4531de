"""The ledger (台账) over HTTP: lists, a problem with its timeline, one endpoint per
lifecycle action, roll-ups, chain verification and work plans. The gateway names the roles
of each endpoint; the ledger decides scope (own unit, own system, all) and the rules."""
import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from contracts.actions import SPECS, ActionSpec, describe
from contracts.listing import ProblemSort
from contracts.vocabulary import Action
from gateway.auth.guards import PrincipalDep, allow
from gateway.auth.principal import Principal
from gateway.auth.roles import Role
from gateway.errors import problem
from gateway.files.evidence import evidence_digests, require_files, tie_files
from gateway.files.index import PROBLEM, UNIT

router = APIRouter(prefix="/api/v1", tags=["ledger 台账"])

R = Role
READERS = (R.COUNTY_OFFICE, R.SUPERVISOR, R.UNIT_HANDLER, R.SPOT_CHECK)
SUPERVISING = (R.COUNTY_OFFICE, R.SUPERVISOR)
# Derived from each action's one specification (``contracts.actions.SPECS``).
ACTION_ROLES: dict[str, tuple[Role, ...]] = {a.value: spec.roles for a, spec in SPECS.items()}
ACTION_SUMMARIES: dict[str, str] = {a.value: spec.summary for a, spec in SPECS.items()}
JsonObject = Annotated[dict[str, Any], Body(default_factory=dict)]


def actor(principal: Principal) -> dict:
    return {"username": principal.username, "role": principal.role.value,
            "org_code": principal.org_code}


async def act_on_problem(request: Request, principal: Principal, problem_id: str,
                         spec: ActionSpec, args) -> dict:
    """One lifecycle step through the ledger, for the API and the workbench alike: the
    evidence it names must be stored files the caller may see (422 ``unknown_file``), and
    they are tied to the problem once the ledger accepted the step."""
    files = await require_files(request, principal, evidence_digests(args))
    if spec.action is Action.TRANSFER_OUT and getattr(args, "partner", None):
        args = await _to_partner(request, args)
    answer = await request.app.state.broker.call(
        "ledger", "act", problem_id=problem_id, action=spec.action.value,
        actor=actor(principal), args=args.model_dump(mode="json", exclude_unset=True))
    await tie_files(request, files, PROBLEM, problem_id)
    return answer


async def _to_partner(request: Request, args):
    """移交至协作平台: the partner must be an active partner account (422 ``unknown_partner``,
    nothing changed); ``to`` defaults to its name, the destination the reporter reads."""
    found = await run_in_threadpool(request.app.state.partners.get, args.partner)
    if found is None or not found.account.active:
        raise problem(422, "unknown_partner", "no active partner platform is called "
                      f"'{args.partner}'", f"没有名为“{args.partner}”的协作平台(或已停用)",
                      "partner")
    if args.to:
        return args
    return args.model_copy(update={"to": found.account.display_name})


def problem_filters(
        state: Annotated[str | None, Query(max_length=32)] = None,
        unit: Annotated[str | None, Query(max_length=64)] = None,
        category: Annotated[str | None, Query(max_length=64)] = None,
        kind: Annotated[str | None, Query(max_length=64)] = None,
        channel: Annotated[str | None, Query(max_length=64)] = None,
        outcome: Annotated[str | None, Query(max_length=32)] = None,
        overdue: bool = False, stalled: bool = False) -> dict:
    """The ledger list's filters (台账筛选), for the list and its exports alike."""
    return {k: v for k, v in dict(state=state, unit=unit, category=category, kind=kind,
                                  channel=channel, outcome=outcome, overdue=overdue,
                                  stalled=stalled).items() if v}


ProblemFilters = Annotated[dict, Depends(problem_filters)]


@router.get("/problems", dependencies=[allow(*READERS)])
async def list_problems(
        request: Request, principal: PrincipalDep, filters: ProblemFilters,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
        sort: Annotated[ProblemSort | None, Query(description=(
            "newest (default), oldest, due (deadline soonest first), progress (last progress "
            "longest ago first)"))] = None) -> dict:
    """The problems this caller may see, filtered, sorted (newest first unless ``sort``
    says otherwise) and paginated."""
    return await request.app.state.broker.call(
        "ledger", "list_problems", actor=actor(principal),
        filters={**filters, "sort": sort.value} if sort else filters, limit=limit,
        offset=offset)


@router.get("/problems/{problem_id}", dependencies=[allow(*READERS)])
async def get_problem(problem_id: str, request: Request, principal: PrincipalDep) -> dict:
    """One problem with its timeline (hash-chained history) and its clues' provenance."""
    return await request.app.state.broker.call("ledger", "get_problem", problem_id=problem_id,
                                               actor=actor(principal))


ProblemId = Annotated[str, Path(max_length=64)]


def _action_endpoint(spec: ActionSpec):
    """The route of one action: its body is the action's input model (validated here, a bad
    body is a 422 naming the field before any RPC; documented in the OpenAPI schema)."""
    model = spec.input
    required = any(field.is_required() for field in model.model_fields.values())
    body = Body() if required else Body(default_factory=model)

    async def endpoint(problem_id: ProblemId, request: Request, principal: PrincipalDep,
                       args: Annotated[model, body]) -> dict:
        return await act_on_problem(request, principal, problem_id, spec, args)
    endpoint.__name__ = f"problem_{spec.action.value}"
    return endpoint


for _spec in SPECS.values():
    if not _spec.roles:  # the reporter's own steps: by receipt code (gateway.routes.followup)
        continue
    router.add_api_route(f"/problems/{{problem_id}}/{_spec.action.value}",
                         _action_endpoint(_spec), methods=["POST"],
                         dependencies=[allow(*_spec.roles)], summary=_spec.summary,
                         description=describe(_spec))


@router.get("/ledger/rollup", dependencies=[allow(R.COUNTY_OFFICE, R.SUPERVISOR, R.SPOT_CHECK)])
async def rollup(request: Request, principal: PrincipalDep) -> dict:
    """Counts by state, category, kind, unit, channel; rates per unit; overdue and stalled."""
    return await request.app.state.broker.call("ledger", "rollup", actor=actor(principal))


HEX64 = re.compile(r"[0-9a-f]{64}")


def _published(seq: str | None, head: str | None) -> dict | None:
    """A head published earlier, from ``?seq=N&head=H``; both or neither."""
    if seq is None and head is None:
        return None
    if seq is None or not seq.isdigit() or len(seq) > 18:
        raise problem(422, "invalid_seq", "seq: the published head's sequence number, a whole "
                      "number ≥ 0, given with head", "seq:已公布链头的序号,应为不小于 0 的整数,"
                      "并与 head 一同提供", "seq")
    if head is None or not HEX64.fullmatch(head):
        raise problem(422, "invalid_head", "head: the published head's hash, 64 lowercase hex "
                      "digits, given with seq", "head:已公布链头的哈希值,应为 64 位小写十六进制"
                      "数字,并与 seq 一同提供", "head")
    return {"seq": int(seq), "hash": head}


@router.get("/ledger/verify", dependencies=[allow(R.COUNTY_OFFICE, R.SPOT_CHECK, R.OPS)])
async def verify(request: Request,
                 seq: Annotated[str | None, Query(max_length=32, description=(
                     "the sequence number of a head published earlier (with head)"))] = None,
                 head: Annotated[str | None, Query(max_length=128, description=(
                     "that head's hash: today's chain must extend it"))] = None) -> dict:
    """Verify the whole history chain, each entry filed under its problem, and each
    problem's row against the state its history binds; names the first broken entry and
    every problem that disagrees. With ``seq`` and ``head``, also proves that today's chain
    extends a head published earlier (catches truncation and rewrites)."""
    published = _published(seq, head)
    return await request.app.state.broker.call("ledger", "verify_chain", published=published,
                                               timeout=120)


@router.get("/ledger/head", dependencies=[allow(R.PUBLIC)])
async def head(request: Request) -> dict:
    """The chain's current head, signed (Ed25519) as a checkpoint fit to publish (e.g. in the
    monthly bulletin): seq, hash, at, signature, key_id and public_key. Save it; anyone can
    check it offline (``python -m services.ledger.verify --checkpoint``)."""
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
    return await file_plan(request, principal, plan)


async def file_plan(request: Request, principal: Principal, plan: WorkPlanIn) -> dict:
    """Filing a work plan, for the API and the workbench alike: its document must be a stored
    file the caller may see (422 ``unknown_file``), tied to the unit once filed."""
    named = [("document_sha256", plan.document_sha256)] if plan.document_sha256 else []
    files = await require_files(request, principal, named)
    answer = await request.app.state.broker.call(
        "ledger", "file_work_plan", actor=actor(principal), title=plan.title,
        summary=plan.summary, document_sha256=plan.document_sha256)
    await tie_files(request, files, UNIT, principal.org_code or "")
    return answer


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
