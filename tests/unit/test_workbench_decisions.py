"""The decision forms' pure rules: which actions the problem page offers (as the ledger's
transition rules allow), how they are grouped, units chosen by name, and every action's form
built from its specification."""
from __future__ import annotations

from datetime import date

import pytest

from contracts.actions import SPECS
from contracts.campaign import load_default_campaign
from contracts.vocabulary import Action, Outcome, Role, State
from gateway.workbench import decisions, forms, labels
from services.ledger.domain.lifecycle import IllegalTransition, Problem, check_allowed
from tests.unit.test_workbench_forms import model_names, names

A = Action
CAMPAIGN = load_default_campaign()


def problem(state="registered", outcome=None, suspended=False):
    return {"id": "p1", "state": state, "outcome": outcome, "suspended": suspended}


# Every staff action: the reporter's own steps (no account role) are taken on the public
# follow-up page, not in the workbench.
@pytest.mark.parametrize("spec", [s for s in SPECS.values() if s.roles],
                         ids=lambda s: s.action.value)
def test_every_action_has_a_form_with_an_input_for_every_field_of_its_specification(spec):
    assert names(forms.form_of(spec.input)) == model_names(spec.input)


STATES = [(s.value, None) for s in State if s is not State.CLOSED] + [
    ("closed", o) for o in ("rectified", "unfounded", "merged", "transferred")]


@pytest.mark.parametrize("state,outcome", STATES)
@pytest.mark.parametrize("suspended", [False, True])
def test_the_page_offers_exactly_what_the_ledgers_transition_rules_allow(state, outcome, suspended):
    ledger_problem = Problem(id="p1", clue_id="c1", channel="x", title="t", description="d",
                             unit="u", category=None, kind=None, state=State(state),
                             outcome=Outcome(outcome) if outcome else None,
                             registered_at=None)
    if suspended:
        ledger_problem.suspended_since = date(2026, 1, 5)
    for spec in SPECS.values():
        try:
            check_allowed(ledger_problem, spec.action)
            allowed = True
        except IllegalTransition:
            allowed = False
        shown = decisions.offered(spec, problem(state, outcome, ledger_problem.suspended))
        assert shown == allowed, (spec.action, state, outcome, suspended)


def test_a_supervisor_is_offered_the_decisions_and_a_handler_only_the_units_answers():
    dispatched = problem("dispatched")
    supervisor = {s.action for s in decisions.available(SPECS.values(), dispatched,
                                                        Role.SUPERVISOR)}
    assert {A.REASSIGN, A.TRANSFER_OUT, A.SUSPEND} <= supervisor
    assert not supervisor & {A.VERIFY, A.REPORT_UNFOUNDED, A.DISPATCH}
    handler = {s.action for s in decisions.available(SPECS.values(), dispatched,
                                                     Role.UNIT_HANDLER)}
    assert handler == {A.VERIFY, A.REPORT_UNFOUNDED}
    county = decisions.available(SPECS.values(), dispatched, Role.COUNTY_OFFICE)
    groups = decisions.grouped(county)
    assert [g for g, _ in groups] == ["unit", "decision"]
    assert {s.action for s in groups[0][1]} == {A.VERIFY, A.REPORT_UNFOUNDED}
    merged = problem("closed", "merged")
    assert [s.action for s in decisions.available(SPECS.values(), merged, Role.SUPERVISOR)] \
        == [A.UNMERGE]
    assert decisions.available(SPECS.values(), merged, Role.UNIT_HANDLER) == []


def test_strike_off_accepting_unfounded_and_transfer_are_confirmed_as_irreversible():
    assert decisions.IRREVERSIBLE == {A.STRIKE_OFF, A.ACCEPT_UNFOUNDED, A.TRANSFER_OUT}
    assert all(SPECS[a].closes_as is not None for a in decisions.IRREVERSIBLE)


