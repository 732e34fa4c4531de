"""Who may do what to which problem (deny by default); pure, no I/O except one read of the
shipped campaign file for the real organization tree."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest

from contracts.campaign import load_default_campaign
from services.ledger.domain.access import (
    NotPermitted, UNIT_ACTIONS, check_permitted, may_see, visible_units,
)
from services.ledger.domain.actions import Actor
from services.ledger.domain.lifecycle import Action, Problem

A = Action
ALL_ACTIONS = list(Action)
# The reporter's own steps (补充材料, 回访满意度): by receipt code, for no account role.
REPORTER_STEPS = {Action.REPORTER_SUPPLEMENT, Action.RATE_SATISFACTION}
STAFF_ACTIONS = [a for a in ALL_ACTIONS if a not in REPORTER_STEPS]
# 公开曝光 and taking it back: the county office's alone.
COUNTY_OFFICE_ONLY = {Action.PUBLISH, Action.UNPUBLISH}


class FakeCampaign:
    """Office ← two supervising bodies ← their units."""

    reports_to = {"sup_edu": "office", "sup_gov": "office",
                  "sch_1": "sup_edu", "sch_2": "sup_edu", "gd_1": "sup_gov", "gd_2": "sup_gov"}

    def supervisor_of(self, code):
        parent = self.reports_to.get(code) if isinstance(code, str) else None
        return SimpleNamespace(code=parent) if parent else None

    def units_supervised_by(self, code):
        return [SimpleNamespace(code=c) for c, parent in self.reports_to.items() if parent == code]


CAMPAIGN = FakeCampaign()
HANDLER = Actor("h1", "unit_handler", "sch_1")
EDU = Actor("s1", "supervisor", "sup_edu")
GOV = Actor("s2", "supervisor", "sup_gov")
OFFICE = Actor("o1", "county_office", "office")
SPOT = Actor("c1", "spot_check", None)
REPORTER = Actor("r1", "reporter", None)
OUTSIDERS = [Actor("m1", "media", None), Actor("p1", "public", None), Actor("x1", "ops", None),
             Actor("n1", "", None)]


def problem(unit: str | None = "sch_1") -> Problem:
    return Problem(id="p1", clue_id="c1", channel="letter", title="t", description="d",
                   unit=unit, category=None, kind=None, registered_at=datetime(2017, 6, 1))


def permitted(actor, action, prob, args=None) -> bool:
    try:
        check_permitted(CAMPAIGN, actor, action, prob, args or {})
        return True
    except NotPermitted:
        return False


def test_unit_actions_are_the_units_own_answers():
    assert UNIT_ACTIONS == {A.VERIFY, A.REPORT_UNFOUNDED, A.RECORD_PROGRESS, A.REPORT_RECTIFIED}


@pytest.mark.parametrize("action", ALL_ACTIONS, ids=[a.value for a in ALL_ACTIONS])
def test_a_unit_handler_takes_only_unit_actions_and_only_on_its_own_units_problems(action):
    assert permitted(HANDLER, action, problem("sch_1")) == (action in UNIT_ACTIONS)
    assert not permitted(HANDLER, action, problem("sch_2"))
    assert not permitted(HANDLER, action, problem("gd_1"))
    assert not permitted(HANDLER, action, problem(None))


def test_a_unit_handler_without_a_unit_may_do_nothing():
    nobody = Actor("h0", "unit_handler", None)
    for action in ALL_ACTIONS:
        assert not permitted(nobody, action, problem(None)), action
    assert visible_units(CAMPAIGN, nobody) == []
    assert not may_see(CAMPAIGN, nobody, problem(None))


@pytest.mark.parametrize("action", ALL_ACTIONS, ids=[a.value for a in ALL_ACTIONS])
def test_a_supervisor_acts_within_its_system_only_and_leaves_unit_actions_to_units(action):
    staff_step = (action not in UNIT_ACTIONS and action not in REPORTER_STEPS
                  and action not in COUNTY_OFFICE_ONLY)
    assert permitted(EDU, action, problem("sch_1")) == staff_step
    assert not permitted(EDU, action, problem("gd_1"))
    assert permitted(GOV, action, problem("gd_1")) == staff_step
    assert not permitted(GOV, action, problem("sch_1"))


def test_a_supervisor_dispatches_an_unassigned_problem_into_its_own_system_only():
    assert permitted(EDU, A.DISPATCH, problem(None), {"unit": "sch_2"})
    assert not permitted(EDU, A.DISPATCH, problem(None), {"unit": "gd_1"})
    assert not permitted(EDU, A.DISPATCH, problem(None), {})
    assert not permitted(EDU, A.SUSPEND, problem(None))


def test_a_supervisor_may_not_dispatch_or_reassign_its_problem_into_another_system():
    assert not permitted(EDU, A.DISPATCH, problem("sch_1"), {"unit": "gd_1"})
    assert not permitted(EDU, A.REASSIGN, problem("sch_1"), {"unit": "gd_2"})
    assert permitted(EDU, A.REASSIGN, problem("sch_1"), {"unit": "sch_2"})
    # nor pull another system's problem into its own
    assert not permitted(EDU, A.REASSIGN, problem("gd_1"), {"unit": "sch_1"})


def test_a_supervisor_does_not_act_on_the_supervising_bodies_themselves():
    assert not permitted(EDU, A.DISPATCH, problem("sup_edu"))
    assert not permitted(EDU, A.DISPATCH, problem("sup_gov"))


@pytest.mark.parametrize("action", STAFF_ACTIONS, ids=[a.value for a in STAFF_ACTIONS])
def test_the_county_office_may_do_anything_anywhere(action):
    for unit in ("sch_1", "gd_2", "sup_edu", None):
        assert permitted(OFFICE, action, problem(unit), {"unit": "gd_1"})


@pytest.mark.parametrize("action", sorted(REPORTER_STEPS))
def test_no_staff_account_takes_the_reporters_own_steps(action):
    for actor in (OFFICE, EDU, GOV, HANDLER, SPOT):
        assert not permitted(actor, action, problem("sch_1"), {"unit": "sch_1"}), actor


@pytest.mark.parametrize("action", ALL_ACTIONS, ids=[a.value for a in ALL_ACTIONS])
def test_the_spot_check_team_may_reopen_anything_and_do_nothing_else(action):
    for unit in ("sch_1", "gd_2"):
        assert permitted(SPOT, action, problem(unit)) == (action is A.REOPEN)


def test_who_may_reopen():
    assert permitted(EDU, A.REOPEN, problem("sch_1"))
    assert not permitted(EDU, A.REOPEN, problem("gd_1"))
    assert permitted(REPORTER, A.REOPEN, problem("gd_1"))
    assert not permitted(HANDLER, A.REOPEN, problem("sch_1"))
    assert permitted(OFFICE, A.REOPEN, problem("gd_1"))


@pytest.mark.parametrize("actor", OUTSIDERS, ids=[a.role or "no_role" for a in OUTSIDERS])
def test_everyone_else_is_refused_everything(actor):
    for action in ALL_ACTIONS:
        assert not permitted(actor, action, problem("sch_1"), {"unit": "sch_1"}), action
    assert visible_units(CAMPAIGN, actor) == []
    assert not may_see(CAMPAIGN, actor, problem("sch_1"))


def test_a_reporter_may_reopen_add_information_and_rate_but_nothing_else():
    for action in ALL_ACTIONS:
        assert permitted(REPORTER, action, problem("sch_1")) == (
            action is A.REOPEN or action in REPORTER_STEPS), action


def test_what_each_role_sees():
    assert visible_units(CAMPAIGN, OFFICE) is None
    assert visible_units(CAMPAIGN, SPOT) is None
    assert sorted(visible_units(CAMPAIGN, EDU)) == ["sch_1", "sch_2"]
    assert sorted(visible_units(CAMPAIGN, GOV)) == ["gd_1", "gd_2"]
    assert visible_units(CAMPAIGN, HANDLER) == ["sch_1"]
    assert may_see(CAMPAIGN, EDU, problem("sch_2"))
    assert not may_see(CAMPAIGN, EDU, problem("gd_1"))
    assert not may_see(CAMPAIGN, EDU, problem(None))
    assert may_see(CAMPAIGN, OFFICE, problem(None))
    assert not may_see(CAMPAIGN, HANDLER, problem("sch_2"))


# ── The shipped campaign's organization tree ────────────────────────────────────────────────

@pytest.fixture(scope="module")
def real():
    return load_default_campaign()


SCHOOL, DEPARTMENT = "org_sch_yanshan_high", "org_gd_public_security"
EDUCATION = Actor("edu", "supervisor", "org_education_bureau")
SUPERVISION = Actor("jc", "supervisor", "org_supervision_bureau")


def test_the_education_bureau_supervises_schools_not_government_departments(real):
    check_permitted(real, EDUCATION, A.DISPATCH, problem(None), {"unit": SCHOOL})
    check_permitted(real, EDUCATION, A.APPROVE_PLAN, problem(SCHOOL), {})
    with pytest.raises(NotPermitted):
        check_permitted(real, EDUCATION, A.DISPATCH, problem(None), {"unit": DEPARTMENT})
    with pytest.raises(NotPermitted):
        check_permitted(real, EDUCATION, A.STRIKE_OFF, problem(DEPARTMENT), {})
    units = visible_units(real, EDUCATION)
    assert SCHOOL in units and DEPARTMENT not in units


def test_the_supervision_bureau_supervises_government_departments_not_schools(real):
    check_permitted(real, SUPERVISION, A.STRIKE_OFF, problem(DEPARTMENT), {})
    with pytest.raises(NotPermitted):
        check_permitted(real, SUPERVISION, A.STRIKE_OFF, problem(SCHOOL), {})
    with pytest.raises(NotPermitted):
        check_permitted(real, SUPERVISION, A.REASSIGN, problem(DEPARTMENT), {"unit": SCHOOL})
    units = visible_units(real, SUPERVISION)
    assert DEPARTMENT in units and SCHOOL not in units


def test_the_county_office_reaches_every_system_of_the_real_tree(real):
    office = Actor("office", "county_office", "org_county_office")
    for unit in (SCHOOL, DEPARTMENT):
        check_permitted(real, office, A.STRIKE_OFF, problem(unit), {})
        check_permitted(real, office, A.VERIFY, problem(unit), {})
    assert visible_units(real, office) is None


def test_a_schools_handler_answers_for_its_school_only(real):
    handler = Actor("sch", "unit_handler", SCHOOL)
    check_permitted(real, handler, A.VERIFY, problem(SCHOOL), {})
    with pytest.raises(NotPermitted):
        check_permitted(real, handler, A.VERIFY, problem(DEPARTMENT), {})
    with pytest.raises(NotPermitted):
        check_permitted(real, handler, A.DISPATCH, problem(SCHOOL), {"unit": SCHOOL})
