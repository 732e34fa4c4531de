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
        until = _due_soon_until(rules.calendar, today, rules.due_soon_days)
        assert workdays_between(today, until) <= rules.due_soon_days
        assert workdays_between(today, until + timedelta(days=1)) > rules.due_soon_days


# ── Every open state has a clock ────────────────────────────────────────────────────────────
# Entered on Mon 2017-06-05; five working days run out on Mon 06-12.
ENTERED, DAY_DUE = date(2017, 6, 5), date(2017, 6, 12)


def registered(on: date, rules: Rules = RULES) -> Problem:
    """As the ledger registers a clue: the dispatch clock starts that day."""
    problem = new_problem()
    timers.start_clock(problem, None, on, rules)
    return problem


def in_state(step: str, on: date = ENTERED) -> Problem:
    if step == "registered":
        return registered(on)
    problem = dispatched(on)
    if step in ("verified", "rectifying", "rectified"):
        act(problem, A.VERIFY, on, plan=plan("2017-06-30"))
    if step in ("rectifying", "rectified"):
        act(problem, A.APPROVE_PLAN, on)
    if step == "rectified":
        act(problem, A.REPORT_RECTIFIED, on, evidence=[{"description": "e"}])
    if step == "unfounded":
        act(problem, A.REPORT_UNFOUNDED, on, findings="f", evidence=[{"description": "e"}])
    assert problem.state.value == step
    return problem


@pytest.mark.parametrize(("step", "waiting_on"), [
    ("registered", "county_office"), ("verified", "supervisor"), ("unfounded", "supervisor"),
    ("rectified", "supervisor")])
def test_a_problem_waiting_on_the_county_office_or_a_supervisor_turns_red_past_its_days(
        step, waiting_on):
    problem = in_state(step)
    assert timers.WAITING_ON[problem.state] == waiting_on
    assert problem.decide_by == due_on(problem) == DAY_DUE
    assert light(problem, ENTERED, RULES) == GREEN
    assert light(problem, date(2017, 6, 8), RULES) == YELLOW     # two working days left
    assert light(problem, DAY_DUE, RULES) == YELLOW
    assert not timers.is_overdue(problem, DAY_DUE)
    assert timers.is_overdue(problem, date(2017, 6, 13))
    assert light(problem, date(2017, 6, 13), RULES) == RED


@pytest.mark.parametrize(("step", "due"), [
    ("dispatched", DAY_DUE), ("rectifying", date(2017, 6, 30))])
def test_a_problem_waiting_on_the_unit_runs_on_the_units_deadline(step, due):
    problem = in_state(step)
    assert timers.WAITING_ON[problem.state] == "unit_handler"
    assert problem.decide_by is None
    assert due_on(problem) == due
    assert timers.is_overdue(problem, due + timedelta(days=1))


def test_every_open_state_has_a_clock():
    assert set(timers.WAITING_ON) == set(State) - {State.CLOSED}
    for step in ("registered", "dispatched", "verified", "unfounded", "rectifying", "rectified"):
        assert due_on(in_state(step)) is not None, step


@pytest.mark.parametrize(("step", "field"), [
    ("registered", "registered_days"), ("verified", "verified_days"),
    ("unfounded", "unfounded_days"), ("rectified", "rectified_days")])
def test_each_decision_clock_has_its_own_working_days_in_the_rules(step, field):
    rules = Rules(**{field: 2})
    problem = in_state(step)
    timers.start_clock(problem, None, ENTERED, rules)
    assert problem.decide_by == date(2017, 6, 7)
    others = in_state(step)
    assert others.decide_by == DAY_DUE        # the other rules keep their five days


def test_a_decision_clock_keeps_running_through_a_step_that_stays_in_the_state():
    problem = in_state("verified")
    act(problem, A.DECIDE_SEVERITY, date(2017, 6, 9), decision="standard", note="n")
    assert problem.decide_by == DAY_DUE


