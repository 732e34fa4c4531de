"""The rectification plan (整改计划): six required fields and a handling class; pure, no I/O."""
from __future__ import annotations

from datetime import date

import pytest

from services.ledger.domain.plan import (
    HandlingClass, Milestone, PlanInvalid, RectificationPlan, make_plan, plan_from_dict,
)

TODAY = date(2017, 6, 5)
UNITS = {"org_gd_public_security", "org_sch_yanshan_high"}
SIX_FIELDS = ("measures", "target", "deadline", "lead_official", "responsible_unit",
              "responsible_person")


def data(**overrides) -> dict:
    plan = {"measures": "公开办事流程, 限时办结", "target": "群众办事不再跑冤枉路",
            "deadline": "2017-07-31", "lead_official": "张副局长",
            "responsible_unit": "org_gd_public_security", "responsible_person": "李科长",
            "handling": "time_limited"}
    plan.update(overrides)
    return {k: v for k, v in plan.items() if v is not ...}


def build(raw: dict) -> RectificationPlan:
    return make_plan(raw, today=TODAY, known_unit=lambda code: code in UNITS)


def fields_named(raw: dict) -> list[str]:
    with pytest.raises(PlanInvalid) as caught:
        build(raw)
    return [f for f, _ in caught.value.problems]


def test_a_complete_plan_is_built_with_all_six_fields_and_its_class():
    plan = build(data(measures="  公开办事流程  "))
    assert plan.measures == "公开办事流程"
    assert plan.target == "群众办事不再跑冤枉路"
    assert plan.deadline == date(2017, 7, 31)
    assert plan.lead_official == "张副局长"
    assert plan.responsible_unit == "org_gd_public_security"
    assert plan.responsible_person == "李科长"
    assert plan.handling is HandlingClass.TIME_LIMITED
    assert plan.milestones == ()


@pytest.mark.parametrize("name", SIX_FIELDS)
@pytest.mark.parametrize("how", ["absent", "blank", "wrong_type"])
def test_each_of_the_six_fields_is_required(name, how):
    value = {"absent": ..., "blank": "   ", "wrong_type": 7}[how]
    assert name in fields_named(data(**{name: value}))


def test_every_missing_field_is_listed_at_once():
    named = fields_named({"handling": "immediate"})
    assert set(SIX_FIELDS) <= set(named)
    assert str(PlanInvalid([("target", "required"), ("deadline", "lies in the past")])) == (
        "target: required; deadline: lies in the past")


@pytest.mark.parametrize("handling", ["immediate", "time_limited"])
def test_immediate_and_time_limited_plans_need_no_milestones(handling):
    assert build(data(handling=handling)).handling.value == handling


@pytest.mark.parametrize("handling", [None, "", "soon", "LONG_TERM", 3])
def test_handling_class_must_be_one_of_the_three(handling):
    assert fields_named(data(handling=handling)) == ["handling"]


def test_a_long_term_plan_needs_milestones():
    assert fields_named(data(handling="long_term")) == ["milestones"]
    assert fields_named(data(handling="long_term", milestones=[])) == ["milestones"]


def test_a_long_term_plan_keeps_its_milestones_and_the_next_one_is_due_first():
    plan = build(data(handling="long_term", milestones=[
        {"title": "回头看", "due_on": "2017-07-20"}, {"title": "建章立制", "due_on": "2017-06-30"}]))
    assert plan.handling is HandlingClass.LONG_TERM
    assert plan.milestones == (Milestone("回头看", date(2017, 7, 20)),
                               Milestone("建章立制", date(2017, 6, 30)))
    assert plan.next_due() == date(2017, 6, 30)


def test_next_due_falls_back_to_the_deadline_once_all_milestones_are_done():
    plan = RectificationPlan("m", "t", date(2017, 7, 31), "l", "u", "p", HandlingClass.LONG_TERM,
                             (Milestone("a", date(2017, 6, 30), done_on=date(2017, 6, 29)),))
    assert plan.next_due() == date(2017, 7, 31)


def test_a_milestone_after_the_deadline_is_refused():
    named = fields_named(data(handling="long_term", milestones=[
        {"title": "建章立制", "due_on": "2017-06-30"}, {"title": "回头看", "due_on": "2017-08-01"}]))
    assert named == ["milestones[1].due_on"]


def test_a_milestone_on_the_deadline_is_accepted():
    plan = build(data(handling="long_term", milestones=[{"title": "验收", "due_on": "2017-07-31"}]))
    assert plan.milestones[0].due_on == plan.deadline


@pytest.mark.parametrize(("milestone", "field"), [
    ({"due_on": "2017-06-30"}, "milestones[0].title"),
    ({"title": "建章立制"}, "milestones[0].due_on"),
    ({"title": "建章立制", "due_on": "June"}, "milestones[0].due_on"),
    ("建章立制", "milestones[0].title"),
])
def test_a_malformed_milestone_is_named_by_its_index(milestone, field):
    assert field in fields_named(data(handling="long_term", milestones=[milestone]))


@pytest.mark.parametrize("milestones", [5, "建章立制", {"title": "x"}])
def test_milestones_that_are_not_a_list_are_refused_not_crashed_on(milestones):
    assert "milestones" in fields_named(data(handling="long_term", milestones=milestones))


@pytest.mark.parametrize("raw", [None, "a plan", ["measures"], 42])
def test_a_plan_that_is_not_an_object_is_refused_not_crashed_on(raw):
    with pytest.raises(PlanInvalid):
        make_plan(raw, today=TODAY, known_unit=lambda code: True)


def test_a_deadline_in_the_past_is_refused_but_today_is_fine():
    assert fields_named(data(deadline="2017-06-04")) == ["deadline"]
    assert build(data(deadline="2017-06-05")).deadline == TODAY
    assert build(data(deadline=date(2017, 6, 6))).deadline == date(2017, 6, 6)


@pytest.mark.parametrize("deadline", ["2017-13-01", "next month", 20170731, None])
def test_a_deadline_must_be_a_date(deadline):
    assert fields_named(data(deadline=deadline)) == ["deadline"]


def test_the_responsible_unit_must_be_a_known_organization():
    with pytest.raises(PlanInvalid) as caught:
        build(data(responsible_unit="org_nowhere"))
    assert caught.value.problems == [("responsible_unit", "unknown organization 'org_nowhere'")]


def test_a_plan_survives_a_round_trip_through_plain_data():
    plan = build(data(handling="long_term", milestones=[{"title": "建章立制",
                                                         "due_on": "2017-06-30"}]))
    stored = plan.to_dict()
    assert stored["deadline"] == "2017-07-31" and stored["handling"] == "long_term"
    assert stored["milestones"] == [{"title": "建章立制", "due_on": "2017-06-30", "done_on": None}]
    assert plan_from_dict(stored) == plan
