"""What audit does with each event it hears from intake and the ledger, once per message.

Spot checks (the population, ``round_handlers``) and the accountability ladder
(``ladder_handlers``) both follow clues, problems and the reporting cycle. They hear each
message through ONE queue and ONE inbox mark, and apply their effects in one transaction:
two subscriptions to the same events would cost every clue two deliveries, two inbox claims
and two commits (measured: audit's CPU per clue rose from 0.5 to 0.7–0.9 ms when the ladder
subscribed beside the rounds)."""
from __future__ import annotations

from datetime import datetime

from contracts.events import ClueAccepted, ProblemTransitioned, ReportCycleEvent
from kit.uow import AlreadyProcessed, UnitOfWork
from services.audit import domain, handlers, ladder_handlers
from services.audit import round_handlers as rounds


def _first_time(uow: UnitOfWork, event_id: str) -> bool:
    try:
        uow.consume_once(event_id)
    except AlreadyProcessed:
        return False
    return True


def clue_accepted(uow: UnitOfWork, msg: ClueAccepted, ladder: ladder_handlers.Context) -> None:
    """Observed (the audit trail) and its channel kept for the ladder (自查自纠)."""
    with uow:
        if not _first_time(uow, msg.event_id):
            return
        handlers.keep(uow, domain.observe(msg.event_id, msg.event_type, msg.clue_id,
                                          msg.clue.subject_unit, category=msg.clue.category))
        ladder_handlers.remember_channel(uow, msg, ladder)
        uow.commit()


def problem_transitioned(uow: UnitOfWork, msg: ProblemTransitioned, campaign) -> None:
    """Observed, applied to the spot-check population, and no longer watched as overdue by
    the ladder if it moved."""
    with uow:
        if not _first_time(uow, msg.event_id):
            return
        rounds.transition(uow, msg, campaign)
        ladder_handlers.stop_watching(uow, msg)
        uow.commit()


def report_cycle(uow: UnitOfWork, msg: ReportCycleEvent, ladder: ladder_handlers.Context,
                 now: datetime) -> None:
    """Reports and zero reports for the population; missing reports, escalations and
    contradicted zero reports for the ladder."""
    with uow:
        if not _first_time(uow, msg.event_id):
            return
        rounds.report(uow, msg)
        ladder_handlers.report_cycle(uow, msg, ladder, now)
        uow.commit()
