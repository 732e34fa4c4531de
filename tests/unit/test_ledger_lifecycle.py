"""The ledger's state machine (台账) and whole paths through ``perform``; pure, no I/O."""
from __future__ import annotations

import copy
import itertools
from datetime import date, datetime
from types import SimpleNamespace

import pytest

from services.ledger.domain import workdays
from services.ledger.domain.actions import Actor, Context, InvalidInput, perform
from services.ledger.domain.lifecycle import (
    ALLOWED_WHILE_SUSPENDED, TRANSITIONS, Action, IllegalTransition, Outcome, Problem, State,
    check_allowed,
)
from services.ledger.domain.plan import PlanInvalid, RectificationPlan

S, A, O = State, Action, Outcome

# The table the plan describes, written out independently of the code's own table.
EXPECTED = {
    (S.REGISTERED, A.DISPATCH): S.DISPATCHED,
    (S.REGISTERED, A.MERGE): S.CLOSED,
    (S.REGISTERED, A.TRANSFER_OUT): S.CLOSED,
    (S.DISPATCHED, A.REASSIGN): S.DISPATCHED,
    (S.DISPATCHED, A.VERIFY): S.VERIFIED,
    (S.DISPATCHED, A.REPORT_UNFOUNDED): S.UNFOUNDED,
    (S.DISPATCHED, A.TRANSFER_OUT): S.CLOSED,
    (S.DISPATCHED, A.SUSPEND): S.DISPATCHED,
    (S.DISPATCHED, A.RESUME): S.DISPATCHED,
    (S.VERIFIED, A.APPROVE_PLAN): S.RECTIFYING,
    (S.VERIFIED, A.REJECT_PLAN): S.DISPATCHED,
    (S.VERIFIED, A.SUSPEND): S.VERIFIED,
    (S.VERIFIED, A.RESUME): S.VERIFIED,
    (S.VERIFIED, A.DECIDE_SEVERITY): S.VERIFIED,
    (S.UNFOUNDED, A.ACCEPT_UNFOUNDED): S.CLOSED,
    (S.UNFOUNDED, A.REJECT_UNFOUNDED): S.DISPATCHED,
    (S.UNFOUNDED, A.SUSPEND): S.UNFOUNDED,
    (S.UNFOUNDED, A.RESUME): S.UNFOUNDED,
    (S.RECTIFYING, A.REASSIGN): S.RECTIFYING,
    (S.RECTIFYING, A.RECORD_PROGRESS): S.RECTIFYING,
    (S.RECTIFYING, A.CHECK_PROGRESS): S.RECTIFYING,
    (S.RECTIFYING, A.REPORT_RECTIFIED): S.RECTIFIED,
    (S.RECTIFYING, A.SUSPEND): S.RECTIFYING,
    (S.RECTIFYING, A.RESUME): S.RECTIFYING,
    (S.RECTIFYING, A.DECIDE_SEVERITY): S.RECTIFYING,
    (S.RECTIFIED, A.REJECT_RECTIFICATION): S.RECTIFYING,
    (S.RECTIFIED, A.STRIKE_OFF): S.CLOSED,
    (S.RECTIFIED, A.SUSPEND): S.RECTIFIED,
    (S.RECTIFIED, A.RESUME): S.RECTIFIED,
    (S.RECTIFIED, A.DECIDE_SEVERITY): S.RECTIFIED,
    (S.CLOSED, A.REOPEN): S.REGISTERED,
    (S.CLOSED, A.UNMERGE): S.REGISTERED,
    (S.CLOSED, A.DECIDE_SEVERITY): S.CLOSED,
}
# The reporter's own steps leave the state as it is: information while the case is open
# (补充材料), the return visit once it is rectified or closed as rectified or unfounded.
EXPECTED.update({(state, A.REPORTER_SUPPLEMENT): state for state in State
                 if state is not S.CLOSED})
EXPECTED.update({(S.RECTIFIED, A.RATE_SATISFACTION): S.RECTIFIED,
                 (S.CLOSED, A.RATE_SATISFACTION): S.CLOSED})
# 公开曝光 and taking it back: in any state, the state unchanged.
EXPECTED.update({(state, action): state for state in State
                 for action in (A.PUBLISH, A.UNPUBLISH)})
