"""Reports, the 建章立制 register, clock alerts and the sweeps' reads in the ledger's store
(SQLAlchemy Core). The sweeps read the problems whose clock runs from their partial indexes
(``ix_problems_open_clock_due``, ``ix_problems_clock_progress``), in date ranges."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session

from kit.store import insert_new
from services.ledger.adapters.orm import (
    CLOCK_RUNS, PROGRESS_CLOCK_RUNS, clock_alerts, forwarded_summaries, institutions,
    problem_clues, problems, reports,
)
from services.ledger.domain.lifecycle import State

SWEPT = (problems.c.id, problems.c.title, problems.c.state, problems.c.unit,
         problems.c.supervisor, problems.c.due_on, problems.c.last_progress_on)


class ReportRepository:
    """``uow.reports``: filings (every version), the register, and what the sweeps read."""

    def __init__(self, session: Session):
        self.session = session

    # reports ---------------------------------------------------------------------------------
    def current(self, unit: str, period: str, *, lock: bool = False):
        """The latest version filed for (unit, period), or None."""
        query = (select(reports).where(reports.c.unit == unit, reports.c.period == period)
                 .order_by(reports.c.version.desc()).limit(1))
        return self.session.execute(query.with_for_update() if lock else query).first()

    def add(self, **values) -> None:
        self.session.execute(insert(reports).values(**values))

    def get(self, report_id: str):
        return self.session.execute(select(reports).where(reports.c.id == report_id)).first()

    def versions(self, unit: str, period: str) -> list:
        return self.session.execute(select(reports).where(
            reports.c.unit == unit, reports.c.period == period)
            .order_by(reports.c.version)).all()

    def latest(self, *, units: list[str] | None, period: str | None = None,
               limit: int = 500) -> list:
        """The current version of each (unit, period) in scope, newest period first."""
        top = (select(reports.c.unit, reports.c.period, func.max(reports.c.version).label("v"))
               .group_by(reports.c.unit, reports.c.period))
        if units is not None:
            top = top.where(reports.c.unit.in_(units))
        if period is not None:
            top = top.where(reports.c.period == period)
        top = top.subquery()
        query = (select(reports, top.c.v.label("versions")).join(top, and_(
            reports.c.unit == top.c.unit, reports.c.period == top.c.period,
            reports.c.version == top.c.v))
            .order_by(reports.c.period.desc(), reports.c.unit).limit(limit))
        return self.session.execute(query).all()

    def flag(self, report_id: str, contradiction: dict) -> None:
        """Flag a zero report contradicted after it was filed (its chain entry says why)."""
        self.session.execute(update(reports).where(reports.c.id == report_id)
                             .values(contradiction=contradiction))

    def filed_units(self, period: str) -> set[str]:
        return set(self.session.execute(select(reports.c.unit).where(
            reports.c.period == period).distinct()).scalars())

    def clues_in(self, unit: str, start: datetime, end: datetime) -> int:
        """Clues from any channel about the unit linked to its problems in [start, end)."""
        return self.session.execute(
            select(func.count()).select_from(problem_clues.join(
                problems, problems.c.id == problem_clues.c.problem_id))
            .where(problems.c.unit == unit, problem_clues.c.linked_at >= start,
                   problem_clues.c.linked_at < end)).scalar_one()

    def open_problems(self, unit: str) -> int:
        return self.session.execute(select(func.count()).select_from(problems).where(
            problems.c.unit == unit, problems.c.state != State.CLOSED.value)).scalar_one()

    def add_forwarded(self, **values) -> None:
        self.session.execute(insert(forwarded_summaries).values(**values))

    def forwarded(self, period: str, supervisor: str | None = None) -> list:
        """Summaries forwarded for a period (a body's own, or all), latest first."""
        query = select(forwarded_summaries).where(forwarded_summaries.c.period == period)
        if supervisor is not None:
            query = query.where(forwarded_summaries.c.supervisor == supervisor)
        return self.session.execute(query.order_by(
            forwarded_summaries.c.history_seq.desc())).all()

    # 建章立制 ---------------------------------------------------------------------------------
    def add_measure(self, **values) -> None:
        self.session.execute(insert(institutions).values(**values))

    def measures(self, *, units: list[str] | None) -> list:
        query = select(institutions).order_by(institutions.c.unit, institutions.c.on_date)
        if units is not None:
            query = query.where(institutions.c.unit.in_(units))
        return self.session.execute(query).all()

    # sweeps ----------------------------------------------------------------------------------
    def due_between(self, first: date, last: date) -> list:
        """Problems whose running clock runs out in [first, last] (ix_problems_open_clock_due)."""
        return self.session.execute(select(*SWEPT).where(
            CLOCK_RUNS, problems.c.due_on >= first, problems.c.due_on <= last)).all()

    def overdue(self, today: date) -> list:
        return self.session.execute(select(*SWEPT).where(
            CLOCK_RUNS, problems.c.due_on < today)).all()

    def stalled(self, cutoff: date) -> list:
        return self.session.execute(select(*SWEPT).where(
            PROGRESS_CLOCK_RUNS, problems.c.last_progress_on <= cutoff)).all()

    def mark_crossed(self, marks: list[dict]) -> set[tuple[str, str]]:
        """Record crossings (problem_id, name, basis, swept_on); the (problem_id, name) pairs
        recorded now, not before."""
        if not marks:
            return set()
        dialect = self.session.get_bind().dialect.name
        statement = insert_new(clock_alerts, dialect).returning(clock_alerts.c.problem_id)
        fresh = set()
        for mark in marks:   # one statement each: RETURNING of a multi-row upsert varies
            if self.session.execute(statement, mark).first() is not None:
                fresh.add((mark["problem_id"], mark["name"]))
        return fresh