@pytest.mark.parametrize("typed,code", [
    ("盐山中学", "org_sch_yanshan_high"), (" 盐山中学 ", "org_sch_yanshan_high"),
    ("org_sch_yanshan_high", "org_sch_yanshan_high"),
    ("county education bureau", "org_education_bureau"),
    ("盐山", None), ("", None), ("不存在的单位", None)])
def test_a_unit_is_found_by_its_chinese_or_english_name_or_its_code(typed, code):
    assert decisions.resolve_unit(typed, CAMPAIGN) == code


def test_names_become_codes_in_nested_inputs_and_an_unknown_name_is_named_in_chinese():
    inputs = forms.form_of(SPECS[A.VERIFY].input)
    data = {"plan": {"responsible_unit": "盐山中学"}, "on_behalf_of": "不存在的单位"}
    errors = decisions.resolve_units(data, inputs, CAMPAIGN)
    assert data["plan"]["responsible_unit"] == "org_sch_yanshan_high"
    assert [(e.name, e.message_zh) for e in errors] == [
        ("on_behalf_of", "没有名为“不存在的单位”的单位，请从列表中选择单位名称")]
    assert "不存在的单位" in errors[0].message_en
    dispatch = forms.form_of(SPECS[A.DISPATCH].input)
    assert next(i for i in dispatch if i.name == "unit").kind == "unit"


def test_a_supervisor_is_offered_the_units_of_its_system_the_county_office_every_unit():
    edu = decisions.unit_options(CAMPAIGN, role=Role.SUPERVISOR, org_code="org_education_bureau",
                                 scoped=True)
    assert {o.code for o in edu} == {o.code for o in
                                     CAMPAIGN.units_supervised_by("org_education_bureau")}
    assert {o.type_zh for o in edu} == {"学校"}
    county = decisions.unit_options(CAMPAIGN, role=Role.COUNTY_OFFICE, scoped=True)
    assert "org_county_office" not in {o.code for o in county}
    assert len(county) == len(CAMPAIGN.organizations) - 1
    types = [o.type_zh for o in county]  # grouped: each type's units together
    assert types == sorted(types, key=types.index)


def test_a_reason_is_labelled_as_a_reason_except_when_acting_for_the_unit():
    reject = forms.form_of(SPECS[A.REJECT_PLAN].input)
    assert next(i for i in reject if i.name == "reason").label == ("理由", "Reason")
    verify = forms.form_of(SPECS[A.VERIFY].input)
    acting = next(i for i in verify if i.name == "reason")
    assert acting.label[0] == "代为办理的理由" and acting.hint[0] == "代为办理时必填。"
    for spec in (s for s in SPECS.values() if s.roles):  # staff actions have forms
        for item in forms.form_of(spec.input):
            assert labels.CJK.search(item.label[0]), (spec.action, item.name, item.label)


def test_an_excerpt_folds_whitespace_and_ends_with_an_ellipsis():
    assert decisions.excerpt("  a\n b  ") == "a b"
    assert decisions.excerpt("字" * 200, 10) == "字" * 10 + "…"
    assert decisions.excerpt(None) == ""


def test_the_account_that_reported_a_step_is_not_offered_its_decision():
    from services.ledger.domain.actions import REPORTED_BY

    assert decisions.REPORTED_BY == REPORTED_BY  # the ledger's key, read by the page
    verified = {**problem("verified"), "details": {REPORTED_BY: {"action": "verify",
                                                                 "by": "county"}}}
    mine = {s.action for s in decisions.available(SPECS.values(), verified,
                                                  Role.COUNTY_OFFICE, "county")}
    assert not mine & {A.APPROVE_PLAN, A.REJECT_PLAN} and A.SUSPEND in mine
    other = {s.action for s in decisions.available(SPECS.values(), verified,
                                                   Role.SUPERVISOR, "supervisor-edu")}
    assert {A.APPROVE_PLAN, A.REJECT_PLAN} <= other
