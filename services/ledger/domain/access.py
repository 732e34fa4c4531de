"""Who may do what to which problem, read off each action's specification
(``contracts.actions``): its callers, each with its reach (``contracts.vocabulary.REACH``).
A unit's handler acts on its own unit's problems; a supervising body (系统分管部门) on its
system's; the county office (县委办公室) and the spot-check team on all; the reporter on the
one problem of their clue.

Two rules bind whoever is allowed:
* 代为办理: anyone but the unit's own handler doing a unit's step acts for the unit and says so
  (``on_behalf_of``: the problem's unit, and ``reason``), which the history keeps;
* 职责分离 (separation of duties, against 弄虚作假): the account that reported a step
  (verify, report_unfounded, report_rectified) may not approve it or send it back.
"""
from __future__ import annotations

from contracts.actions import CALLERS_DOC, SPECS
from contracts.vocabulary import REACH, Action, Reach, Role, actor_kind
from services.ledger.domain.actions import REPORTED_BY, Actor, InvalidInput
from services.ledger.domain.lifecycle import Problem

A = Action
UNIT_ACTIONS = {a for a, spec in SPECS.items() if spec.unit_step}
REOPENERS = set(SPECS[A.REOPEN].callers)


class NotPermitted(Exception):
    """The actor may not perform this action on this problem; ``message_zh`` in Chinese."""

    def __init__(self, message: str, message_zh: str | None = None, rule: str | None = None):
        super().__init__(message)
        self.message_zh = message_zh
        self.rule = rule


class DutiesNotSeparated(NotPermitted):
    """职责分离: the account that reported a step may not decide on it."""


def reach_of(actor: Actor) -> Reach:
    kind = actor_kind(actor.role)
    return REACH.get(kind, Reach.NONE) if kind is not None else Reach.NONE


def in_system(campaign, supervisor_org: str | None, unit: str | None) -> bool:
    if unit is None or supervisor_org is None:
        return False
    body = campaign.supervisor_of(unit)
    return body is not None and body.code == supervisor_org


def visible_units(campaign, actor: Actor) -> list[str] | None:
    """Units whose problems the actor may list; None means all."""
    reach = reach_of(actor)
    if reach is Reach.ALL:
        return None
    if reach is Reach.OWN_SYSTEM:
        return [o.code for o in campaign.units_supervised_by(actor.org_code)]
    if reach is Reach.OWN_UNIT:
        return [actor.org_code] if actor.org_code else []
    return []


def may_see(campaign, actor: Actor, problem: Problem) -> bool:
    """Whether the actor reaches this problem. The reporter reaches the problem the gateway
    found by their receipt code, and lists none."""
    if reach_of(actor) is Reach.OWN_CLUE:
        return True
    units = visible_units(campaign, actor)
    return units is None or problem.unit in units


def _target_unit(action: Action, args) -> str | None:
    """The unit an action moves the problem to (dispatch, reassign), if its input names one."""
    if "unit" not in SPECS[action].input.model_fields:
        return None
    return args.get("unit") if isinstance(args, dict) else getattr(args, "unit", None)


def _who(action: Action) -> tuple[str, str]:
    callers = SPECS[action].callers
    return (" or ".join(CALLERS_DOC[c][0] for c in callers),
            "、".join(CALLERS_DOC[c][1] for c in callers))


def check_permitted(campaign, actor: Actor, action: Action, problem: Problem, args) -> None:
    """The action's callers, each within its reach; NotPermitted otherwise."""
    kind = actor_kind(actor.role)
    if kind is None or kind not in SPECS[action].callers:
        who, who_zh = _who(action)
        raise NotPermitted(f"only {who} may {action.value}", f"仅{who_zh}可执行此操作")
    reach = REACH.get(kind, Reach.NONE)
    if reach in (Reach.ALL, Reach.OWN_CLUE):
        return
    if reach is Reach.OWN_UNIT:
        if not actor.org_code or problem.unit != actor.org_code:
            raise NotPermitted(f"only the handler of unit {problem.unit} may {action.value}",
                               "仅该问题承办单位的承办人可执行此操作")
        return
    units = [problem.unit] if problem.unit else []
    target = _target_unit(action, args)
    if target:
        units.append(target)
    if reach is not Reach.OWN_SYSTEM or not units or not all(
            in_system(campaign, actor.org_code, u) for u in units):
        raise NotPermitted("this problem is outside your system", "该问题不属于您所在的系统")


def check_acting_for(actor: Actor, action: Action, problem: Problem, args) -> None:
    """代为办理: a unit's step done by anyone but that unit's own handler names the unit it
    acts for (``on_behalf_of``) and why (``reason``)."""
    if not SPECS[action].unit_step:
        return
    on_behalf_of = getattr(args, "on_behalf_of", None)
    own = actor_kind(actor.role) is Role.UNIT_HANDLER and actor.org_code == problem.unit
    if on_behalf_of is not None and on_behalf_of != problem.unit:
        raise InvalidInput("on_behalf_of", f"not this problem's unit ({problem.unit})",
                           "不是该问题的承办单位")
    if own:
        return
    if on_behalf_of is None:
        raise InvalidInput(
            "on_behalf_of", f"required: acting for unit {problem.unit} (代为办理), name it",
            "代为单位办理时为必填项,请填写该问题的承办单位")
    if not getattr(args, "reason", None):
        raise InvalidInput("reason", "required: say why you act for the unit",
                           "代为单位办理时为必填项,请说明理由")


def check_separation_of_duties(actor: Actor, action: Action, problem: Problem) -> None:
    """职责分离: the account that reported the step awaiting a decision may not decide it."""
    reported_step = SPECS[action].decides
    if reported_step is None:
        return
    reported = problem.details.get(REPORTED_BY) or {}
    if reported.get("action") == reported_step.value and reported.get("by") == actor.username:
        step_zh, decision_zh = SPECS[reported_step].summary_zh, SPECS[action].summary_zh
        raise DutiesNotSeparated(
            f"separation of duties: you reported this step ({reported_step.value}) yourself, "
            f"so another account must {action.value} it",
            f"职责分离:本环节({step_zh})由您本人报告,不得由您本人{decision_zh},"
            f"须由其他账号办理,以防弄虚作假", rule="separation_of_duties")


def authorize(campaign, actor: Actor, action: Action, problem: Problem, args) -> None:
    """Every rule of who may act, in order: callers and reach, acting for a unit, separation
    of duties."""
    check_permitted(campaign, actor, action, problem, args)
    check_acting_for(actor, action, problem, args)
    check_separation_of_duties(actor, action, problem)
