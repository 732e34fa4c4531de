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
from enum import StrEnum

from services.ledger.domain.plan import RectificationPlan


class State(StrEnum):
    REGISTERED = "registered"    # 已登记
    DISPATCHED = "dispatched"    # 已交办
    VERIFIED = "verified"        # 已查实, plan awaiting approval
    UNFOUNDED = "unfounded"      # 查否, awaiting the supervisor's acceptance
    RECTIFYING = "rectifying"    # 整改中
    RECTIFIED = "rectified"      # 已整改, awaiting strike-off
    CLOSED = "closed"            # 已办结


class Outcome(StrEnum):
    RECTIFIED = "rectified"      # 整改完成, 销号
    UNFOUNDED = "unfounded"      # 查否
    MERGED = "merged"            # 重复线索, 合并
    TRANSFERRED = "transferred"  # 移交


class Action(StrEnum):
    DISPATCH = "dispatch"
    REASSIGN = "reassign"
    VERIFY = "verify"
    REPORT_UNFOUNDED = "report_unfounded"
    APPROVE_PLAN = "approve_plan"
    REJECT_PLAN = "reject_plan"
    ACCEPT_UNFOUNDED = "accept_unfounded"
    REJECT_UNFOUNDED = "reject_unfounded"
    RECORD_PROGRESS = "record_progress"
    CHECK_PROGRESS = "check_progress"
    REPORT_RECTIFIED = "report_rectified"
    REJECT_RECTIFICATION = "reject_rectification"
    STRIKE_OFF = "strike_off"
    REOPEN = "reopen"
    MERGE = "merge"
    UNMERGE = "unmerge"
    TRANSFER_OUT = "transfer_out"
    SUSPEND = "suspend"
    RESUME = "resume"
    DECIDE_SEVERITY = "decide_severity"


S, A = State, Action
OPEN_AFTER_DISPATCH = (S.DISPATCHED, S.VERIFIED, S.UNFOUNDED, S.RECTIFYING, S.RECTIFIED)

TRANSITIONS: dict[tuple[State, Action], State] = {
    (S.REGISTERED, A.DISPATCH): S.DISPATCHED,
    (S.DISPATCHED, A.REASSIGN): S.DISPATCHED,
    (S.RECTIFYING, A.REASSIGN): S.RECTIFYING,
    (S.DISPATCHED, A.VERIFY): S.VERIFIED,
    (S.DISPATCHED, A.REPORT_UNFOUNDED): S.UNFOUNDED,
    (S.VERIFIED, A.APPROVE_PLAN): S.RECTIFYING,
    (S.VERIFIED, A.REJECT_PLAN): S.DISPATCHED,
    (S.UNFOUNDED, A.ACCEPT_UNFOUNDED): S.CLOSED,
    (S.UNFOUNDED, A.REJECT_UNFOUNDED): S.DISPATCHED,
    (S.RECTIFYING, A.RECORD_PROGRESS): S.RECTIFYING,
    (S.RECTIFYING, A.CHECK_PROGRESS): S.RECTIFYING,
    (S.RECTIFYING, A.REPORT_RECTIFIED): S.RECTIFIED,
    (S.RECTIFIED, A.REJECT_RECTIFICATION): S.RECTIFYING,
    (S.RECTIFIED, A.STRIKE_OFF): S.CLOSED,
    (S.CLOSED, A.REOPEN): S.REGISTERED,
    (S.REGISTERED, A.MERGE): S.CLOSED,
    (S.CLOSED, A.UNMERGE): S.REGISTERED,
    (S.REGISTERED, A.TRANSFER_OUT): S.CLOSED,
    (S.DISPATCHED, A.TRANSFER_OUT): S.CLOSED,
    **{(s, A.SUSPEND): s for s in OPEN_AFTER_DISPATCH},
    **{(s, A.RESUME): s for s in OPEN_AFTER_DISPATCH},
    **{(s, A.DECIDE_SEVERITY): s for s in (S.VERIFIED, S.RECTIFYING, S.RECTIFIED, S.CLOSED)},
}

CLOSING_OUTCOME = {
    A.ACCEPT_UNFOUNDED: Outcome.UNFOUNDED,
    A.STRIKE_OFF: Outcome.RECTIFIED,
    A.MERGE: Outcome.MERGED,
    A.TRANSFER_OUT: Outcome.TRANSFERRED,
}

# Outcomes each backward action may start from (a merged problem is unmerged, not reopened).
REQUIRES_OUTCOME = {
    A.REOPEN: (Outcome.RECTIFIED, Outcome.UNFOUNDED),
    A.UNMERGE: (Outcome.MERGED,),
    A.DECIDE_SEVERITY: (None, Outcome.RECTIFIED),
}

ALLOWED_WHILE_SUSPENDED = {A.RESUME, A.TRANSFER_OUT, A.DECIDE_SEVERITY}

# Event names (past tense) for each action, as published ``problem.<name>``.
EVENT_NAMES = {
    A.DISPATCH: "dispatched", A.REASSIGN: "reassigned", A.VERIFY: "verified",
    A.REPORT_UNFOUNDED: "closure_unfounded", A.APPROVE_PLAN: "plan_approved",
    A.REJECT_PLAN: "plan_rejected", A.ACCEPT_UNFOUNDED: "unfounded_accepted",
    A.REJECT_UNFOUNDED: "unfounded_rejected", A.RECORD_PROGRESS: "progress_recorded",
    A.CHECK_PROGRESS: "progress_checked", A.REPORT_RECTIFIED: "rectification_reported",
    A.REJECT_RECTIFICATION: "rectification_rejected", A.STRIKE_OFF: "struck_off",
    A.REOPEN: "reopened", A.MERGE: "merged", A.UNMERGE: "unmerged",
    A.TRANSFER_OUT: "transferred", A.SUSPEND: "suspended", A.RESUME: "resumed",
    A.DECIDE_SEVERITY: "severity_decided",
}


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
    return target