REPORTER_STEPS = (A.REPORTER_SUPPLEMENT, A.RATE_SATISFACTION)
ALL_PAIRS = list(itertools.product(State, Action))
ALLOWED_PAIRS = [pair for pair in ALL_PAIRS if pair in EXPECTED]
REFUSED_PAIRS = [pair for pair in ALL_PAIRS if pair not in EXPECTED]

TODAY = date(2017, 6, 5)   # a Monday in the self-inspection phase
UNIT = "org_gd_public_security"
OTHER_UNIT = "org_gd_transport"
UNITS = {UNIT, OTHER_UNIT, "org_sch_yanshan_high"}
HANDLER = Actor("handler", "unit_handler", UNIT)
SUPERVISOR = Actor("supervisor", "supervisor", "org_supervision_bureau")
OFFICE = Actor("office", "county_office", "org_county_office")
SPOT = Actor("checker", "spot_check", None)


def bare(state: State, outcome: Outcome | None = None, suspended: bool = False) -> Problem:
    return Problem(id="p1", clue_id="c1", channel="letter", title="t", description="d",
                   unit=UNIT, category=None, kind=None,
                   registered_at=datetime(2017, 6, 1, 8, 0), state=state, outcome=outcome,
                   suspended_since=date(2017, 6, 1) if suspended else None,
                   suspension_reason="waiting for court" if suspended else None)


def ctx(today: date = TODAY) -> Context:
    return Context(today=today, now=datetime.combine(today, datetime.min.time()).replace(hour=9),
                   unit_exists=lambda code: code in UNITS,
                   phase_on=lambda day: SimpleNamespace(code="p2_self_inspection"),
                   advise=lambda problem: "lighter")


def full_plan(**overrides) -> dict:
    plan = {"measures": "公开办事流程, 限时办结", "target": "群众办事不再跑冤枉路",
            "deadline": "2017-07-31", "lead_official": "张副局长", "responsible_unit": UNIT,
            "responsible_person": "李科长", "handling": "time_limited"}
    plan.update(overrides)
    return plan


EVIDENCE = [{"description": "整改报告和群众回访记录", "sha256": "ab" * 32}]

# Steps from registration to each state, with the actor who takes each.
STEPS = {
    "dispatch": (A.DISPATCH, SUPERVISOR, {}),
    "verify": (A.VERIFY, HANDLER, {"plan": full_plan()}),
    "approve": (A.APPROVE_PLAN, SUPERVISOR, {}),
    "rectified": (A.REPORT_RECTIFIED, HANDLER, {"evidence": EVIDENCE}),
    "strike": (A.STRIKE_OFF, OFFICE, {}),
    "unfounded": (A.REPORT_UNFOUNDED, HANDLER, {"findings": "查无此事", "evidence": EVIDENCE}),
    "accept": (A.ACCEPT_UNFOUNDED, SUPERVISOR, {}),
    "merge": (A.MERGE, OFFICE, {"into": "p0"}),
    "transfer": (A.TRANSFER_OUT, OFFICE, {"to": "县纪委", "reason": "涉嫌违纪"}),
    "suspend": (A.SUSPEND, SUPERVISOR, {"reason": "等待司法结论"}),
}
PATHS = {
    "registered": [],
    "dispatched": ["dispatch"],
    "verified": ["dispatch", "verify"],
    "rectifying": ["dispatch", "verify", "approve"],
    "rectified": ["dispatch", "verify", "approve", "rectified"],
    "unfounded": ["dispatch", "unfounded"],
    "closed_rectified": ["dispatch", "verify", "approve", "rectified", "strike"],
    "closed_unfounded": ["dispatch", "unfounded", "accept"],
    "closed_merged": ["merge"],
    "closed_transferred": ["transfer"],
    "dispatched_suspended": ["dispatch", "suspend"],
    "rectifying_suspended": ["dispatch", "verify", "approve", "suspend"],
}


def problem_at(where: str, today: date = TODAY) -> Problem:
    problem = bare(S.REGISTERED)
    for step in PATHS[where]:
        action, actor, args = STEPS[step]
        perform(problem, action, actor, copy.deepcopy(args), ctx(today))
    return problem


