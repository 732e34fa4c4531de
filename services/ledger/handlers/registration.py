"""Registration (登记): an accepted clue becomes a problem, once per message."""
from __future__ import annotations

from datetime import timedelta

from contracts.events import ClueAccepted, ProblemRegistered
from kit.uow import AlreadyProcessed
from services.ledger.adapters.orm import utcnow
from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.domain import LOCAL_TZ, duplicates, severity, timers
from services.ledger.domain.lifecycle import Problem
from services.ledger.domain.registration import register
from services.ledger.handlers.common import rules_of, supervisor_code


def register_problem(uow: LedgerUnitOfWork, msg: ClueAccepted, campaign) -> str | None:
    """Register the clue's problem once (登记), suggest duplicates, announce it."""
    with uow:
        try:
            uow.consume_once(msg.event_id)
        except AlreadyProcessed:
            return None
        clue = msg.clue
        problem = register(
            clue_id=msg.clue_id, channel=clue.channel, title=clue.title,
            description=clue.description, unit=clue.subject_unit, category=clue.category,
            kind=clue.kind, self_found=severity.is_self_found(
                clue.channel, campaign, subject_unit=clue.subject_unit,
                submitter_role=msg.submitter_role, submitter_org=msg.submitter_org),
            now=utcnow(), requested_by=msg.requested_by)
        clock = timers.start_clock(problem, None, problem.registered_at.astimezone(LOCAL_TZ)
                                   .date(), rules_of(campaign))
        suggestions = _duplicate_suggestions(uow, problem, campaign)
        if suggestions:
            problem.details["duplicate_suggestions"] = suggestions
        supervisor = supervisor_code(campaign, problem.unit)
        state = uow.problems.add(problem, supervisor)
        uow.history.append(problem_id=problem.id, action="register", actor="system",
                           at=problem.registered_at, state=state,
                           data={"clue_id": msg.clue_id, "channel": clue.channel,
                                 "unit": problem.unit, "duplicate_suggestions": suggestions,
                                 **clock, **({"files": list(clue.files)} if clue.files else {}),
                                 **({"requested_by": msg.requested_by} if msg.requested_by
                                    else {})})
        uow.emit(ProblemRegistered(
            event_id=f"registered-{problem.id}", problem_id=problem.id, clue_id=msg.clue_id,
            unit=problem.unit, category=problem.category, kind=problem.kind,
            title=problem.title, registered_at=problem.registered_at))
        uow.commit()
        return problem.id


def _duplicate_suggestions(uow: LedgerUnitOfWork, problem: Problem, campaign) -> list[dict]:
    if problem.unit is None:
        return []
    config = campaign.duplicates
    existing = uow.problems.duplicate_candidates(
        unit=problem.unit, category=problem.category, exclude=problem.id,
        since=problem.registered_at - timedelta(days=config.window_days))
    new = duplicates.Candidate(problem.id, problem.unit, problem.category, problem.title,
                               problem.description, problem.registered_at)
    found = duplicates.suggest_duplicates(new, existing, window_days=config.window_days,
                                          threshold=config.threshold)
    return [{"problem_id": s.problem_id, "score": round(s.score, 3)} for s in found]
