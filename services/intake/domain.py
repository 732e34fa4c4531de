"""Intake's rules (线索受理), plain Python.

A clue is stored once per id; its public status follows the ledger. A receipt code is
the only handle an anonymous reporter has, so only its digest is stored and the
receipt view reveals nothing but progress.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from contracts.vocabulary import Outcome, State
from contracts.events import normalize_receipt, receipt_digest  # noqa: F401 - intake's words

RECEIVED = "received"
REGISTERED = "registered"
IN_PROGRESS = "in_progress"
CLOSED = "closed"

STATUS_LABELS = {
    RECEIVED: {"zh": "已受理", "en": "Received"},
    REGISTERED: {"zh": "已登记入台账", "en": "Registered in the ledger"},
    IN_PROGRESS: {"zh": "已交办,正在办理", "en": "Dispatched, being handled"},
    CLOSED: {"zh": "已办结", "en": "Closed"},
}
OUTCOME_LABELS = {
    Outcome.RECTIFIED: {"zh": "已整改销号", "en": "Rectified and struck off"},
    Outcome.UNFOUNDED: {"zh": "经核查不属实(查否)", "en": "Found unfounded"},
    Outcome.MERGED: {"zh": "与其他线索合并办理", "en": "Merged with another report"},
    Outcome.TRANSFERRED: {"zh": "已移交有关部门", "en": "Transferred to another authority"},
}


class UnknownReceipt(Exception):
    """No clue has this receipt code."""


class UnknownClue(Exception):
    """No clue has this id."""


class NoContact(Exception):
    """The clue is anonymous or left no contact details."""


class NotDisputable(Exception):
    """The receipt's problem is not closed as rectified or unfounded: nothing to dispute."""


MERGED_NOTE = {"zh": "您的举报已与反映同一问题的其他举报合并办理,进度随合并后的问题更新",
               "en": "Your report was merged with others about the same problem; "
                     "its progress follows that problem"}


@dataclass(frozen=True)
class ReceiptView:
    status: str
    submitted_at: datetime
    updated_at: datetime
    outcome: str | None = None
    merged: bool = False

    @property
    def may_dispute(self) -> bool:
        """举报人异议: a closure as rectified or unfounded may be disputed, that of the
        problem a merged report follows included."""
        return self.status == CLOSED and self.outcome in ("rectified", "unfounded")

    def to_dict(self) -> dict:
        label = STATUS_LABELS[self.status]
        as_utc = lambda t: t if t.tzinfo else t.replace(tzinfo=timezone.utc)  # noqa: E731
        return {
            "status": self.status,
            "status_zh": label["zh"],
            "status_en": label["en"],
            "submitted_at": as_utc(self.submitted_at).isoformat(),
            "updated_at": as_utc(self.updated_at).isoformat(),
            "outcome": self.outcome,
            "outcome_zh": OUTCOME_LABELS.get(self.outcome, {}).get("zh"),
            "outcome_en": OUTCOME_LABELS.get(self.outcome, {}).get("en"),
            "may_dispute": self.may_dispute,
            "merged": self.merged,
            "merged_zh": MERGED_NOTE["zh"] if self.merged else None,
            "merged_en": MERGED_NOTE["en"] if self.merged else None,
        }


REGISTRATION_MOVES = (RECEIVED, REGISTERED)
"""Registration moves a clue from received to registered and nothing else: a clue the
ledger has already moved on (its steps can arrive first) keeps its later status."""


def next_status_on_registration(current: str) -> str:
    """Registration only ever moves a clue forward; a late duplicate event changes nothing."""
    return REGISTRATION_MOVES[1] if current == REGISTRATION_MOVES[0] else current


MERGE, UNMERGE = "merge", "unmerge"
"""合并 / 撤销合并: a merged problem's clues follow the problem it was merged into (its
status, outcome and disputes), until it is unmerged; never "closed" while that one is open."""


def status_after_transition(to_state: str, outcome: str | None) -> tuple[str, str | None]:
    """What the reporter sees once the ledger moved the problem (no internal detail)."""
    if to_state == State.CLOSED:
        return CLOSED, outcome
    if to_state == State.REGISTERED:
        return REGISTERED, None
    return IN_PROGRESS, None
