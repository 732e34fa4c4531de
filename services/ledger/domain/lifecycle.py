"""A problem's life in the ledger (台账), as an explicit state machine.

registered ─dispatch(交办)→ dispatched ─verify(查实, with a plan)→ verified ─approve_plan→ rectifying
  ─report_rectified(with evidence)→ rectified ─strike_off(销号)→ closed[rectified]
dispatched ─report_unfounded(查否, findings + evidence)→ unfounded ─accept_unfounded→ closed[unfounded]
Back (退回): reject_plan, reject_unfounded → dispatched; reject_rectification → rectifying.
reopen (spot-check 抽查, look-back 回头看, reporter dispute) takes a closed[rectified|unfounded]
problem back to registered; merge closes a duplicate as closed[merged] (unmerge undoes it);
transfer_out closes as closed[transferred] (移交). Closed is not fixed: the outcome and the
decider are kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from contracts.actions import SPECS
from contracts.vocabulary import Action, EventName, Outcome, State
from services.ledger.domain.plan import RectificationPlan

__all__ = ["ALLOWED_WHILE_SUSPENDED", "CLOSING_OUTCOME", "EVENT_NAMES", "REQUIRES_OUTCOME",
           "TRANSITIONS", "Action", "EventName", "IllegalTransition", "Outcome", "Problem",
           "State", "check_allowed"]

S, A = State, Action

# The ledger's rules, read off the actions' specifications (``contracts.actions``).
TRANSITIONS: dict[tuple[State, Action], State] = {
    (state, spec.action): spec.target or state
    for spec in SPECS.values() for state in spec.from_states}

CLOSING_OUTCOME: dict[Action, Outcome] = {
    a: spec.closes_as for a, spec in SPECS.items() if spec.closes_as is not None}

# Outcomes each backward action may start from (a merged problem is unmerged, not reopened).
REQUIRES_OUTCOME: dict[Action, tuple[Outcome | None, ...]] = {
    a: spec.requires_outcome for a, spec in SPECS.items() if spec.requires_outcome is not None}

ALLOWED_WHILE_SUSPENDED = {a for a, spec in SPECS.items() if spec.while_suspended}

# Event names (past tense) for each action, as published ``problem.<name>``.
EVENT_NAMES: dict[Action, EventName] = {a: spec.event for a, spec in SPECS.items()}


class IllegalTransition(Exception):
    """The action is not allowed in the problem's state; the message names both."""

    def __init__(self, state: State, action: Action, why: str = ""):
        reason = f"'{action.value}' is not allowed when a problem is '{state.value}'"
        super().__init__(f"{reason}: {why}" if why else reason)
        self.state = state
        self.action = action


@dataclass
class Problem:
    """One ledger entry (台账条目), concrete and case-based (具体化、案例化)."""

    id: str
    clue_id: str
    channel: str
    title: str
    description: str
    unit: str | None
    category: str | None
    kind: str | None
    registered_at: datetime
    state: State = State.REGISTERED
    outcome: Outcome | None = None
    decided_by: str | None = None
    respond_by: date | None = None         # the unit's answer is due (交办时限)
    rectify_by: date | None = None         # rectification is due (整改时限, or a check's new one)
    decide_by: date | None = None          # the dispatch or supervisor's decision is due (交办/审核时限)
    last_progress_on: date | None = None   # last sign of life from the unit
    suspended_since: date | None = None
    suspension_reason: str | None = None
    plan: RectificationPlan | None = None
    merged_into: str | None = None
    self_found: bool = False               # 自查自纠
    seriousness: str | None = None         # ordinary | serious (严重典型)
    confirmed_phase: str | None = None
    severity_advice: str | None = None
    severity_decision: str | None = None
    details: dict = field(default_factory=dict)  # findings, evidence, checks, flags, notes
    version: int = 0
    requested_by: str | None = None        # the partner platform whose own request it is

    @property
    def is_open(self) -> bool:
        return self.state is not State.CLOSED

    @property
    def suspended(self) -> bool:
        return self.suspended_since is not None


def check_allowed(problem: Problem, action: Action) -> State:
    """The state the action leads to, or IllegalTransition naming state and action."""
    target = TRANSITIONS.get((problem.state, action))
    if target is None:
        raise IllegalTransition(problem.state, action)
    needed = REQUIRES_OUTCOME.get(action)
    if needed is not None and problem.outcome not in needed:
        raise IllegalTransition(problem.state, action, (
            f"it was closed as '{problem.outcome.value if problem.outcome else 'open'}'"))
    if action is A.SUSPEND and problem.suspended:
        raise IllegalTransition(problem.state, action, "the problem is already suspended")
    if problem.suspended and action not in ALLOWED_WHILE_SUSPENDED:
        raise IllegalTransition(problem.state, action,
                                "the problem is suspended; resume it first")
    if action is A.RESUME and not problem.suspended:
        raise IllegalTransition(problem.state, action, "the problem is not suspended")
    if action is A.UNPUBLISH and "published" not in (problem.details or {}):
        raise IllegalTransition(problem.state, action, "the problem is not published")
    return target