# ── 1. The state machine, every pair ────────────────────────────────────────────────────────

def test_the_transition_table_is_exactly_the_plans_lifecycle():
    assert TRANSITIONS == EXPECTED


def _fit_for(state: State, action: Action) -> Problem:
    """A problem in ``state`` that meets the outcome and suspension rules for ``action``."""
    outcome = None
    if state is S.CLOSED:
        outcome = O.MERGED if action is A.UNMERGE else O.RECTIFIED
    fit = bare(state, outcome, suspended=action is A.RESUME)
    if action is A.UNPUBLISH:
        fit.details["published"] = {"found": "…", "done": "…"}
    return fit


@pytest.mark.parametrize(("state", "action"), ALLOWED_PAIRS,
                         ids=[f"{s.value}-{a.value}" for s, a in ALLOWED_PAIRS])
def test_allowed_transition_leads_to_its_target(state, action):
    assert check_allowed(_fit_for(state, action), action) is EXPECTED[(state, action)]


@pytest.mark.parametrize(("state", "action"), REFUSED_PAIRS,
                         ids=[f"{s.value}-{a.value}" for s, a in REFUSED_PAIRS])
def test_refused_transition_names_state_and_action(state, action):
    for outcome in ((None,) if state is not S.CLOSED else tuple(Outcome)):
        with pytest.raises(IllegalTransition) as caught:
            check_allowed(bare(state, outcome), action)
        assert f"'{state.value}'" in str(caught.value)
        assert f"'{action.value}'" in str(caught.value)
        assert (caught.value.state, caught.value.action) == (state, action)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_reopen_only_from_a_rectified_or_unfounded_closure(outcome):
    problem = bare(S.CLOSED, outcome)
    if outcome in (O.RECTIFIED, O.UNFOUNDED):
        assert check_allowed(problem, A.REOPEN) is S.REGISTERED
    else:
        with pytest.raises(IllegalTransition, match=outcome.value) as caught:
            check_allowed(problem, A.REOPEN)
        assert "'closed'" in str(caught.value) and "'reopen'" in str(caught.value)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_unmerge_only_from_a_merged_closure(outcome):
    problem = bare(S.CLOSED, outcome)
    if outcome is O.MERGED:
        assert check_allowed(problem, A.UNMERGE) is S.REGISTERED
    else:
        with pytest.raises(IllegalTransition, match="'unmerge'"):
            check_allowed(problem, A.UNMERGE)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_severity_is_decided_on_a_closed_problem_only_when_it_was_rectified(outcome):
    problem = bare(S.CLOSED, outcome)
    if outcome is O.RECTIFIED:
        assert check_allowed(problem, A.DECIDE_SEVERITY) is S.CLOSED
    else:
        with pytest.raises(IllegalTransition):
            check_allowed(problem, A.DECIDE_SEVERITY)


SUSPENDABLE_PAIRS = [(s, a) for (s, a) in ALLOWED_PAIRS if (s, A.SUSPEND) in EXPECTED]


@pytest.mark.parametrize(("state", "action"), SUSPENDABLE_PAIRS,
                         ids=[f"{s.value}-{a.value}" for s, a in SUSPENDABLE_PAIRS])
def test_suspension_blocks_everything_but_resume_transfer_and_severity(state, action):
    problem = bare(state, suspended=True)
    if action in (A.RESUME, A.TRANSFER_OUT, A.DECIDE_SEVERITY, *REPORTER_STEPS):
        assert check_allowed(problem, action) is EXPECTED[(state, action)]
    else:
        with pytest.raises(IllegalTransition, match="suspended") as caught:
            check_allowed(problem, action)
        assert f"'{action.value}'" in str(caught.value)
        assert f"'{state.value}'" in str(caught.value)


def test_only_resume_transfer_severity_and_the_reporters_steps_are_allowed_while_suspended():
    assert ALLOWED_WHILE_SUSPENDED == {A.RESUME, A.TRANSFER_OUT, A.DECIDE_SEVERITY,
                                       *REPORTER_STEPS}


