"""Nobody closes their own case (职责分离, against 弄虚作假): the account that reports a step
may not approve it, and whoever does a unit's step for it says for whom and why. Pure."""
from __future__ import annotations

import copy
from datetime import date, datetime
from types import SimpleNamespace

import pytest

from contracts.vocabulary import Action
from services.ledger.domain.access import (
    DutiesNotSeparated, NotPermitted, authorize, check_acting_for, check_separation_of_duties,
)
from services.ledger.domain.actions import Actor, Context, InvalidInput, parse_input, perform
from services.ledger.domain.lifecycle import Problem, State

A = Action
UNIT = "org_sch_yanshan_high"
TODAY = date(2017, 6, 5)
OFFICE = Actor("county", "county_office", "org_county_office")
OTHER_OFFICE = Actor("county-2", "county_office", "org_county_office")
HANDLER = Actor("handler", "unit_handler", UNIT)
PLAN = {"measures": "公开收费目录", "target": "杜绝乱收费", "deadline": "2017-07-31",
        "lead_official": "李校长", "responsible_unit": UNIT, "responsible_person": "王老师",
        "handling": "time_limited"}
EVIDENCE = [{"description": "公示照片"}]
FOR_UNIT = {"on_behalf_of": UNIT, "reason": "学校承办人调离,县委办公室代为办理"}


class Campaign:
    def supervisor_of(self, code):
        return SimpleNamespace(code="org_education_bureau") if code == UNIT else None

    def units_supervised_by(self, code):
        return [SimpleNamespace(code=UNIT)] if code == "org_education_bureau" else []


CAMPAIGN = Campaign()


def ctx() -> Context:
    return Context(today=TODAY, now=datetime(2017, 6, 5, 9), unit_exists=lambda c: c == UNIT,
                   phase_on=lambda day: None, advise=lambda p: None)


def problem(state: State = State.REGISTERED) -> Problem:
    return Problem(id="p1", clue_id="c1", channel="letter", title="t", description="d",
                   unit=UNIT, category=None, kind=None, registered_at=datetime(2017, 6, 1),
                   state=state)


def do(p: Problem, action: Action, actor: Actor, **args):
    """What the ledger's use case does: every rule of who may act, then the action."""
    inp = parse_input(action, args)
    authorize(CAMPAIGN, actor, action, p, inp)
    return perform(p, action, actor, inp, ctx())


def dispatched() -> Problem:
    p = problem()
    do(p, A.DISPATCH, OFFICE)
    return p


# (the report, its arguments, the decisions on it with their arguments)
PAIRS = [
    (A.VERIFY, {"plan": PLAN}, [(A.APPROVE_PLAN, {}), (A.REJECT_PLAN, {"reason": "不具体"})]),
    (A.REPORT_UNFOUNDED, {"findings": "查无此事", "evidence": EVIDENCE},
     [(A.ACCEPT_UNFOUNDED, {}), (A.REJECT_UNFOUNDED, {"reason": "核查不深入"})]),
    (A.REPORT_RECTIFIED, {"evidence": EVIDENCE},
     [(A.STRIKE_OFF, {}), (A.REJECT_RECTIFICATION, {"reason": "不到位"})]),
]
CASES = [(report, args, decision, dargs) for report, args, decisions in PAIRS
         for decision, dargs in decisions]


def reported(report: Action, args: dict, by: Actor) -> Problem:
    p = dispatched()
    if report is A.REPORT_RECTIFIED:
        do(p, A.VERIFY, HANDLER, plan=PLAN)
        do(p, A.APPROVE_PLAN, OFFICE)
    extra = FOR_UNIT if by is not HANDLER else {}
    do(p, report, by, **args, **extra)
    return p


@pytest.mark.parametrize(("report", "args", "decision", "dargs"), CASES,
                         ids=[f"{r.value}-{d.value}" for r, _, d, _ in CASES])
def test_the_account_that_reported_a_step_may_not_decide_it(report, args, decision, dargs):
    p = reported(report, args, OFFICE)
    before = copy.deepcopy(p)
    with pytest.raises(DutiesNotSeparated) as caught:
        do(p, decision, OFFICE, **dargs)
    assert isinstance(caught.value, NotPermitted)
    assert "separation of duties" in str(caught.value) and report.value in str(caught.value)
    assert caught.value.message_zh.startswith("职责分离") and "弄虚作假" in caught.value.message_zh
    assert caught.value.rule == "separation_of_duties"
    assert p == before


@pytest.mark.parametrize(("report", "args", "decision", "dargs"), CASES,
                         ids=[f"{r.value}-{d.value}" for r, _, d, _ in CASES])
