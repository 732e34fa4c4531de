"""Every action's form and the problem page render (the templates are strict: a name they
use that the route does not give fails here, in milliseconds, not on a live page)."""
from __future__ import annotations

import pytest

from contracts.actions import SPECS
from contracts.campaign import load_default_campaign
from contracts.vocabulary import Action, Role
from gateway.files.intake import Limits
from gateway.workbench import attachments, decisions
from gateway.workbench.pages import templates
from gateway.workbench.routes import ActionForm
from gateway.workbench.texts import text

CAMPAIGN = load_default_campaign()
UNITS = {o.code: o.name_zh for o in CAMPAIGN.organizations}


def problem(**changes):
    base = {"id": "p1", "title": "食堂卫生问题", "description": "学校食堂卫生差", "state":
            "registered", "outcome": None, "suspended": False, "unit": "org_sch_yanshan_high",
            "category": None, "kind": None, "registered_at": "2026-12-01T08:00:00+00:00",
            "merged_into": None, "severity_advice": None, "severity_decision": None,
            "waiting_on": None, "due_on": None, "respond_by": None, "rectify_by": None,
            "decide_by": None, "light": None, "plan": None, "clues": [], "timeline": [],
            "suspension_reason": None, "details": {}}
    base.update(changes)
    return base


def card(pid, **changes):
    return {"id": pid, "seen": True, "score": 0.9, "title": f"问题{pid}", "unit": "盐山中学",
            "category": "—", "registered_at": "2026-12-01 08:00", "excerpt": "摘要",
            "state": "已登记", "open": True, "mergeable": True, **changes}


def render(name, lang="zh", **context):
    return templates.get_template(name).render(
        lang=lang, html_lang="zh-CN", t=lambda key, **v: text(key, lang, **v),
        pick=lambda pair: (pair[1] if lang == "en" else pair[0]) if pair else "",
        csrf_field="csrftoken", csrf_token="tok", here="/workbench", person=None, nav=[],
        **context)


def form_page(spec, role, extras=None, the_problem=None, errors=None, lang="zh"):
    form = ActionForm.of(spec, role)
    if extras is None and spec.action is Action.MERGE:  # the route always gives these
        extras = {"merge": {"this": card("p1"), "candidates": []}}
    return render("action.html", lang=lang, problem=the_problem or problem(), form=form,
                  values={}, errors=errors or {}, summary=[], extra_rows={}, names={},
                  units=UNITS, unit_options=decisions.unit_options(
                      CAMPAIGN, role=role, org_code="org_education_bureau",
                      scoped=not spec.unit_step),
                  offered=True, extras=extras or {}, confirm_field=decisions.CONFIRM_FIELD,
                  other_field=decisions.MERGE_OTHER_FIELD,
                  files=attachments.view_of(form.all_inputs, Limits(1 << 30, 30_000_000, 10), {}))


@pytest.mark.parametrize("spec", list(SPECS.values()), ids=lambda s: s.action.value)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_actions_form_renders_for_every_role_it_names(spec, lang):
    for role in spec.roles:
        html = form_page(spec, role, lang=lang)
        assert 'id="action-form"' in html
        assert ('name="_confirm"' in html) == (spec.action in decisions.IRREVERSIBLE)


def test_the_merge_form_shows_this_problem_beside_the_suggestions():
    extras = {"merge": {"this": card("p1"), "candidates": [
        card("p2"), card("p3", open=False, state="已办结"), {"id": "p4", "seen": False,
                                                             "score": 0.7}]}}
    html = form_page(SPECS[Action.MERGE], Role.SUPERVISOR, extras)
    assert 'id="merge-this"' in html and 'id="candidate-p2"' in html
    assert 'value="p3" disabled' in html and "已办结，不能作为保留的问题" in html
    assert "问题 p4 未找到，或您无权查看" in html
    assert 'href="/workbench/problems/p2/merge?into=p1"' in html
    empty = form_page(SPECS[Action.MERGE], Role.SUPERVISOR,
                      {"merge": {"this": card("p1"), "candidates": []}})
    assert 'id="merge-none"' in empty and 'name="into_other"' in empty


def test_the_severity_form_shows_the_advice_and_marks_its_choice():
    extras = {"severity": {"advice": "stricter", "decision": None, "reasons": ["late phase"],
                           "reasons_zh": ["越往后执纪越严"]}}
    html = form_page(SPECS[Action.DECIDE_SEVERITY], Role.COUNTY_OFFICE, extras)
    assert 'data-level="stricter"' in html and "越往后执纪越严" in html
    assert '<label for="f-decision-stricter">从严 <strong class="wb-advised"' in html
    none_yet = form_page(SPECS[Action.DECIDE_SEVERITY], Role.COUNTY_OFFICE,
                         {"severity": {"advice": None, "decision": None, "reasons": [],
                                       "reasons_zh": []}})
    assert 'id="advice-none"' in none_yet


def test_the_unmerge_form_names_the_problem_it_was_merged_into():
    html = form_page(SPECS[Action.UNMERGE], Role.SUPERVISOR, {"merged_into": card("p9")},
                     problem(state="closed", outcome="merged", merged_into="p9"))
    assert 'id="unmerge-into"' in html and "问题p9" in html


@pytest.mark.parametrize("role", [Role.UNIT_HANDLER, Role.SUPERVISOR, Role.COUNTY_OFFICE])
def test_the_problem_page_groups_the_units_answer_apart_from_the_decisions(role):
    the_problem = problem(state="dispatched", severity_advice="standard",
                          severity_decision="lighter", merged_into="p0")
    actions = decisions.available(SPECS.values(), the_problem, role)
    html = render("problem.html", problem=the_problem, names={
        "unit": UNITS, "category": {}, "kind": {}, "channel": {}}, actions=actions,
        groups=decisions.grouped(actions), irreversible=decisions.IRREVERSIBLE, flash=None)
    assert ('id="actions-unit"' in html) == (role is not Role.SUPERVISOR)
    assert ('id="actions-decision"' in html) == (role is not Role.UNIT_HANDLER)
    assert "一般 · 已作出的决定：从轻" in html


@pytest.mark.parametrize("spec", list(SPECS.values()), ids=lambda s: s.action.value)
def test_every_description_an_input_points_to_exists(spec):
    import re

    for role in spec.roles:
        html = form_page(spec, role)
        ids = set(re.findall(r'\sid="([^"]+)"', html))
        for refs in re.findall(r'aria-describedby="([^"]+)"', html):
            assert set(refs.split()) <= ids, (spec.action, refs)
        assert len(re.findall(r'\sid="([^"]+)"', html)) == len(ids), "ids are unique"