@pytest.mark.parametrize("outcome", list(Outcome))
def test_an_outcome_is_rated_only_when_rectified_or_unfounded(outcome):
    problem = bare(S.CLOSED, outcome)
    if outcome in (O.RECTIFIED, O.UNFOUNDED):
        assert check_allowed(problem, A.RATE_SATISFACTION) is S.CLOSED
    else:
        with pytest.raises(IllegalTransition, match="rate_satisfaction"):
            check_allowed(problem, A.RATE_SATISFACTION)


@pytest.mark.parametrize("state", [S.DISPATCHED, S.VERIFIED, S.UNFOUNDED, S.RECTIFYING,
                                   S.RECTIFIED])
def test_suspending_twice_is_refused(state):
    problem = problem_at("dispatched")
    problem.state = state
    perform(problem, A.SUSPEND, SUPERVISOR, {"reason": "等待司法结论"}, ctx())
    with pytest.raises(IllegalTransition, match="suspend"):
        perform(problem, A.SUSPEND, SUPERVISOR, {"reason": "again"}, ctx())


@pytest.mark.parametrize("state", [S.DISPATCHED, S.VERIFIED, S.UNFOUNDED, S.RECTIFYING,
                                   S.RECTIFIED])
def test_resuming_a_problem_that_is_not_suspended_is_refused(state):
    with pytest.raises(IllegalTransition, match="not suspended") as caught:
        check_allowed(bare(state), A.RESUME)
    assert f"'{state.value}'" in str(caught.value) and "'resume'" in str(caught.value)


# ── 2. Whole paths through perform ──────────────────────────────────────────────────────────

def test_a_problem_goes_from_registration_to_struck_off_with_a_checked_plan():
    problem = bare(S.REGISTERED)
    changes = []

    changes.append(perform(problem, A.DISPATCH, SUPERVISOR, {"note": "请五个工作日内答复"}, ctx()))
    assert problem.state is S.DISPATCHED
    assert problem.respond_by == date(2017, 6, 12)          # five working days after Mon 6-5
    assert problem.last_progress_on == TODAY

    changes.append(perform(problem, A.VERIFY, HANDLER, {"plan": full_plan()}, ctx()))
    assert problem.state is S.VERIFIED
    assert isinstance(problem.plan, RectificationPlan)
    assert problem.plan.deadline == date(2017, 7, 31)
    assert problem.seriousness == "ordinary"
    assert problem.confirmed_phase == "p2_self_inspection"
    assert problem.severity_advice == "lighter"

    changes.append(perform(problem, A.APPROVE_PLAN, SUPERVISOR, {}, ctx(date(2017, 6, 6))))
    assert problem.state is S.RECTIFYING
    assert problem.rectify_by == date(2017, 7, 31)

    changes.append(perform(problem, A.RECORD_PROGRESS, HANDLER,
                           {"note": "已公开办事流程"}, ctx(date(2017, 6, 20))))
    assert problem.last_progress_on == date(2017, 6, 20)

    changes.append(perform(problem, A.CHECK_PROGRESS, SUPERVISOR, {
        "flags": [{"flag": "slow_progress", "reason": "回访群众仍有抱怨"}],
        "new_deadline": "2017-07-14"}, ctx(date(2017, 6, 30))))
    assert problem.state is S.RECTIFYING
    assert problem.rectify_by == date(2017, 7, 14)
    check = problem.details["checks"][-1]
    assert check["flags"] == [{"flag": "slow_progress", "flag_zh": "整改进度慢",
                               "reason": "回访群众仍有抱怨"}]
    assert check["on"] == "2017-06-30"

    changes.append(perform(problem, A.REPORT_RECTIFIED, HANDLER,
                           {"evidence": EVIDENCE}, ctx(date(2017, 7, 10))))
    assert problem.state is S.RECTIFIED
    assert problem.details["rectification"]["evidence"] == EVIDENCE

    changes.append(perform(problem, A.STRIKE_OFF, OFFICE, {}, ctx(date(2017, 7, 12))))
    assert problem.state is S.CLOSED
    assert problem.outcome is O.RECTIFIED
    assert problem.decided_by == "office"

    assert problem.version == 7
    assert [c.event_name for c in changes] == [
        "dispatched", "verified", "plan_approved", "progress_recorded", "progress_checked",
        "rectification_reported", "struck_off"]
    assert [(c.from_state, c.to_state) for c in changes] == [
        (S.REGISTERED, S.DISPATCHED), (S.DISPATCHED, S.VERIFIED), (S.VERIFIED, S.RECTIFYING),
        (S.RECTIFYING, S.RECTIFYING), (S.RECTIFYING, S.RECTIFYING),
        (S.RECTIFYING, S.RECTIFIED), (S.RECTIFIED, S.CLOSED)]
    assert changes[-1].actor == OFFICE and changes[-1].problem_id == "p1"


