"""Who may do what to which problem: a unit's handler acts on its own unit's problems; a
supervising body (系统分管部门) on its system's; the county office (县委办公室) on all."""
from __future__ import annotations

from services.ledger.domain.actions import Actor
from services.ledger.domain.lifecycle import Action, Problem

A = Action
UNIT_ACTIONS = {A.VERIFY, A.REPORT_UNFOUNDED, A.RECORD_PROGRESS, A.REPORT_RECTIFIED}
REOPENERS = {"county_office", "supervisor", "spot_check", "reporter"}


class NotPermitted(Exception):
    """The actor may not perform this action on this problem."""


def in_system(campaign, supervisor_org: str | None, unit: str | None) -> bool:
    if unit is None or supervisor_org is None:
        return False
    body = campaign.supervisor_of(unit)
    return body is not None and body.code == supervisor_org


def visible_units(campaign, actor: Actor) -> list[str] | None:
    """Units whose problems the actor may see; None means all."""
    if actor.role in ("county_office", "spot_check"):
        return None
    if actor.role == "supervisor":
        return [o.code for o in campaign.units_supervised_by(actor.org_code)]
    if actor.role == "unit_handler":
        return [actor.org_code] if actor.org_code else []
    return []


def may_see(campaign, actor: Actor, problem: Problem) -> bool:
    units = visible_units(campaign, actor)
    return units is None or problem.unit in units


def check_permitted(campaign, actor: Actor, action: Action, problem: Problem,
                    args: dict) -> None:
    if actor.role == "county_office":
        return
    if action is A.REOPEN:
        if actor.role not in REOPENERS:
            raise NotPermitted(f"{actor.role} may not reopen problems")
        if actor.role == "supervisor" and not in_system(campaign, actor.org_code, problem.unit):
            raise NotPermitted("this problem is outside your system")
        return
    if action in UNIT_ACTIONS:
        if actor.role != "unit_handler" or not problem.unit or actor.org_code != problem.unit:
            raise NotPermitted(f"only the handler of unit {problem.unit} may {action.value}")
        return
    if actor.role != "supervisor":
        raise NotPermitted(f"only a supervising body or the county office may {action.value}")
    units = [problem.unit] if problem.unit else []
    if action in (A.DISPATCH, A.REASSIGN) and args.get("unit"):
        units.append(args["unit"])
    if not units or not all(in_system(campaign, actor.org_code, u) for u in units):
        raise NotPermitted("this problem is outside your system")
