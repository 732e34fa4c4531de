"""The ledger's repositories: what a unit of work offers its handlers (``uow.problems``,
``uow.history``, ``uow.work_plans``, ``uow.views``). Each is a thin class over one
transaction's session and the SQLAlchemy Core statements of its module (``problems``,
``history``, ``work_plans``, ``views``): no statement of its own, no behaviour of its own.
``tests/fakes/ledger.py`` keeps the same interface in memory."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterator

from sqlalchemy.orm import Session

from services.ledger.adapters import history, problems, views, work_plans
from services.ledger.adapters.problems import _utc
from services.ledger.domain import chain
from services.ledger.domain.duplicates import Candidate
from services.ledger.domain.lifecycle import Problem


class ProblemRepository:
    """Problems (问题台账) and the clues linked to each."""

    def __init__(self, session: Session):
        self.session = session

    def add(self, problem: Problem, supervisor: str | None) -> str:
        """Register the problem's row; the digest of what was written, for its history."""
        return problems.add(self.session, problem, supervisor)

    def get(self, problem_id: str) -> Problem | None:
        return problems.load(self.session, problem_id)

    def get_for_update(self, problem_id: str) -> Problem | None:
        """The problem, its row locked until the commit (concurrent actions queue)."""
        return problems.load(self.session, problem_id, lock=True)

    @staticmethod
    def count_key(problem: Problem, supervisor: str | None) -> tuple[tuple, tuple]:
        """Where the problem is counted now; ``save`` takes it as loaded."""
        return problems.count_key(problem, supervisor)

    def save(self, problem: Problem, supervisor: str | None, counted_as: tuple) -> str:
        """Write the problem's row; the digest of what was written, for its history."""
        return problems.save(self.session, problem, supervisor, counted_as)

    def link_clue(self, problem_id: str, clue_id: str, channel: str, via: str) -> None:
        problems.link_clue(self.session, problem_id, clue_id, channel, via)

    def unlink_clue(self, problem_id: str, clue_id: str) -> None:
        problems.unlink_clue(self.session, problem_id, clue_id)

    def move_clues(self, from_problem: str, to_problem: str, via: str) -> list[str]:
        return problems.move_clues(self.session, from_problem, to_problem, via)

    def clues_of(self, problem_id: str) -> list[dict]:
        return problems.clues_of(self.session, problem_id)

    def duplicate_candidates(self, *, unit: str, category: str | None, since: datetime,
                             exclude: str) -> list[Candidate]:
        """Recent open problems of the same unit (and category): duplicate suspects."""
        rows = problems.find_candidates(self.session, unit=unit, category=category,
                                        since=since, exclude=exclude)
        return [Candidate(r.id, r.unit, r.category, r.title, r.description,
                          _utc(r.registered_at)) for r in rows]

    def count(self) -> int:
        return problems.count_problems(self.session)

    def count_satisfaction(self, unit: str | None, supervisor: str | None,
                           satisfaction: str) -> None:
        """回访满意度: one more answer of this value for the unit."""
        problems.count_satisfaction(self.session, unit, supervisor, satisfaction)


class HistoryRepository:
    """The one hash-chained history (留痕): append, a problem's timeline, the chain, its head."""

    def __init__(self, session: Session):
        self.session = session

    def append(self, *, problem_id: str | None, action: str, actor: str, at: datetime,
               data: dict, state: str | None = None) -> int:
        """One entry; about a problem, it binds the problem's row (``state``, its digest as
        ``ProblemRepository.state_digest`` gives it, or read back when not given)."""
        return history.append_history(self.session, problem_id=problem_id, action=action,
                                      actor=actor, at=at, data=data, state=state)

    def timeline(self, problem_id: str) -> list[dict]:
        return history.timeline(self.session, problem_id)

    def chain(self, between_batches=None) -> Iterator[tuple]:
        """Every entry in order as stored (``chain.verify_stored`` reads them)."""
        return history.iter_chain(self.session, between_batches=between_batches)

    def head(self) -> dict:
        return history.head(self.session)

    def lock_head(self) -> dict:
        """Lock the head for this transaction (serializes a check-then-append, e.g. a month's
        bulletin published once); returns it."""
        return history.lock_head(self.session)

    def problems_with(self, actions: tuple[str, ...]) -> list[str]:
        """Problems with an entry of any of ``actions``, the latest first (公开曝光)."""
        return history.problems_with(self.session, actions)

    def entries(self, action: str) -> list[dict]:
        """Every entry of ``action`` (not about a problem), latest first, as hashed."""
        return history.entries(self.session, action)

    def snapshot(self) -> None:
        """The verification's reads as one snapshot."""
        history.snapshot(self.session)

    def problem_states(self, between_batches=None) -> Iterator[tuple]:
        """(id, digest of its row now, digest its latest entry binds) for every problem."""
        return history.iter_problem_states(self.session, between_batches=between_batches)

    def problems_without_rows(self, limit: int) -> list[str]:
        return history.problems_without_rows(self.session, limit)