def test_a_milestone_is_marked_done_by_its_index():
    problem = problem_at("dispatched")
    plan = full_plan(handling="long_term", milestones=[
        {"title": "建章立制", "due_on": "2017-06-30"}, {"title": "回头看", "due_on": "2017-07-20"}])
    perform(problem, A.VERIFY, HANDLER, {"plan": plan}, ctx())
    perform(problem, A.APPROVE_PLAN, SUPERVISOR, {}, ctx())
    change = perform(problem, A.RECORD_PROGRESS, HANDLER,
                     {"note": "制度已印发", "milestone_done": 1}, ctx(date(2017, 6, 9)))
    assert change.data["milestone_done"] == 1
    assert [m.done_on for m in problem.plan.milestones] == [None, date(2017, 6, 9)]


def test_an_unfounded_closure_is_reopened_by_a_spot_check_as_registered_again():
    problem = problem_at("dispatched")
    perform(problem, A.REPORT_UNFOUNDED, HANDLER,
            {"findings": "经核查, 反映问题不属实", "evidence": EVIDENCE}, ctx())
    assert problem.state is S.UNFOUNDED
    assert problem.details["unfounded"]["findings"] == "经核查, 反映问题不属实"

    change = perform(problem, A.ACCEPT_UNFOUNDED, SUPERVISOR, {}, ctx())
    assert change.event_name == "unfounded_accepted"
    assert (problem.state, problem.outcome, problem.decided_by) == (
        S.CLOSED, O.UNFOUNDED, "supervisor")

    change = perform(problem, A.REOPEN, SPOT,
                     {"source": "spot_check", "reason": "复查发现问题属实"}, ctx(date(2017, 8, 1)))
    assert problem.state is S.REGISTERED
    assert problem.outcome is None and problem.decided_by is None
    assert problem.respond_by is None and problem.rectify_by is None
    assert change.data["previous_outcome"] == "unfounded"
    assert change.data["previous_decider"] == "supervisor"
    assert problem.details["reopened"][-1]["source"] == "spot_check"

    perform(problem, A.DISPATCH, SUPERVISOR, {}, ctx(date(2017, 8, 1)))
    assert problem.state is S.DISPATCHED and problem.respond_by == date(2017, 8, 8)


def test_a_merged_duplicate_is_unmerged_back_to_registered():
    problem = bare(S.REGISTERED)
    perform(problem, A.MERGE, OFFICE, {"into": "p0"}, ctx())
    assert (problem.state, problem.outcome, problem.merged_into) == (S.CLOSED, O.MERGED, "p0")
    with pytest.raises(IllegalTransition):
        perform(problem, A.REOPEN, SPOT, {"source": "spot_check", "reason": "x"}, ctx())
    change = perform(problem, A.UNMERGE, OFFICE, {"reason": "并非同一事项"}, ctx())
    assert change.data == {"from": "p0", "reason": "并非同一事项", "decide_by": "2017-06-12"}
    assert problem.state is S.REGISTERED
    assert problem.outcome is None and problem.merged_into is None and problem.decided_by is None


@pytest.mark.parametrize("where", ["registered", "dispatched", "dispatched_suspended"])
def test_transfer_out_closes_as_transferred_and_ends_any_suspension(where):
    problem = problem_at(where)
    change = perform(problem, A.TRANSFER_OUT, OFFICE,
                     {"to": "县纪委监委", "reason": "涉嫌违纪, 移交纪检"}, ctx())
    assert change.data == {"to": "县纪委监委", "reason": "涉嫌违纪, 移交纪检"}
    assert (problem.state, problem.outcome, problem.decided_by) == (
        S.CLOSED, O.TRANSFERRED, "office")
    assert not problem.suspended and problem.suspension_reason is None