def test_leaving_a_decision_state_stops_its_clock_and_entering_one_starts_it():
    problem = in_state("verified")
    change = act(problem, A.APPROVE_PLAN, date(2017, 6, 7))
    assert problem.decide_by is None and "decide_by" not in change.data
    change = act(problem, A.REPORT_RECTIFIED, date(2017, 6, 14), evidence=[{"description": "e"}])
    assert problem.decide_by == date(2017, 6, 21)
    assert change.data["decide_by"] == "2017-06-21"           # bound by the history
    act(problem, A.STRIKE_OFF, date(2017, 6, 15))
    assert problem.decide_by is None and due_on(problem) is None


@pytest.mark.parametrize("how", ["reopen", "unmerge"])
def test_a_problem_back_at_registered_waits_for_dispatch_again(how):
    problem = in_state("registered")
    if how == "reopen":
        act(problem, A.DISPATCH, ENTERED)
        act(problem, A.REPORT_UNFOUNDED, ENTERED, findings="f", evidence=[{"description": "e"}])
        act(problem, A.ACCEPT_UNFOUNDED, ENTERED)
        act(problem, A.REOPEN, date(2017, 7, 3), source="spot_check", reason="抽查发现")
    else:
        act(problem, A.MERGE, ENTERED, into="p0")
        act(problem, A.UNMERGE, date(2017, 7, 3), reason="并非同一问题")
    assert problem.state is State.REGISTERED
    assert due_on(problem) == date(2017, 7, 10)
    assert light(problem, date(2017, 7, 11), RULES) == RED


def test_the_rules_come_from_the_campaign_files_clocks():
    from contracts.campaign import load_default_campaign

    campaign = load_default_campaign()
    changed = campaign.model_copy(update={"clocks": campaign.clocks.model_copy(update={
        "working_days": campaign.clocks.working_days.model_copy(update={"unfounded": 3}),
        "stall_days": 7})})
    assert Rules.of(campaign) == Rules()
    assert (Rules.of(changed).unfounded_days, Rules.of(changed).stall_days) == (3, 7)


# ── Resume moves every running deadline ─────────────────────────────────────────────────────

@pytest.mark.parametrize("step", ["verified", "unfounded", "rectified"])
def test_resuming_moves_a_supervisors_decision_deadline_by_the_days_paused(step):
    problem = in_state(step)
    act(problem, A.SUSPEND, date(2017, 6, 6), reason="等待司法结论")
    change = act(problem, A.RESUME, date(2017, 6, 13))                # 5 working days paused
    assert change.data["paused_workdays"] == 5
    assert problem.decide_by == date(2017, 6, 19)
    assert change.data["decide_by"] == "2017-06-19"
    assert not timers.is_overdue(problem, date(2017, 6, 16))


def test_resuming_moves_the_undone_milestones_and_keeps_the_done_ones():
    problem = rectifying(date(2017, 6, 5), "2017-07-31", handling="long_term", milestones=[
        {"title": "建章立制", "due_on": "2017-06-09"}, {"title": "回头看", "due_on": "2017-06-16"}])
    act(problem, A.RECORD_PROGRESS, date(2017, 6, 8), note="制度已印发", milestone_done=0)
    act(problem, A.SUSPEND, date(2017, 6, 9), reason="等待上级批复")
    change = act(problem, A.RESUME, date(2017, 6, 16))               # 5 working days paused
    done, pending = problem.plan.milestones
    assert done.due_on == date(2017, 6, 9) and done.done_on == date(2017, 6, 8)
    assert pending.due_on == date(2017, 6, 23)
    assert due_on(problem) == date(2017, 6, 23)
    assert light(problem, date(2017, 6, 19), RULES) == GREEN          # not red the day after
    assert change.data["milestones_due"] == ["2017-06-09", "2017-06-23"]
    assert change.data["rectify_by"] == "2017-08-07"


# ── The calendar beyond the library's years ─────────────────────────────────────────────────
NEW_YEAR_2027 = date(2027, 1, 1)


