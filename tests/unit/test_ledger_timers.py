"""Working days on the Chinese official calendar (调休 included) and the ledger's timers and
lights (绿/黄/红灯); pure, no I/O."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import chinese_calendar
import pytest

from services.ledger.domain import timers, workdays
from services.ledger.domain.actions import Actor, Context, Rules, perform
from services.ledger.domain.lifecycle import Action, Problem, State
from services.ledger.domain.timers import GREEN, RED, YELLOW, due_on, is_stalled, light

A = Action
UNIT, OTHER_UNIT = "org_gd_public_security", "org_gd_transport"
OFFICE = Actor("office", "county_office", "org_county_office")
RULES = Rules(respond_days=5, due_soon_days=2, stall_days=10)
NATIONAL_DAY = [date(2017, 10, d) for d in range(1, 9)]
ADJUSTED_WORKDAY = date(2017, 9, 30)   # a Saturday worked in exchange (调休)


def ctx(today: date) -> Context:
    return Context(today=today, now=datetime(today.year, today.month, today.day, 9),
                   unit_exists=lambda code: code in {UNIT, OTHER_UNIT},
                   phase_on=lambda day: SimpleNamespace(code="p3_rectification"),
                   advise=lambda problem: "lighter", rules=RULES)


def act(problem: Problem, action: Action, today: date, **args):
    return perform(problem, action, OFFICE, args, ctx(today))


def new_problem() -> Problem:
    return Problem(id="p1", clue_id="c1", channel="letter", title="t", description="d",
                   unit=UNIT, category=None, kind=None, registered_at=datetime(2017, 6, 1, 8))


def plan(deadline: str, **extra) -> dict:
    return {"measures": "m", "target": "t", "deadline": deadline, "lead_official": "l",
            "responsible_unit": UNIT, "responsible_person": "p", "handling": "time_limited",
            **extra}


def dispatched(on: date, **args) -> Problem:
    problem = new_problem()
    act(problem, A.DISPATCH, on, **args)
    return problem


def rectifying(on: date, deadline: str, **extra) -> Problem:
    problem = dispatched(on)
    act(problem, A.VERIFY, on, plan=plan(deadline, **extra))
    act(problem, A.APPROVE_PLAN, on)
    return problem


# ── Working days ────────────────────────────────────────────────────────────────────────────

def test_the_calendar_knows_2017_and_its_national_day_holiday():
    assert workdays.calendar_known(date(2017, 10, 1))
    assert workdays.is_workday(ADJUSTED_WORKDAY) and ADJUSTED_WORKDAY.weekday() == 5
    assert not any(workdays.is_workday(d) for d in NATIONAL_DAY)
    assert workdays.is_workday(date(2017, 10, 9))
    # the library agrees, day by day, over the whole autumn
    day = date(2017, 9, 1)
    while day < date(2017, 11, 1):
        assert workdays.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


@pytest.mark.parametrize(("start", "days", "expected"), [
    (date(2017, 9, 28), 0, date(2017, 9, 28)),
    (date(2017, 9, 28), 1, date(2017, 9, 29)),
    (date(2017, 9, 29), 1, date(2017, 9, 30)),    # the 调休 Saturday counts
    (date(2017, 9, 29), 2, date(2017, 10, 9)),    # 10-01..10-08 do not
    (date(2017, 9, 29), 3, date(2017, 10, 10)),
    (date(2017, 9, 30), 1, date(2017, 10, 9)),
    (date(2017, 10, 3), 1, date(2017, 10, 9)),    # from inside the holiday
    (date(2017, 6, 2), 1, date(2017, 6, 5)),      # an ordinary weekend
])
def test_add_workdays_skips_holidays_and_counts_adjusted_workdays(start, days, expected):
    assert workdays.add_workdays(start, days) == expected


def test_counting_back_and_between_agree_with_adding():
    assert workdays.workdays_between(date(2017, 9, 29), date(2017, 10, 10)) == 3
    assert workdays.workdays_between(date(2017, 10, 10), date(2017, 9, 29)) == -3
    assert workdays.workdays_between(date(2017, 10, 2), date(2017, 10, 2)) == 0
    assert workdays.workdays_between(date(2017, 10, 1), date(2017, 10, 8)) == 0
    assert workdays.subtract_workdays(date(2017, 10, 10), 3) == date(2017, 9, 29)
    assert workdays.subtract_workdays(date(2017, 10, 9), 1) == ADJUSTED_WORKDAY
    for start in (date(2017, 9, 25) + timedelta(days=i) for i in range(20)):
        for n in (0, 1, 4, 9):
            assert workdays.workdays_between(start, workdays.add_workdays(start, n)) == n


@pytest.mark.parametrize("fn", [workdays.add_workdays, workdays.subtract_workdays])
def test_a_negative_number_of_workdays_is_refused(fn):
    with pytest.raises(ValueError):
        fn(date(2017, 9, 29), -1)


def test_years_the_calendar_does_not_know_fall_back_to_monday_to_friday():
    far = date(2199, 1, 1)
    assert not workdays.calendar_known(far)
    assert workdays.is_workday(far) == (far.weekday() < 5)


# ── Deadlines follow the calendar ───────────────────────────────────────────────────────────

def test_a_dispatch_before_national_day_is_due_after_it():
    problem = dispatched(date(2017, 9, 29), respond_days=3)
    assert problem.respond_by == date(2017, 10, 10)
    assert due_on(problem) == date(2017, 10, 10)


def test_the_default_response_time_is_the_rules_working_days():
    assert dispatched(date(2017, 9, 29)).respond_by == date(2017, 10, 12)   # 5 working days


def test_resuming_moves_the_response_deadline_by_exactly_the_working_days_paused():
    problem = dispatched(date(2017, 9, 28), respond_days=3)         # due Mon 10-09
    assert problem.respond_by == date(2017, 10, 9)
    act(problem, A.SUSPEND, date(2017, 9, 29), reason="等待上级批复")
    change = act(problem, A.RESUME, date(2017, 10, 10))
    paused = workdays.workdays_between(date(2017, 9, 29), date(2017, 10, 10))
    assert paused == 3 and change.data["paused_workdays"] == 3
    assert problem.respond_by == workdays.add_workdays(date(2017, 10, 9), 3) == date(2017, 10, 12)
    assert not problem.suspended and problem.last_progress_on == date(2017, 10, 10)


def test_suspending_and_resuming_on_the_same_day_moves_nothing():
    problem = dispatched(date(2017, 6, 5))
    act(problem, A.SUSPEND, date(2017, 6, 7), reason="r")
    act(problem, A.RESUME, date(2017, 6, 7))
    assert problem.respond_by == date(2017, 6, 12)


def test_resuming_moves_the_rectification_deadline_and_what_is_due_follows_it():
    problem = rectifying(date(2017, 6, 5), "2017-06-30")
    act(problem, A.SUSPEND, date(2017, 6, 12), reason="等待司法结论")
    assert light(problem, date(2017, 7, 3), RULES) is None          # no clock while suspended
    act(problem, A.RESUME, date(2017, 6, 19))                        # 5 working days later
    assert problem.rectify_by == date(2017, 7, 7)
    assert due_on(problem) == date(2017, 7, 7)
    assert light(problem, date(2017, 6, 30), RULES) == GREEN        # the plan's own date passed
    assert light(problem, date(2017, 7, 10), RULES) == RED


def test_a_checks_new_deadline_is_what_falls_due():
    problem = rectifying(date(2017, 6, 5), "2017-06-30")
    act(problem, A.CHECK_PROGRESS, date(2017, 6, 28),
        flags=[{"flag": "slow_progress", "reason": "进度慢"}], new_deadline="2017-07-14")
    assert due_on(problem) == date(2017, 7, 14)
    act(problem, A.RECORD_PROGRESS, date(2017, 6, 28), note="加快推进")
    assert light(problem, date(2017, 7, 3), RULES) == GREEN         # the plan's own date passed
    act(problem, A.CHECK_PROGRESS, date(2017, 7, 3),
        flags=[{"flag": "poor_effect", "reason": "效果不佳"}], new_deadline="2017-07-04")
    assert due_on(problem) == date(2017, 7, 4)


def test_the_next_undone_milestone_falls_due_before_the_deadline():
    problem = rectifying(date(2017, 6, 5), "2017-07-31", handling="long_term", milestones=[
        {"title": "建章立制", "due_on": "2017-06-14"}, {"title": "回头看", "due_on": "2017-07-14"}])
    assert due_on(problem) == date(2017, 6, 14)
    act(problem, A.RECORD_PROGRESS, date(2017, 6, 13), note="制度已印发", milestone_done=0)
    assert due_on(problem) == date(2017, 7, 14)


@pytest.mark.parametrize("where", ["dispatched", "rectifying"])
def test_reassigning_keeps_the_deadline_the_timer_follows_the_problem(where):
    problem = (dispatched(date(2017, 6, 5)) if where == "dispatched"
               else rectifying(date(2017, 6, 5), "2017-06-30"))
    due_before = due_on(problem)
    respond_by, rectify_by = problem.respond_by, problem.rectify_by
    change = act(problem, A.REASSIGN, date(2017, 6, 8), unit=OTHER_UNIT, reason="职责调整")
    assert problem.unit == OTHER_UNIT
    assert (problem.respond_by, problem.rectify_by) == (respond_by, rectify_by)
    assert due_on(problem) == due_before
    assert change.data["from_unit"] == UNIT and change.data["respond_by"] == "2017-06-12"


# ── Lights ──────────────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize(("today", "colour"), [
    (date(2017, 6, 5), GREEN),    # 5 working days left
    (date(2017, 6, 7), GREEN),    # 3 left
    (date(2017, 6, 8), YELLOW),   # 2 left (Fri 6-9 and Mon 6-12): within due_soon_days
    (date(2017, 6, 10), YELLOW),  # Saturday, 1 left
    (date(2017, 6, 12), YELLOW),  # due today
    (date(2017, 6, 13), RED),     # overdue
])
def test_the_light_turns_yellow_when_due_soon_and_red_when_overdue(today, colour):
    problem = dispatched(date(2017, 6, 5))
    assert light(problem, today, RULES) == colour
    assert timers.is_overdue(problem, today) == (colour == RED)


def test_due_soon_counts_working_days_not_calendar_days_across_the_holiday():
    problem = dispatched(date(2017, 9, 29), respond_days=3)        # due 10-10
    assert light(problem, date(2017, 9, 29), RULES) == GREEN        # 3 working days left
    assert light(problem, ADJUSTED_WORKDAY, RULES) == YELLOW        # 10 calendar days, 2 working
    assert light(problem, date(2017, 10, 5), RULES) == YELLOW
    assert light(problem, date(2017, 10, 11), RULES) == RED


def test_due_soon_days_come_from_the_rules():
    problem = dispatched(date(2017, 6, 5))
    assert light(problem, date(2017, 6, 5), Rules(due_soon_days=5)) == YELLOW
    assert light(problem, date(2017, 6, 12), Rules(due_soon_days=0)) == YELLOW
    assert light(problem, date(2017, 6, 9), Rules(due_soon_days=0)) == GREEN


def test_a_problem_with_no_progress_for_the_stall_days_is_red_though_not_overdue():
    problem = rectifying(date(2017, 6, 5), "2017-09-29")
    assert problem.last_progress_on == date(2017, 6, 5)
    assert workdays.workdays_between(date(2017, 6, 5), date(2017, 6, 16)) == 9
    assert not is_stalled(problem, date(2017, 6, 16), RULES)
    assert light(problem, date(2017, 6, 16), RULES) == GREEN
    assert is_stalled(problem, date(2017, 6, 19), RULES)
    assert not timers.is_overdue(problem, date(2017, 6, 19))
    assert light(problem, date(2017, 6, 19), RULES) == RED
    assert not is_stalled(problem, date(2017, 6, 19), Rules(stall_days=11))
    act(problem, A.RECORD_PROGRESS, date(2017, 6, 19), note="已召开整改推进会")
    assert light(problem, date(2017, 6, 19), RULES) == GREEN


def test_a_dispatched_problem_the_unit_never_answers_stalls_too():
    problem = dispatched(date(2017, 6, 5), respond_by="2017-09-29")
    assert light(problem, date(2017, 6, 19), RULES) == RED
    assert not timers.is_overdue(problem, date(2017, 6, 19))


def test_a_suspended_problem_has_no_light_and_is_neither_overdue_nor_stalled():
    problem = dispatched(date(2017, 6, 5))
    act(problem, A.SUSPEND, date(2017, 6, 6), reason="等待司法结论")
    late = date(2017, 8, 1)
    assert light(problem, late, RULES) is None
    assert not timers.is_overdue(problem, late)
    assert not is_stalled(problem, late, RULES)
    assert not timers.is_due_soon(problem, date(2017, 6, 12), RULES)


def test_a_closed_problem_has_no_light():
    problem = dispatched(date(2017, 6, 5))
    act(problem, A.TRANSFER_OUT, date(2017, 6, 6), to="县纪委", reason="移交")
    assert problem.state is State.CLOSED
    assert due_on(problem) is None
    assert light(problem, date(2017, 8, 1), RULES) is None


@pytest.mark.parametrize("step", ["registered", "verified", "unfounded", "rectified"])
def test_nothing_is_due_from_the_unit_while_others_must_act(step):
    problem = new_problem()
    if step != "registered":
        act(problem, A.DISPATCH, date(2017, 6, 5))
    if step in ("verified", "rectified"):
        act(problem, A.VERIFY, date(2017, 6, 5), plan=plan("2017-06-09"))
    if step == "rectified":
        act(problem, A.APPROVE_PLAN, date(2017, 6, 5))
        act(problem, A.REPORT_RECTIFIED, date(2017, 6, 5), evidence=[{"description": "e"}])
    if step == "unfounded":
        act(problem, A.REPORT_UNFOUNDED, date(2017, 6, 5), findings="f",
            evidence=[{"description": "e"}])
    assert problem.state.value == step
    assert due_on(problem) is None
    assert not timers.is_overdue(problem, date(2017, 8, 1))


def test_the_stall_cutoff_used_by_lists_agrees_with_the_light_on_every_day():
    from datetime import timedelta

    from services.ledger.domain.actions import Rules
    from services.ledger.domain.timers import stall_cutoff
    from services.ledger.domain.workdays import workdays_between

    rules = Rules(stall_days=3)
    for offset in range(0, 40):
        today = date(2017, 9, 20) + timedelta(days=offset)
        cutoff = stall_cutoff(today, rules)
        assert workdays_between(cutoff, today) >= rules.stall_days
        assert workdays_between(cutoff + timedelta(days=1), today) < rules.stall_days


def test_due_soon_agrees_with_counting_working_days_on_every_day():
    from datetime import timedelta

    from services.ledger.domain.actions import Rules
    from services.ledger.domain.timers import _due_soon_until
    from services.ledger.domain.workdays import workdays_between

    rules = Rules(due_soon_days=2)
    for offset in range(0, 40):
        today = date(2017, 9, 20) + timedelta(days=offset)
        until = _due_soon_until(today, rules.due_soon_days)
        assert workdays_between(today, until) <= rules.due_soon_days
        assert workdays_between(today, until + timedelta(days=1)) > rules.due_soon_days