def test_rejecting_a_plan_sends_it_back_without_the_plan_and_with_a_fresh_deadline():
    problem = problem_at("verified")
    later = date(2017, 6, 14)
    change = perform(problem, A.REJECT_PLAN, SUPERVISOR, {"reason": "整改措施不具体"}, ctx(later))
    assert problem.state is S.DISPATCHED
    assert problem.plan is None
    assert problem.respond_by == workdays.add_workdays(later, 5) == date(2017, 6, 21)
    assert change.data == {"reason": "整改措施不具体", "respond_by": "2017-06-21"}


def test_rejecting_an_unfounded_report_sends_it_back_with_a_fresh_deadline():
    problem = problem_at("unfounded")
    perform(problem, A.REJECT_UNFOUNDED, SUPERVISOR,
            {"reason": "核查不深入", "respond_days": 3}, ctx(date(2017, 6, 14)))
    assert problem.state is S.DISPATCHED
    assert problem.respond_by == date(2017, 6, 19)


def test_rejecting_a_rectification_returns_it_to_rectifying_with_a_new_deadline():
    problem = problem_at("rectified")
    perform(problem, A.REJECT_RECTIFICATION, SUPERVISOR,
            {"reason": "整改不到位", "new_deadline": "2017-06-30"}, ctx(date(2017, 6, 15)))
    assert problem.state is S.RECTIFYING
    assert problem.rectify_by == date(2017, 6, 30)
    assert problem.last_progress_on == date(2017, 6, 15)


def test_severity_is_decided_with_the_advice_kept_beside_it():
    problem = problem_at("closed_rectified")
    change = perform(problem, A.DECIDE_SEVERITY, OFFICE,
                     {"decision": "stricter", "note": "典型问题, 严肃查处"}, ctx())
    assert problem.severity_decision == "stricter"
    assert change.data["advice"] == "lighter"
    assert problem.state is S.CLOSED and problem.outcome is O.RECTIFIED


def test_an_illegal_action_through_perform_changes_nothing():
    problem = problem_at("dispatched")
    before = copy.deepcopy(problem)
    with pytest.raises(IllegalTransition):
        perform(problem, A.STRIKE_OFF, OFFICE, {}, ctx())
    assert problem == before