def listed_2027() -> workdays.WorkCalendar:
    """As a campaign file listing 2027: New Year's Day off, a Saturday worked (调休)."""
    return workdays.WorkCalendar({2027: ([NEW_YEAR_2027], [date(2027, 2, 6)])})


def test_the_library_does_not_know_2027_and_guesses_new_years_day_a_workday():
    assert not workdays.calendar_known(NEW_YEAR_2027)
    assert workdays.add_workdays(date(2026, 12, 2), 22) == NEW_YEAR_2027
    assert workdays.LIBRARY.unknown_years(date(2026, 12, 2), NEW_YEAR_2027) == (2027,)
    assert workdays.LIBRARY.unknown_years(date(2017, 6, 5), date(2017, 12, 29)) == ()


def test_a_year_the_campaign_lists_counts_its_holidays_and_make_up_workdays():
    listed = listed_2027()
    assert listed.knows(2027) and not listed.knows(2028)
    assert not listed.is_workday(NEW_YEAR_2027)
    assert listed.is_workday(date(2027, 2, 6))                   # a Saturday worked (调休)
    assert not listed.is_workday(date(2027, 2, 7))               # an ordinary Sunday
    assert listed.add_workdays(date(2026, 12, 2), 22) == date(2027, 1, 4)
    assert listed.unknown_years(date(2026, 12, 2), date(2027, 1, 4)) == ()
    # the years the library knows are unchanged
    assert listed.is_workday(ADJUSTED_WORKDAY) and not listed.is_workday(NATIONAL_DAY[0])


def test_a_listed_year_the_library_knows_follows_the_campaign_alone():
    corrected = workdays.WorkCalendar({2017: ([date(2017, 6, 6)], [])})
    assert workdays.is_workday(date(2017, 6, 6)) and not corrected.is_workday(date(2017, 6, 6))
    # the listing is the whole year: a library holiday it leaves out is a working day
    assert corrected.is_workday(date(2017, 10, 2)) and not workdays.is_workday(date(2017, 10, 2))
    assert corrected.add_workdays(date(2017, 6, 5), 1) == date(2017, 6, 7)


def test_a_deadline_counted_into_a_year_no_calendar_knows_is_flagged_on_the_problem():
    problem = new_problem()
    change = act(problem, A.DISPATCH, date(2026, 12, 2), respond_days=22)
    assert problem.respond_by == NEW_YEAR_2027                        # Monday-Friday, guessed
    assert problem.details["calendar_unknown_years"] == [2027]
    assert change.data["calendar_unknown_years"] == [2027]
    assert timers.unknown_years(problem, date(2026, 12, 2), RULES) == [2027]


def test_with_the_year_listed_the_deadline_skips_new_years_day_and_no_flag_is_raised():
    rules = Rules(calendar=listed_2027())
    problem = new_problem()
    context = ctx(date(2026, 12, 2))
    context.rules = rules
    change = perform(problem, A.DISPATCH, OFFICE, {"respond_days": 22}, context)
    assert problem.respond_by == date(2027, 1, 4)
    assert "calendar_unknown_years" not in problem.details
    assert "calendar_unknown_years" not in change.data
    assert timers.unknown_years(problem, date(2026, 12, 2), rules) == []


def test_a_supervisors_decision_clock_into_an_unknown_year_is_flagged_too():
    problem = registered(date(2026, 12, 28))
    assert problem.decide_by == date(2027, 1, 4)
    assert problem.details["calendar_unknown_years"] == [2027]


def test_a_given_date_in_an_unknown_year_is_flagged_while_its_light_counts_there():
    problem = dispatched(date(2026, 12, 21), respond_by="2027-01-15")
    assert "calendar_unknown_years" not in problem.details            # a date given, not counted
    assert timers.unknown_years(problem, date(2026, 12, 21), RULES) == [2027]
    act(problem, A.TRANSFER_OUT, date(2026, 12, 22), to="县纪委", reason="移交")
    assert timers.unknown_years(problem, date(2026, 12, 22), RULES) == []
