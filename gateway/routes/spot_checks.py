"""Spot-check rounds over HTTP (抽查轮次: 查否复查, 抽查零报告, 回头看). The gateway names the
roles; the audit service decides everything else (``services/audit/rounds.py``): the order
of a round's steps, who may re-check what (回避), and what a unit may learn of its sample.

Rounds, samples and manifests are for the spot-check team and the county office only; a unit
(and its supervising body) sees an item of its own once its re-check reaches it, or after
the round is closed (``/spot-checks/mine``)."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.auth.guards import PrincipalDep, allow
from gateway.auth.roles import Role
from gateway.errors import problem
from gateway.files.evidence import require_files
from gateway.routes.problems import actor

router = APIRouter(prefix="/api/v1/spot-checks", tags=["spot checks 抽查"])

R = Role
TEAM = (R.SPOT_CHECK, R.COUNTY_OFFICE)
UNITS = (R.UNIT_HANDLER, R.SUPERVISOR)
RoundId = Annotated[str, Path(max_length=64, pattern=r"^[0-9a-f]{1,64}$")]
ItemId = Annotated[str, Path(max_length=64)]
Month = Annotated[str | None, Query(max_length=7, description="YYYY-MM")]
FILES = ("manifest.tsv", "params.json", "seed.txt", "verdicts.json", "results.json")


class RoundIn(BaseModel):
    """A round for a month: ``spot_check`` (查否 and zero reports), ``look_back`` (struck-off
    problems) or ``full_review`` (every item of one unit and stratum)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["spot_check", "look_back", "full_review"]
    period: str = Field(max_length=7, description="the month, YYYY-MM (抽查期间)")
    unit: str | None = Field(None, max_length=64, description="full review: the unit")
    stratum: str | None = Field(None, max_length=32, description="full review: the stratum")


class SeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    seed: str = Field(max_length=200, description="digits rolled in public (随机种子)")


class AssignIn(BaseModel):
    """Assign items (all unassigned ones when ``item_ids`` is left out) to ``rechecker``, or
    without one in turn to every eligible re-checker (轮流分配)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    item_ids: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=500)
    rechecker: str | None = Field(None, max_length=64)


class RecheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    verdict: Literal["upheld", "wrong", "not_produced"]
    findings: str = Field(max_length=5000, description="复查情况")
    evidence: list[Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]] = Field(
        [], max_length=20, description="uploaded files' SHA-256 (佐证材料)")


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str | None = Field(None, max_length=2000,
                               description="why items are left (county office only)")


def call(request: Request, method: str, **kwargs):
    return request.app.state.broker.call("audit", method, **kwargs)


@router.get("/rounds", dependencies=[allow(*TEAM)])
async def list_rounds(request: Request, principal: PrincipalDep, period: Month = None) -> dict:
    """The rounds (all, or of a month) and the active re-checkers."""
    return await call(request, "list_rounds", actor=actor(principal), period=period)


@router.post("/rounds", status_code=201, dependencies=[allow(*TEAM)])
async def open_round(request: Request, principal: PrincipalDep, body: RoundIn) -> dict:
    """Open a round: its manifest is frozen and its SHA-256, with the parameters, appended
    to the ledger's chain (``manifest_entry``; empty while the ledger is away: retried)."""
    return await call(request, "open_round", actor=actor(principal), kind=body.kind,
                      period=body.period, unit=body.unit, stratum=body.stratum)


@router.get("/rounds/{round_id}", dependencies=[allow(*TEAM)])
async def get_round(request: Request, principal: PrincipalDep, round_id: RoundId) -> dict:
    """A round: digest, chain entries, seed, the sample by unit with its re-checks."""
    return await call(request, "get_round", actor=actor(principal), round_id=round_id)


@router.post("/rounds/{round_id}/publish", dependencies=[allow(*TEAM)])
async def publish_round(request: Request, principal: PrincipalDep, round_id: RoundId) -> dict:
    """Append the round's chain entries still missing (after the ledger was away)."""
    return await call(request, "publish_round", actor=actor(principal), round_id=round_id)


@router.post("/rounds/{round_id}/seed", dependencies=[allow(*TEAM)])
async def enter_seed(request: Request, principal: PrincipalDep, round_id: RoundId,
                     body: SeedIn) -> dict:
    """The public seed, once, after the manifest is on the chain; the sample is drawn."""
    return await call(request, "enter_seed", actor=actor(principal), round_id=round_id,
                      seed=body.seed)


