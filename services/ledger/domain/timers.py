"""Clocks, deadlines and the three colours county supervision uses (绿/黄/红灯).

Every open state has a clock, whoever must act next:

| state | waiting on (``WAITING_ON``) | due |
|---|---|---|
| registered 已登记 | the county office (or the supervising body) to dispatch 交办 | ``decide_by`` |
| dispatched 已交办 | the unit to answer, 查实 with a plan or 查否 | ``respond_by`` |
| verified 已查实 | the supervising body to approve or reject the plan | ``decide_by`` |
| unfounded 查否 | the supervising body to accept or reject the finding | ``decide_by`` |
| rectifying 整改中 | the unit, by the plan's deadline 整改时限 and milestones | ``rectify_by`` |
| rectified 已整改 | the supervising body to strike off 销号 or send back | ``decide_by`` |

so the bodies meant to keep the campaign honest cannot stall it unseen. The working days per
state come from the campaign file (``clocks``); a deadline counted across a year that neither the
calendar library nor the campaign's ``calendar`` knows is flagged on the problem
(``details.calendar_unknown_years``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from contracts.vocabulary import Role
from services.ledger.domain.lifecycle import Problem, State
from services.ledger.domain.workdays import LIBRARY, WorkCalendar

GREEN, YELLOW, RED = "green", "yellow", "red"
LIGHT_ZH = {GREEN: "绿灯", YELLOW: "黄灯", RED: "红灯"}
STALL_STATES = (State.DISPATCHED, State.RECTIFYING)
DECISION_STATES = (State.REGISTERED, State.VERIFIED, State.UNFOUNDED, State.RECTIFIED)
WAITING_ON = {State.REGISTERED: Role.COUNTY_OFFICE, State.DISPATCHED: Role.UNIT_HANDLER,
              State.VERIFIED: Role.SUPERVISOR, State.UNFOUNDED: Role.SUPERVISOR,
              State.RECTIFYING: Role.UNIT_HANDLER, State.RECTIFIED: Role.SUPERVISOR}
UNKNOWN_YEARS = "calendar_unknown_years"


@dataclass(frozen=True)
class Rules:
    """Working days of each clock (工作日), and when a light turns yellow or red."""

    respond_days: int = 5      # dispatched: the unit answers a dispatch (交办时限)
    due_soon_days: int = 2     # yellow when due within this many working days
    stall_days: int = 10       # red when no progress for this many working days
    registered_days: int = 5   # registered: awaiting dispatch (待交办)
    verified_days: int = 5     # verified: the plan awaits approval (待审核整改计划)
    unfounded_days: int = 5    # unfounded: 查否 awaits acceptance (待审核查否)
    rectified_days: int = 5    # rectified: awaits strike-off (待销号)
    calendar: WorkCalendar = field(default=LIBRARY, compare=False)

    @classmethod
    def of(cls, campaign) -> Rules:
        """The campaign file's ``clocks`` and ``calendar`` sections."""
        clocks, days = campaign.clocks, campaign.clocks.working_days
        return cls(respond_days=days.dispatched, due_soon_days=clocks.due_soon_days,
                   stall_days=clocks.stall_days, registered_days=days.registered,
                   verified_days=days.verified, unfounded_days=days.unfounded,
                   rectified_days=days.rectified,
                   calendar=WorkCalendar.listing(campaign.calendar))

    def decision_days(self, state: State) -> int:
        return {State.REGISTERED: self.registered_days, State.VERIFIED: self.verified_days,
                State.UNFOUNDED: self.unfounded_days,
                State.RECTIFIED: self.rectified_days}[state]


def due_on(problem: Problem) -> date | None:
    """When the running clock of the problem's state runs out, if one runs."""
    if problem.state is State.DISPATCHED:
        return problem.respond_by
    if problem.state is State.RECTIFYING and problem.plan is not None:
        due = problem.rectify_by or problem.plan.deadline   # a check's or a resume's date wins
        pending = [m.due_on for m in problem.plan.milestones if m.done_on is None]
        return min([due, *pending])
    if problem.state in DECISION_STATES:
        return problem.decide_by
    return None


