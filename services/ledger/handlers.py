"""The ledger's use cases."""
from __future__ import annotations

from contracts.events import ClueAccepted, ProblemRegistered
from kit.uow import AlreadyProcessed, UnitOfWork
from services.ledger import domain
from services.ledger.adapters import orm

CONSUMER_ACCEPTED = "ledger.on_clue_accepted"


def register_problem(uow: UnitOfWork, msg: ClueAccepted) -> str | None:
    """Register the clue's problem once (登记) and announce problem_registered."""
    with uow:
        try:
            uow.consume_once(CONSUMER_ACCEPTED, msg.event_id)
        except AlreadyProcessed:
            return None
        clue = msg.clue
        problem = domain.register(
            clue_id=msg.clue_id, channel=clue.channel, title=clue.title,
            description=clue.description, unit=clue.subject_unit, category=clue.category,
            kind=clue.kind, now=orm.utcnow())
        orm.add_problem(uow.session, problem)
        uow.emit(ProblemRegistered(
            event_id=f"registered-{problem.id}", problem_id=problem.id, clue_id=msg.clue_id,
            unit=problem.unit, category=problem.category, kind=problem.kind,
            title=problem.title, registered_at=problem.registered_at))
        uow.commit()
        return problem.id


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def list_problems(uow: UnitOfWork, *, units: list[str] | None, status: str | None,
                  limit: int, offset: int) -> dict:
    with uow:
        total, rows = orm.list_problems(uow.session, units=units, status=status,
                                        limit=limit, offset=offset)
        return {"total": total, "items": [_jsonable(r) for r in rows]}


def get_problem(uow: UnitOfWork, problem_id: str) -> dict | None:
    with uow:
        row = orm.get_problem(uow.session, problem_id)
        return _jsonable(dict(row._mapping)) if row else None
