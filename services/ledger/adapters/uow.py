"""The ledger's unit of work: ``kit.uow.UnitOfWork`` (one transaction, inbox, outbox,
nesting, write-behind) with the ledger's repositories built on its session."""
from __future__ import annotations

from kit.uow import UnitOfWork
from services.ledger.adapters.reports import ReportRepository
from services.ledger.adapters.repository import (
    HistoryRepository, LedgerViews, ProblemRepository, WorkPlanRepository,
)


class LedgerUnitOfWork(UnitOfWork):
    """``uow.problems``, ``uow.history``, ``uow.work_plans`` and ``uow.views`` live as long
    as the outermost transaction: built when it opens, dropped when it closes (an inner
    ``with uow`` of a batch shares them)."""

    problems: ProblemRepository
    history: HistoryRepository
    work_plans: WorkPlanRepository
    views: LedgerViews
    reports: ReportRepository

    def __enter__(self) -> "LedgerUnitOfWork":
        opening = self._depth == 0
        super().__enter__()
        if opening:
            session = self.session
            self.problems = ProblemRepository(session)
            self.history = HistoryRepository(session)
            self.work_plans = WorkPlanRepository(session)
            self.views = LedgerViews(session)
            self.reports = ReportRepository(session)
        return self

    def __exit__(self, exc_type, exc, tb):
        super().__exit__(exc_type, exc, tb)
        if not self._depth:
            self.problems = self.history = self.work_plans = self.views = self.reports = None