# Bad input: (where, action, args, field named).
LONG = "x" * 5001
BAD_INPUTS = [
    ("registered", A.DISPATCH, {"unit": "org_nowhere"}, "unit"),
    ("registered", A.DISPATCH, {"unit": OTHER_UNIT, "respond_by": "2017-06-01"}, "respond_by"),
    ("registered", A.DISPATCH, {"unit": OTHER_UNIT, "respond_days": 0}, "respond_days"),
    ("registered", A.DISPATCH, {"unit": OTHER_UNIT, "note": LONG}, "note"),
    ("dispatched", A.REASSIGN, {"unit": OTHER_UNIT}, "reason"),
    ("dispatched", A.REASSIGN, {"unit": "org_nowhere", "reason": "职责调整"}, "unit"),
    ("dispatched", A.REASSIGN, {"unit": UNIT, "reason": "职责调整"}, "unit"),
    ("dispatched", A.VERIFY, {"plan": full_plan(), "seriousness": "grave"}, "seriousness"),
    ("dispatched", A.VERIFY, {"plan": full_plan(), "note": 42}, "note"),
    ("dispatched", A.REPORT_UNFOUNDED, {"evidence": EVIDENCE}, "findings"),
    ("dispatched", A.REPORT_UNFOUNDED, {"findings": "不属实", "evidence": []}, "evidence"),
    ("dispatched", A.REPORT_UNFOUNDED, {"findings": "不属实", "evidence": [{"description": " "}]},
     "evidence[0].description"),
    ("verified", A.APPROVE_PLAN, {"note": 42}, "note"),
    ("verified", A.REJECT_PLAN, {}, "reason"),
    ("verified", A.REJECT_PLAN, {"reason": "不具体", "respond_by": "2017-06-01"}, "respond_by"),
    ("unfounded", A.REJECT_UNFOUNDED, {"reason": "不深入", "respond_days": 500}, "respond_days"),
    ("rectifying", A.RECORD_PROGRESS, {}, "note"),
    ("rectifying", A.RECORD_PROGRESS, {"note": "进展", "milestone_done": 0}, "milestone_done"),
    ("rectifying", A.CHECK_PROGRESS, {"flags": "slow"}, "flags"),
    ("rectifying", A.CHECK_PROGRESS, {"flags": [{"flag": "lazy", "reason": "r"}],
                                      "new_deadline": "2017-07-01"}, "flags[0].flag"),
    ("rectifying", A.CHECK_PROGRESS, {"flags": [{"flag": "inadequate", "reason": "r"}],
                                      "new_deadline": "2017-06-01"}, "new_deadline"),
    ("rectifying", A.CHECK_PROGRESS, {"flags": [{"flag": "inadequate", "reason": "r"}]},
     "new_deadline"),
    ("rectifying", A.REPORT_RECTIFIED, {"evidence": []}, "evidence"),
    ("rectified", A.REJECT_RECTIFICATION, {}, "reason"),
    ("rectified", A.REJECT_RECTIFICATION, {"reason": "不到位", "new_deadline": "2017-05-01"},
     "new_deadline"),
    ("closed_unfounded", A.REOPEN, {"source": "rumour", "reason": "r"}, "source"),
    ("closed_unfounded", A.REOPEN, {"source": "spot_check"}, "reason"),
    ("registered", A.MERGE, {"into": "p1"}, "into"),
    ("registered", A.MERGE, {"into": "p0", "note": 42}, "note"),
    ("closed_merged", A.UNMERGE, {}, "reason"),
    ("dispatched_suspended", A.TRANSFER_OUT, {"reason": "移交"}, "to"),
    ("dispatched", A.SUSPEND, {}, "reason"),
    ("dispatched_suspended", A.RESUME, {"note": 42}, "note"),
    ("rectifying_suspended", A.RESUME, {"note": LONG}, "note"),
    ("closed_rectified", A.DECIDE_SEVERITY, {"decision": "harsh", "note": "n"}, "decision"),
    ("closed_rectified", A.DECIDE_SEVERITY, {"decision": "lighter"}, "note"),
]


@pytest.mark.parametrize(("where", "action", "args", "field"), BAD_INPUTS,
                         ids=[f"{w}-{a.value}-{f}" for w, a, _, f in BAD_INPUTS])
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(where, action, args, field):
    problem = problem_at(where)
    before = copy.deepcopy(problem)
    with pytest.raises(InvalidInput) as caught:
        perform(problem, action, OFFICE, args, ctx(date(2017, 6, 7)))
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert problem == before            # state, version and every other field untouched


def test_verifying_without_a_plan_is_refused_and_changes_nothing():
    problem = problem_at("dispatched")
    before = copy.deepcopy(problem)
    with pytest.raises(PlanInvalid) as caught:
        perform(problem, A.VERIFY, HANDLER, {"plan": full_plan(target="  ")}, ctx())
    assert [f for f, _ in caught.value.problems] == ["target"]
    assert problem == before


def test_evidence_attached_to_a_plan_or_to_progress_is_recorded_and_only_when_given():
    digest = "ab" * 32
    problem = problem_at("dispatched")
    change = perform(problem, A.VERIFY, HANDLER, {"plan": full_plan(), "evidence": [
        {"description": "现场照片", "sha256": digest.upper()}]}, ctx())
    assert change.data["evidence"] == [{"description": "现场照片", "sha256": digest}]
    plain = perform(problem_at("dispatched"), A.VERIFY, HANDLER, {"plan": full_plan()}, ctx())
    assert "evidence" not in plain.data  # a step without files records what it always did
    progress = perform(problem_at("rectifying"), A.RECORD_PROGRESS, HANDLER, {
        "note": "设备已更换", "evidence": [{"description": "更换记录"}]}, ctx())
    assert progress.data["evidence"] == [{"description": "更换记录"}]
