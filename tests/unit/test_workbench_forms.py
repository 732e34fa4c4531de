"""The workbench's forms are built from the actions' specifications, and read back into them."""
from __future__ import annotations

from datetime import date

import pytest
from pydantic import Field, ValidationError

from contracts.actions import SPECS, ActionInput, Plan, VerifyInput
from contracts.vocabulary import Action
from gateway.workbench import forms
from gateway.workbench.pages import local_path

UNIT_ACTIONS = [s for s in SPECS.values() if s.unit_step]


def names(inputs, prefix=""):
    found = set()
    for item in inputs:
        found.add(prefix + item.name)
        if item.kind in ("group", "list"):
            found |= names(item.children, f"{prefix}{item.name}.")
    return found


def model_names(model, prefix=""):
    found = set()
    for name, info in model.model_fields.items():
        found.add(prefix + name)
        base, _, _ = forms._unwrap(info.annotation)
        inner = forms._unwrap(base.__args__[0])[0] if getattr(base, "__origin__", None) is tuple \
            else base
        if isinstance(inner, type) and issubclass(inner, ActionInput):
            found |= model_names(inner, f"{prefix}{name}.")
    return found


@pytest.mark.parametrize("spec", UNIT_ACTIONS, ids=lambda s: s.action.value)
def test_each_unit_action_form_has_an_input_for_every_field_of_its_specification(spec):
    assert names(forms.form_of(spec.input)) == model_names(spec.input)


def test_the_verify_form_has_the_six_field_plan_with_its_handling_class_and_milestones():
    plan = next(i for i in forms.form_of(VerifyInput) if i.name == "plan")
    assert plan.kind == "group" and plan.required and plan.label == ("整改计划", "Rectification plan")
    kinds = {c.name: c.kind for c in plan.children}
    assert kinds == {"measures": "textarea", "target": "textarea", "deadline": "date",
                     "lead_official": "text", "responsible_unit": "unit",
                     "responsible_person": "text", "handling": "radios", "milestones": "list"}
    handling = next(c for c in plan.children if c.name == "handling")
    assert [(v, zh) for v, zh, _ in handling.choices] == [
        ("immediate", "立行立改"), ("time_limited", "限时整改"), ("long_term", "持续整改")]
    milestones = next(c for c in plan.children if c.name == "milestones")
    assert not milestones.required and milestones.max_items == 50
    assert [c.name for c in milestones.children] == ["title", "due_on"]
    assert all(c.required for c in plan.children if c.name != "milestones")


def test_evidence_is_a_required_list_of_at_least_one_item():
    evidence = next(i for i in forms.form_of(SPECS[Action.REPORT_UNFOUNDED].input)
                    if i.name == "evidence")
    assert evidence.kind == "list" and evidence.required and evidence.min_items == 1
    sha = next(c for c in evidence.children if c.name == "sha256")
    assert not sha.required


def test_a_field_added_to_a_specification_appears_in_its_form_with_a_label_from_its_description():
    class Extended(VerifyInput):
        site_visit_on: date | None = Field(None, description="date of the site visit (现场核查日期)")
        witnesses: str = Field(min_length=1, max_length=500, description="在场人员")

    added = {i.name: i for i in forms.form_of(Extended)}
    assert added["site_visit_on"].kind == "date" and not added["site_visit_on"].required
    assert added["site_visit_on"].label == ("现场核查日期", "date of the site visit")
    assert added["witnesses"].kind == "textarea" and added["witnesses"].required
    assert added["witnesses"].label[0] == "在场人员"


def test_a_posted_form_is_read_back_into_the_nested_shape_of_the_action():
    inputs = forms.form_of(VerifyInput)
    pairs = [("plan.measures", " 整改措施 "), ("plan.target", "目标"), ("plan.deadline", "2030-01-31"),
             ("plan.handling", "long_term"), ("plan.milestones[0].title", "第一阶段"),
             ("plan.milestones[0].due_on", "2030-01-10"), ("plan.milestones[1].title", ""),
             ("plan.milestones[1].due_on", ""), ("note", ""), ("csrftoken", "x"),
             ("plan.unknown", "dropped"), ("__proto__", "x"), ("plan.milestones[x].title", "y")]
    data = forms.parse(pairs, inputs)
    assert data == {"plan": {"measures": "整改措施", "target": "目标", "deadline": "2030-01-31",
                             "handling": "long_term",
                             "milestones": [{"title": "第一阶段", "due_on": "2030-01-10"}]}}


def test_whole_numbers_are_read_as_numbers_and_anything_else_is_left_for_the_model_to_refuse():
    inputs = forms.form_of(SPECS[Action.RECORD_PROGRESS].input)
    assert forms.parse([("milestone_done", "2"), ("note", "n")], inputs)["milestone_done"] == 2
    data = forms.parse([("milestone_done", "two"), ("note", "n")], inputs)
    with pytest.raises(ValidationError) as caught:
        SPECS[Action.RECORD_PROGRESS].input.model_validate(data)
    errors = forms.field_errors(caught.value)
    assert [(e.name, e.message_zh) for e in errors] == [("milestone_done", "应为整数")]


def test_errors_name_the_inputs_they_are_about_in_chinese_and_english():
    inputs = forms.form_of(VerifyInput)
    data = forms.parse([("plan.measures", "措施"), ("plan.deadline", "明天"),
                        ("plan.milestones[0].title", "第一阶段")], inputs)
    with pytest.raises(ValidationError) as caught:
        VerifyInput.model_validate(data)
    errors = {e.name: (e.message_zh, e.message_en) for e in forms.field_errors(caught.value)}
    assert errors["plan.target"] == ("为必填项", "required")
    assert errors["plan.deadline"][0].startswith("为必填项,日期格式")
    assert errors["plan.milestones[0].due_on"] == ("为必填项", "required")
    assert "plan.handling" in errors and "plan.measures" not in errors
    assert set(errors) <= {f"plan.{n}" for n in Plan.model_fields} | {
        "plan.milestones[0].due_on"}


def test_a_dom_id_is_safe_for_any_form_name():
    assert forms.dom_id("plan.milestones[0].title") == "f-plan-milestones-0-title"


@pytest.mark.parametrize("target, expected", [
    ("/workbench/problems/abc", "/workbench/problems/abc"),
    ("https://evil.example/workbench", "/workbench"), ("//evil.example/workbench", "/workbench"),
    ("/api/v1/problems", "/workbench"), ("/workbench\\@evil", "/workbench"), ("", "/workbench")])
def test_after_signing_in_one_goes_back_only_to_a_workbench_page(target, expected):
    assert local_path(target) == expected