@dataclass(frozen=True)
class WorkPlan:
    """A unit's filed work plan (清理工作方案), as stored."""

    id: str
    unit: str
    supervisor: str | None
    title: str
    summary: str
    document_sha256: str | None
    filed_by: str
    filed_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None

    @classmethod
    def of(cls, row) -> "WorkPlan":
        return cls(id=row.id, unit=row.unit, supervisor=row.supervisor, title=row.title,
                   summary=row.summary, document_sha256=row.document_sha256,
                   filed_by=row.filed_by, filed_at=_utc(row.filed_at),
                   acknowledged_by=row.acknowledged_by,
                   acknowledged_at=_utc(row.acknowledged_at) if row.acknowledged_at else None)


class WorkPlanRepository:
    """Work plans (清理工作方案备案) and their acknowledgement."""

    def __init__(self, session: Session):
        self.session = session

    def add(self, *, id: str, unit: str, supervisor: str | None, title: str, summary: str,
            document_sha256: str | None, filed_by: str, filed_at: datetime) -> None:
        work_plans.add_work_plan(self.session, id=id, unit=unit, supervisor=supervisor,
                                 title=title, summary=summary,
                                 document_sha256=document_sha256, filed_by=filed_by,
                                 filed_at=filed_at)

    def get_for_update(self, plan_id: str) -> WorkPlan | None:
        row = work_plans.get_work_plan(self.session, plan_id, lock=True)
        return WorkPlan.of(row) if row else None

    def acknowledge(self, plan_id: str, by: str) -> None:
        work_plans.acknowledge_work_plan(self.session, plan_id, by)

    def list(self, *, units: list[str] | None) -> list[WorkPlan]:
        return [WorkPlan.of(r) for r in work_plans.list_work_plans(self.session, units=units)]

    def first_filings(self) -> dict[str, datetime]:
        return work_plans.first_filings(self.session)


class LedgerViews:
    """Read-only: lists and roll-ups, from the problems and the maintained counts."""

    def __init__(self, session: Session):
        self.session = session

    def list_problems(self, *, units, supervisor, filters: dict, today: date,
                      stall_before: date, limit: int, offset: int) -> tuple[int, list[Problem]]:
        total, rows = views.list_problems(self.session, units=units, supervisor=supervisor,
                                          filters=filters, today=today,
                                          stall_before=stall_before, limit=limit,
                                          offset=offset)
        return total, [problems.to_problem(row) for row in rows]

    def counts_by(self, column: str, *, supervisor: str | None) -> dict:
        return views.counts_by(self.session, column, supervisor=supervisor)

    def counts_by_state_and_outcome(self, *, supervisor: str | None) -> dict:
        return views.counts_by_state_and_outcome(self.session, supervisor=supervisor)

    def unit_totals(self, *, supervisor: str | None) -> list:
        return views.unit_totals(self.session, supervisor=supervisor)

    def registered_between(self, start: datetime, end: datetime) -> dict[str | None, int]:
        return views.registered_between(self.session, start, end)

    def reopened_between(self, start: datetime, end: datetime,
                         sources: tuple[str, ...]) -> dict[str, int]:
        return views.reopened_between(self.session, start, end, sources)

    def rectification_reports(self) -> list:
        return views.rectification_reports(self.session)

    def states_by_clue(self, clue_ids: list[str], *, with_text: bool = False) -> list[tuple]:
        return views.states_by_clue(self.session, clue_ids, with_text=with_text)

    def late_per_unit(self, *, units, supervisor, today: date,
                      stall_before: date) -> dict[str, dict]:
        return views.late_per_unit(self.session, units=units, supervisor=supervisor,
                                   today=today, stall_before=stall_before)

    def satisfaction_counts(self, *, supervisor: str | None) -> dict[str | None, dict]:
        return views.satisfaction_counts(self.session, supervisor=supervisor)

    def attention_list(self, *, units, supervisor, today: date, stall_before: date) -> dict:
        return views.attention_list(self.session, units=units, supervisor=supervisor,
                                    today=today, stall_before=stall_before)
