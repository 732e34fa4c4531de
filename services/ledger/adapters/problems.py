"""Problems and their clue links in the ledger's store (SQLAlchemy Core): the
problems repository's statements, and the maintained counts every save keeps exact."""
from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timezone

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session

from kit import deferred
from services.ledger.adapters import history
from services.ledger.adapters.orm import (
    problem_clues, problems, satisfaction_tallies, topic_counts, unit_tallies, utcnow,
)
from services.ledger.domain.lifecycle import Outcome, Problem, State
from services.ledger.domain.plan import plan_from_dict
from services.ledger.domain.timers import due_on

PROBLEM_FIELDS = [f.name for f in fields(Problem)]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def to_problem(row) -> Problem:
    data = {name: getattr(row, name) for name in PROBLEM_FIELDS if name != "plan"}
    data["state"] = State(row.state)
    data["outcome"] = Outcome(row.outcome) if row.outcome else None
    data["registered_at"] = _utc(row.registered_at)
    data["details"] = dict(row.details or {})
    problem = Problem(**data)
    problem.plan = plan_from_dict(row.plan) if row.plan else None
    return problem


def _values(problem: Problem, supervisor: str | None) -> dict:
    values = {name: getattr(problem, name) for name in PROBLEM_FIELDS}
    values["state"] = problem.state.value
    values["outcome"] = problem.outcome.value if problem.outcome else None
    values["plan"] = problem.plan.to_dict() if problem.plan else None
    values["due_on"] = due_on(problem)
    values["supervisor"] = supervisor
    values["updated_at"] = utcnow()
    return values


def state_digest(problem: Problem, supervisor: str | None) -> str:
    """The digest of the problem's row as ``add``/``save`` write it, for its history entry
    to bind (``adapters.history``)."""
    return history.state_digest(_values(problem, supervisor))


COUNTED = {unit_tallies: ("unit", "supervisor", "state", "outcome", "self_found"),
           topic_counts: ("supervisor", "category", "kind", "channel")}


def count_key(problem: Problem, supervisor: str | None) -> tuple[tuple, tuple]:
    """Where the problem is counted: (unit tally key, topic key)."""
    return ((problem.unit or "", supervisor or "", problem.state.value,
             problem.outcome.value if problem.outcome else "", bool(problem.self_found)),
            (supervisor or "", problem.category or "", problem.kind or "", problem.channel))


def _upsert(table, dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    statement = upsert(table)
    return statement.on_conflict_do_update(
        index_elements=list(COUNTED[table]), set_={"n": table.c.n + statement.excluded.n})


BUMP = {(table, dialect): _upsert(table, dialect) for table in COUNTED
        for dialect in ("postgresql", "sqlite")}
SATISFACTION_KEY = ("unit", "supervisor", "satisfaction")


def _satisfaction_upsert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    statement = upsert(satisfaction_tallies)
    return statement.on_conflict_do_update(
        index_elements=list(SATISFACTION_KEY),
        set_={"n": satisfaction_tallies.c.n + statement.excluded.n})


BUMP_SATISFACTION = {d: _satisfaction_upsert(d) for d in ("postgresql", "sqlite")}


def count_satisfaction(session: Session, unit: str | None, supervisor: str | None,
                       satisfaction: str) -> None:
    """One more answer to the return visit (回访满意度) for the unit, written at the commit."""
    deferred.accumulate(session, BUMP_SATISFACTION[session.get_bind().dialect.name],
                        {"unit": unit or "", "supervisor": supervisor or "",
                         "satisfaction": satisfaction}, "n", 1)
INSERT_PROBLEM = insert(problems)
INSERT_CLUE_LINK = insert(problem_clues)


def _bump(session: Session, key: tuple[tuple, tuple], delta: int,
          only_changed_from: tuple[tuple, tuple] | None = None) -> None:
    """Move the maintained counts; summed per key and written at the commit (a batch of
    registrations in one unit writes each count once)."""
    dialect = session.get_bind().dialect.name
    for table, part, other in zip(COUNTED, key, only_changed_from or (None, None)):
        if part != other:
            deferred.accumulate(session, BUMP[(table, dialect)], dict(zip(COUNTED[table], part)),
                                "n", delta)


def add(session: Session, problem: Problem, supervisor: str | None) -> str:
    """Deferred like the rest of a registration: a batch's problems go as one INSERT
    (a duplicate search reading problems writes them first). Returns the digest of the row
    written, for the history entry to bind."""
    values = _values(problem, supervisor)
    deferred.defer(session, INSERT_PROBLEM, values)
    link_clue(session, problem.id, problem.clue_id, problem.channel, "registered")
    _bump(session, count_key(problem, supervisor), 1)
    return history.state_digest(values)


def load(session: Session, problem_id: str, *, lock: bool = False) -> Problem | None:
    query = select(problems).where(problems.c.id == problem_id)
    row = session.execute(query.with_for_update() if lock else query).first()
    return to_problem(row) if row else None


def save(session: Session, problem: Problem, supervisor: str | None, before: tuple) -> str:
    """Write the problem; ``before`` is its count key as loaded, to keep the counts exact.
    Returns the digest of the row written, for the history entry to bind."""
    values = _values(problem, supervisor)
    digest = history.state_digest(values)
    values.pop("id")
    session.execute(update(problems).where(problems.c.id == problem.id).values(**values))
    after = count_key(problem, supervisor)
    _bump(session, before, -1, only_changed_from=after)
    _bump(session, after, 1, only_changed_from=before)
    return digest


def link_clue(session: Session, problem_id: str, clue_id: str, channel: str, via: str) -> None:
    deferred.defer(session, INSERT_CLUE_LINK, {"problem_id": problem_id, "clue_id": clue_id,
                                       "channel": channel, "via": via, "linked_at": utcnow()})


def unlink_clue(session: Session, problem_id: str, clue_id: str) -> None:
    session.execute(problem_clues.delete().where(and_(
        problem_clues.c.problem_id == problem_id, problem_clues.c.clue_id == clue_id)))


def count_problems(session: Session) -> int:
    return session.execute(select(func.count()).select_from(problems)).scalar_one()


def move_clues(session: Session, from_problem: str, to_problem: str, via: str) -> list[str]:
    """Re-link every clue of one problem to another (merge, or its undoing)."""
    rows = session.execute(select(problem_clues).where(
        problem_clues.c.problem_id == from_problem)).all()
    for row in rows:
        unlink_clue(session, from_problem, row.clue_id)
        link_clue(session, to_problem, row.clue_id, row.channel, via)
    return [r.clue_id for r in rows]


def clues_of(session: Session, problem_id: str) -> list[dict]:
    rows = session.execute(select(problem_clues).where(problem_clues.c.problem_id == problem_id)
                           .order_by(problem_clues.c.linked_at))
    return [{"clue_id": r.clue_id, "channel": r.channel, "via": r.via,
             "linked_at": _utc(r.linked_at).isoformat()} for r in rows]



def find_candidates(session: Session, *, unit: str, category: str | None, since: datetime,
                    exclude: str, limit: int = 100) -> list:
    """Recent open problems of the same unit (and category, when known): duplicate suspects."""
    query = (select(problems.c.id, problems.c.unit, problems.c.category, problems.c.title,
                    problems.c.description, problems.c.registered_at)
             .where(problems.c.unit == unit, problems.c.registered_at >= since,
                    problems.c.state != State.CLOSED.value, problems.c.id != exclude))
    if category is not None:
        query = query.where(problems.c.category == category)
    return session.execute(query.order_by(problems.c.registered_at.desc()).limit(limit)).all()