@router.post("/rounds/{round_id}/assign", dependencies=[allow(*TEAM)])
async def assign(request: Request, principal: PrincipalDep, round_id: RoundId,
                 body: AssignIn) -> dict:
    """Assign sampled items to re-checkers independent of the items' units (回避)."""
    return await call(request, "assign", actor=actor(principal), round_id=round_id,
                      item_ids=body.item_ids, rechecker=body.rechecker)


@router.post("/rounds/{round_id}/items/{item_id}/material", dependencies=[allow(R.SPOT_CHECK)])
async def request_material(request: Request, principal: PrincipalDep, round_id: RoundId,
                           item_id: ItemId) -> dict:
    """The assigned re-checker asks the unit for its material: the unit now sees the item."""
    return await call(request, "request_material", actor=actor(principal), round_id=round_id,
                      item_id=item_id)


async def record_recheck(request: Request, principal, round_id: str, item_id: str,
                         body: RecheckIn) -> dict:
    """For the API and the workbench alike: the files must exist and be the caller's."""
    await require_files(request, principal,
                        [(f"evidence[{i}]", sha) for i, sha in enumerate(body.evidence)])
    return await call(request, "record_recheck", actor=actor(principal), round_id=round_id,
                      item_id=item_id, verdict=body.verdict, findings=body.findings,
                      evidence=body.evidence)


@router.post("/rounds/{round_id}/items/{item_id}/recheck", dependencies=[allow(R.SPOT_CHECK)])
async def post_recheck(request: Request, principal: PrincipalDep, round_id: RoundId,
                       item_id: ItemId, body: RecheckIn) -> dict:
    """The assigned re-checker's verdict (复查结论) with findings and evidence files; a wrong
    closure reopens the problem in the ledger (source spot_check or look_back)."""
    return await record_recheck(request, principal, round_id, item_id, body)


@router.post("/rounds/{round_id}/close", dependencies=[allow(*TEAM)])
async def close_round(request: Request, principal: PrincipalDep, round_id: RoundId,
                      body: CloseIn) -> dict:
    """Close the round: N, n, errors, the exact bound and the decision per unit and stratum.
    Items left un-re-checked need the county office's reason (they count as wrong)."""
    return await call(request, "close_round", actor=actor(principal), round_id=round_id,
                      reason=body.reason)


@router.get("/rounds/{round_id}/files/{name}", dependencies=[allow(*TEAM)])
async def round_file(request: Request, principal: PrincipalDep, round_id: RoundId,
                     name: Annotated[str, Path(max_length=32)]) -> Response:
    """manifest.tsv, params.json, seed.txt and, once closed, verdicts.json and results.json:
    what ``python -m services.audit.rederive`` reads."""
    if name not in FILES:
        raise problem(404, "not_found", "No such file.", "没有该文件。")
    found = await call(request, "round_file", actor=actor(principal), round_id=round_id,
                       name=name)
    return Response(found["text"].encode("utf-8"),
                    media_type=f"{found['content_type']}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


@router.get("/population", dependencies=[allow(*TEAM)])
async def population(request: Request, principal: PrincipalDep,
                     period: Annotated[str, Query(max_length=7)]) -> dict:
    """How many items a round of the month could draw, per unit and stratum."""
    return await call(request, "population", actor=actor(principal), period=period)


@router.get("/queue", dependencies=[allow(R.SPOT_CHECK)])
async def my_queue(request: Request, principal: PrincipalDep) -> dict:
    """The re-checker's queue (我的复查任务)."""
    return await call(request, "my_rechecks", actor=actor(principal))


@router.get("/mine", dependencies=[allow(*UNITS)])
async def unit_items(request: Request, principal: PrincipalDep) -> dict:
    """A unit's (or its supervising body's) items whose re-check reached it, and results."""
    return await call(request, "unit_rechecks", actor=actor(principal))


@router.get("/results", dependencies=[allow(*TEAM, *UNITS)])
async def results(request: Request, principal: PrincipalDep, period: Month = None,
                  unit: Annotated[str | None, Query(max_length=64)] = None) -> dict:
    """Closed rounds' figures per unit and stratum (N, n, errors, bound, decision)."""
    return await call(request, "spot_check_results", actor=actor(principal), period=period,
                      unit=unit)
