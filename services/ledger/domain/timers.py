"""Deadlines and the three colours county supervision uses (绿/黄/红灯)."""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from services.ledger.domain import workdays
from services.ledger.domain.actions import Rules
from services.ledger.domain.lifecycle import Problem, State

GREEN, YELLOW, RED = "green", "yellow", "red"
LIGHT_ZH = {GREEN: "绿灯", YELLOW: "黄灯", RED: "红灯"}
STALL_STATES = (State.DISPATCHED, State.RECTIFYING)


def due_on(problem: Problem) -> date | None:
    """What is due next from the unit, if anything."""
    if problem.state is State.DISPATCHED:
        return problem.respond_by
    if problem.state is State.RECTIFYING and problem.plan is not None:
        due = problem.rectify_by or problem.plan.deadline   # a check's or a resume's date wins
        pending = [m.due_on for m in problem.plan.milestones if m.done_on is None]
        return min([due, *pending])
    return None


def is_overdue(problem: Problem, today: date) -> bool:
    due = due_on(problem)
    return due is not None and not problem.suspended and due < today


def is_stalled(problem: Problem, today: date, rules: Rules) -> bool:
    """No progress for ``rules.stall_days`` working days."""
    if problem.state not in STALL_STATES or problem.suspended or not problem.last_progress_on:
        return False
    return problem.last_progress_on <= stall_cutoff(today, rules)


def is_due_soon(problem: Problem, today: date, rules: Rules) -> bool:
    """Due within ``rules.due_soon_days`` working days."""
    due = due_on(problem)
    return (due is not None and not problem.suspended
            and today <= due <= _due_soon_until(today, rules.due_soon_days))


def light(problem: Problem, today: date, rules: Rules) -> str | None:
    """None for closed or suspended problems: no clock is running."""
    if not problem.is_open or problem.suspended:
        return None
    if is_overdue(problem, today) or is_stalled(problem, today, rules):
        return RED
    if is_due_soon(problem, today, rules):
        return YELLOW
    return GREEN


def stall_cutoff(today: date, rules: Rules) -> date:
    """The latest last-progress date that counts as stalled today."""
    return _latest_start_with(today, rules.stall_days)


# Both depend only on the day: computed once per day, not once per problem in a list.
@lru_cache(maxsize=64)
def _latest_start_with(today: date, days: int) -> date:
    return workdays.latest_start_with(today, days)


@lru_cache(maxsize=64)
def _due_soon_until(today: date, days: int) -> date:
    """The last date with at most ``days`` working days in (today, date]."""
    return workdays.add_workdays(today, days + 1) - timedelta(days=1)