def test_another_account_decides_what_one_reported(report, args, decision, dargs):
    p = reported(report, args, OFFICE)
    change = do(p, decision, OTHER_OFFICE, **dargs)
    assert change.actor is OTHER_OFFICE
    q = reported(report, args, HANDLER)
    do(q, decision, OFFICE, **dargs)


def test_the_county_office_cannot_run_a_case_alone():
    """The reproduction: one county office account did dispatch, verify and approve_plan."""
    p = dispatched()
    do(p, A.VERIFY, OFFICE, plan=PLAN, **FOR_UNIT)
    with pytest.raises(DutiesNotSeparated):
        do(p, A.APPROVE_PLAN, OFFICE)
    assert p.state is State.VERIFIED


def test_a_decision_looks_at_the_step_now_awaiting_it_only():
    p = dispatched()
    do(p, A.VERIFY, OFFICE, plan=PLAN, **FOR_UNIT)
    do(p, A.REJECT_PLAN, OTHER_OFFICE, reason="措施不具体")
    do(p, A.VERIFY, HANDLER, plan=PLAN)
    do(p, A.APPROVE_PLAN, OFFICE)      # the plan now awaiting approval is the handler's
    assert p.state is State.RECTIFYING


def test_rules_that_decide_nothing_are_not_bound_by_who_reported():
    p = reported(A.VERIFY, {"plan": PLAN}, OFFICE)
    check_separation_of_duties(OFFICE, A.SUSPEND, p)
    check_separation_of_duties(OFFICE, A.DECIDE_SEVERITY, p)


# ── Acting for a unit (代为办理) ──────────────────────────────────────────────────────────────

UNIT_STEPS = [(A.VERIFY, {"plan": PLAN}, "dispatched"),
              (A.REPORT_UNFOUNDED, {"findings": "查无此事", "evidence": EVIDENCE}, "dispatched"),
              (A.RECORD_PROGRESS, {"note": "已公示"}, "rectifying"),
              (A.REPORT_RECTIFIED, {"evidence": EVIDENCE}, "rectifying")]


def at(where: str) -> Problem:
    p = dispatched()
    if where == "rectifying":
        do(p, A.VERIFY, HANDLER, plan=PLAN)
        do(p, A.APPROVE_PLAN, OFFICE)
    return p


@pytest.mark.parametrize(("action", "args", "where"), UNIT_STEPS,
                         ids=[a.value for a, _, _ in UNIT_STEPS])
def test_acting_for_a_unit_names_the_unit_and_why_and_the_history_keeps_both(action, args,
                                                                             where):
    change = do(at(where), action, OFFICE, **args, **FOR_UNIT)
    assert change.data["on_behalf_of"] == UNIT
    assert change.data["reason"] == FOR_UNIT["reason"]


@pytest.mark.parametrize(("action", "args", "where"), UNIT_STEPS,
                         ids=[a.value for a, _, _ in UNIT_STEPS])
@pytest.mark.parametrize(("extra", "field"), [
    ({}, "on_behalf_of"),
    ({"reason": "代办"}, "on_behalf_of"),
    ({"on_behalf_of": UNIT}, "reason"),
    ({"on_behalf_of": "org_gd_public_security", "reason": "代办"}, "on_behalf_of"),
], ids=["neither", "no_unit", "no_reason", "another_unit"])
def test_acting_for_a_unit_without_saying_for_whom_and_why_is_refused(action, args, where,
                                                                     extra, field):
    p = at(where)
    before = copy.deepcopy(p)
    with pytest.raises(InvalidInput) as caught:
        do(p, action, OFFICE, **args, **extra)
    assert caught.value.field == field and caught.value.message_zh
    assert p == before


@pytest.mark.parametrize(("action", "args", "where"), UNIT_STEPS,
                         ids=[a.value for a, _, _ in UNIT_STEPS])
def test_a_units_own_handler_needs_to_say_nothing_of_the_kind(action, args, where):
    change = do(at(where), action, HANDLER, **args)
    assert "on_behalf_of" not in change.data
    inp = parse_input(action, {**args, "on_behalf_of": "org_gd_public_security",
                               "reason": "x"})
    with pytest.raises(InvalidInput):
        check_acting_for(HANDLER, action, at(where), inp)


def test_a_supervisors_step_needs_no_acting_for():
    p = problem()
    inp = parse_input(A.DISPATCH, {})
    check_acting_for(OFFICE, A.DISPATCH, p, inp)
    with pytest.raises(InvalidInput):
        parse_input(A.DISPATCH, {"on_behalf_of": UNIT})   # not an input of a supervisor's step