def deadline(problem: Problem, start: date, days: int, rules: Rules) -> date:
    """``days`` working days after ``start``; a year no calendar knows is flagged on the problem."""
    due = rules.calendar.add_workdays(start, days)
    flag_calendar(problem, rules, (start, due))
    return due


def flag_calendar(problem: Problem, rules: Rules, *spans: tuple[date, date]) -> list[int]:
    """Record (or clear) the years of the spans counted that no calendar knows."""
    unknown = sorted({y for start, end in spans for y in rules.calendar.unknown_years(start, end)})
    if unknown:
        problem.details[UNKNOWN_YEARS] = unknown
    else:
        problem.details.pop(UNKNOWN_YEARS, None)
    return unknown


def start_clock(problem: Problem, before: State | None, today: date, rules: Rules) -> dict:
    """After a step: start the clock of a decision state just entered (or stop it on leaving).

    Returns what to record in the history: the new ``decide_by`` and any unknown years."""
    if problem.state not in DECISION_STATES:
        problem.decide_by = None
        if not problem.is_open:
            problem.details.pop(UNKNOWN_YEARS, None)
        return {}
    if problem.state is before and problem.decide_by is not None:
        return {}                              # the same state: its clock keeps running
    problem.decide_by = deadline(problem, today, rules.decision_days(problem.state), rules)
    recorded = {"decide_by": problem.decide_by.isoformat()}
    if UNKNOWN_YEARS in problem.details:
        recorded[UNKNOWN_YEARS] = problem.details[UNKNOWN_YEARS]
    return recorded


def unknown_years(problem: Problem, today: date, rules: Rules) -> list[int]:
    """Years no calendar knows behind the problem's clock: those its deadline was counted
    across, and those between today and the deadline (the light counts working days there)."""
    flagged = set(problem.details.get(UNKNOWN_YEARS) or ())
    due = due_on(problem)
    if due is not None and problem.is_open:
        flagged.update(rules.calendar.unknown_years(today, due))
    return sorted(flagged)


def is_overdue(problem: Problem, today: date) -> bool:
    due = due_on(problem)
    return due is not None and not problem.suspended and due < today


def is_stalled(problem: Problem, today: date, rules: Rules) -> bool:
    """No progress from the unit for ``rules.stall_days`` working days."""
    if problem.state not in STALL_STATES or problem.suspended or not problem.last_progress_on:
        return False
    return problem.last_progress_on <= stall_cutoff(today, rules)


def is_due_soon(problem: Problem, today: date, rules: Rules) -> bool:
    """Due within ``rules.due_soon_days`` working days."""
    due = due_on(problem)
    return (due is not None and not problem.suspended
            and today <= due <= _due_soon_until(rules.calendar, today, rules.due_soon_days))


def light(problem: Problem, today: date, rules: Rules) -> str | None:
    """None for closed or suspended problems: no clock is running."""
    if not problem.is_open or problem.suspended:
        return None
    if is_overdue(problem, today) or is_stalled(problem, today, rules):
        return RED
    if is_due_soon(problem, today, rules):
        return YELLOW
    return GREEN


def due_soon_until(today: date, rules: Rules) -> date:
    """The last due date that counts as due soon today (a yellow light)."""
    return _due_soon_until(rules.calendar, today, rules.due_soon_days)


def stall_cutoff(today: date, rules: Rules) -> date:
    """The latest last-progress date that counts as stalled today."""
    return _latest_start_with(rules.calendar, today, rules.stall_days)


# Both depend only on the day: computed once per day, not once per problem in a list.
@lru_cache(maxsize=64)
def _latest_start_with(calendar: WorkCalendar, today: date, days: int) -> date:
    return calendar.latest_start_with(today, days)


@lru_cache(maxsize=64)
def _due_soon_until(calendar: WorkCalendar, today: date, days: int) -> date:
    """The last date with at most ``days`` working days in (today, date]."""
    return calendar.add_workdays(today, days + 1) - timedelta(days=1)
