"""Problems, history and work plans in the ledger's store (SQLAlchemy Core)."""
from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime, timezone

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from kit import deferred
from services.ledger.adapters import history
from services.ledger.adapters.history import (  # noqa: F401  (the history's home)
    append_history, head, iter_chain, timeline,
)
from services.ledger.adapters.orm import (
    problem_clues, problems, topic_counts, unit_tallies, utcnow, work_plans,
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


def add(session: Session, problem: Problem, supervisor: str | None) -> None:
    """Deferred like the rest of a registration: a batch's problems go as one INSERT
    (a duplicate search reading problems writes them first)."""
    deferred.defer(session, INSERT_PROBLEM, _values(problem, supervisor))
    link_clue(session, problem.id, problem.clue_id, problem.channel, "registered")
    _bump(session, count_key(problem, supervisor), 1)


def load(session: Session, problem_id: str, *, lock: bool = False) -> Problem | None:
    query = select(problems).where(problems.c.id == problem_id)
    row = session.execute(query.with_for_update() if lock else query).first()
    return to_problem(row) if row else None


def save(session: Session, problem: Problem, supervisor: str | None, before: tuple) -> None:
    """Write the problem; ``before`` is its count key as loaded, to keep the counts exact."""
    values = _values(problem, supervisor)
    values.pop("id")
    session.execute(update(problems).where(problems.c.id == problem.id).values(**values))
    after = count_key(problem, supervisor)
    _bump(session, before, -1, only_changed_from=after)
    _bump(session, after, 1, only_changed_from=before)


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


# queries ---------------------------------------------------------------------------------
def scoped(query, units: list[str] | None, supervisor: str | None):
    if supervisor is not None:
        return query.where(problems.c.supervisor == supervisor)
    if units is not None:
        return query.where(problems.c.unit.in_(units))
    return query


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


def list_problems(session: Session, *, units, supervisor, filters: dict, today: date,
                  stall_before: date, limit: int, offset: int) -> tuple[int, list]:
    query = scoped(select(problems), units, supervisor)
    for name in ("state", "unit", "category", "kind", "channel", "outcome"):
        if filters.get(name):
            query = query.where(getattr(problems.c, name) == filters[name])
    if filters.get("overdue"):
        query = query.where(problems.c.state.in_(DUE_STATES), problems.c.due_on < today,
                            problems.c.suspended_since.is_(None))
    if filters.get("stalled"):
        query = query.where(*stalled_clause(stall_before))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(problems.c.registered_at.desc(), problems.c.id)
                           .limit(limit).offset(offset)).all()
    return total, rows


def stalled_clause(stall_before: date):
    return (problems.c.state.in_([State.DISPATCHED.value, State.RECTIFYING.value]),
            problems.c.suspended_since.is_(None), problems.c.last_progress_on <= stall_before)


def counts_by(session: Session, column: str, *, supervisor: str | None) -> dict:
    """Totals by one dimension, summed in the database from the maintained counts."""
    table = unit_tallies if column in ("state", "unit", "outcome") else topic_counts
    col = table.c[column]
    query = select(col, func.sum(table.c.n)).group_by(col).having(func.sum(table.c.n) != 0)
    if supervisor is not None:
        query = query.where(table.c.supervisor == supervisor)
    return {(key or "none"): int(n) for key, n in session.execute(query)}


def counts_by_state_and_outcome(session: Session, *, supervisor: str | None) -> dict:
    """Totals by state and by outcome, from one pass over the maintained tallies."""
    t = unit_tallies.c
    query = (select(t.state, t.outcome, func.sum(t.n)).group_by(t.state, t.outcome)
             .having(func.sum(t.n) != 0))
    if supervisor is not None:
        query = query.where(t.supervisor == supervisor)
    by: dict[str, dict] = {"state": {}, "outcome": {}}
    for state, outcome, n in session.execute(query):
        for name, key in (("state", state), ("outcome", outcome)):
            by[name][key or "none"] = by[name].get(key or "none", 0) + int(n)
    return {name: {k: v for k, v in counts.items() if v} for name, counts in by.items()}


def unit_totals(session: Session, *, supervisor: str | None) -> list:
    """Per unit: total, open, closed, struck off, unfounded, self-found."""
    t = unit_tallies.c
    closed = t.state == State.CLOSED.value

    def total_where(condition):
        return func.sum(case((condition, t.n), else_=0))

    query = select(
        t.unit, func.sum(t.n).label("total"), total_where(~closed).label("open"),
        total_where(closed).label("closed"),
        total_where(and_(closed, t.outcome == "rectified")).label("struck_off"),
        total_where(and_(closed, t.outcome == "unfounded")).label("unfounded"),
        total_where(t.self_found).label("self_found"),
    ).group_by(t.unit).having(func.sum(t.n) != 0)
    if supervisor is not None:
        query = query.where(t.supervisor == supervisor)
    return session.execute(query).all()


def late_per_unit(session: Session, *, units, supervisor, today: date,
                  stall_before: date) -> dict[str, dict]:
    """Overdue and stalled counts per unit; both depend on today, so they are counted from
    the open problems with a clock running (one pass, indexed by state)."""
    overdue = and_(problems.c.due_on < today)
    stalled = and_(problems.c.last_progress_on <= stall_before)
    query = scoped(select(
        problems.c.unit,
        func.sum(case((overdue, 1), else_=0)), func.sum(case((stalled, 1), else_=0)),
    ).where(problems.c.state.in_(DUE_STATES), problems.c.suspended_since.is_(None),
            or_(overdue, stalled)).group_by(problems.c.unit), units, supervisor)
    return {unit: {"overdue": int(o or 0), "stalled": int(st or 0)}
            for unit, o, st in session.execute(query)}


DUE_STATES = [State.DISPATCHED.value, State.RECTIFYING.value]


def attention_list(session: Session, *, units, supervisor, today: date, stall_before: date,
                   limit: int = 50) -> dict:
    base = scoped(select(problems.c.id, problems.c.unit, problems.c.title, problems.c.state,
                         problems.c.due_on, problems.c.last_progress_on), units, supervisor)
    overdue = session.execute(base.where(problems.c.state.in_(DUE_STATES),
                                         problems.c.due_on < today,
                                         problems.c.suspended_since.is_(None))
                              .order_by(problems.c.due_on).limit(limit)).all()
    stalled = session.execute(base.where(*stalled_clause(stall_before))
                              .order_by(problems.c.last_progress_on).limit(limit)).all()
    return {"overdue": overdue, "stalled": stalled}


# work plans --------------------------------------------------------------------------------
def add_work_plan(session: Session, **values) -> None:
    session.execute(insert(work_plans).values(**values))


def get_work_plan(session: Session, plan_id: str, *, lock: bool = False):
    query = select(work_plans).where(work_plans.c.id == plan_id)
    return session.execute(query.with_for_update() if lock else query).first()


def acknowledge_work_plan(session: Session, plan_id: str, by: str) -> None:
    session.execute(update(work_plans).where(work_plans.c.id == plan_id).values(
        acknowledged_by=by, acknowledged_at=utcnow()))


def list_work_plans(session: Session, *, units: list[str] | None) -> list:
    query = select(work_plans).order_by(work_plans.c.filed_at.desc())
    if units is not None:
        query = query.where(work_plans.c.unit.in_(units))
    return session.execute(query).all()


def first_filings(session: Session) -> dict[str, datetime]:
    """Each unit's earliest work plan filing."""
    rows = session.execute(select(work_plans.c.unit, func.min(work_plans.c.filed_at))
                           .group_by(work_plans.c.unit))
    return {unit: _utc(first) for unit, first in rows}
