"""The ledger as each role may see it (台账): a unit its own, a supervising body its system."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from gateway.auth.guards import Principal, PrincipalDep, allow
from gateway.auth.roles import Role
from gateway.errors import problem

router = APIRouter(prefix="/api/v1", tags=["ledger 台账"])
LEDGER_READERS = allow(Role.COUNTY_OFFICE, Role.SUPERVISOR, Role.UNIT_HANDLER)


def visible_units(principal: Principal, campaign) -> list[str] | None:
    """None means every unit (the county office)."""
    if principal.role == Role.COUNTY_OFFICE:
        return None
    if principal.role == Role.SUPERVISOR:
        return [org.code for org in campaign.units_supervised_by(principal.org_code)]
    return [principal.org_code]


@router.get("/problems", dependencies=[LEDGER_READERS])
async def list_problems(request: Request, principal: PrincipalDep,
                        status: Annotated[str | None, Query(max_length=32)] = None,
                        limit: Annotated[int, Query(ge=1, le=200)] = 50,
                        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> dict:
    units = visible_units(principal, request.app.state.campaign)
    return await request.app.state.broker.call(
        "ledger", "list_problems", units=units, status=status, limit=limit, offset=offset)


@router.get("/problems/{problem_id}", dependencies=[LEDGER_READERS])
async def get_problem(problem_id: str, request: Request, principal: PrincipalDep) -> dict:
    found = await request.app.state.broker.call("ledger", "get_problem", problem_id=problem_id)
    units = visible_units(principal, request.app.state.campaign)
    if units is not None and found.get("unit") not in units:
        raise problem(404, "NotFound", f"no problem {problem_id}", "未找到该问题")
    return found
