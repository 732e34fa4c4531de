"""Read-only queries of the ledger's store for lists and roll-ups (SQLAlchemy Core)."""
from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import String, and_, bindparam, case, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from contracts.listing import DEFAULT_SORT, ProblemSort
from kit.db import w3c_text
from services.ledger.adapters.orm import (
    CLOCK_RUNS, PROGRESS_CLOCK_RUNS, history, problems, satisfaction_tallies, topic_counts,
    unit_tallies,
)
from services.ledger.domain.lifecycle import State

def scoped(query, units: list[str] | None, supervisor: str | None):
    if supervisor is not None:
        return query.where(problems.c.supervisor == supervisor)
    if units is not None:
        return query.where(problems.c.unit.in_(units))
    return query


def list_problems(session: Session, *, units, supervisor, filters: dict, today: date,
                  stall_before: date, limit: int, offset: int) -> tuple[int, list]:
    query = scoped(select(problems), units, supervisor)
    for name in ("state", "unit", "category", "kind", "channel", "outcome"):
        if filters.get(name):
            query = query.where(getattr(problems.c, name) == filters[name])
    if filters.get("overdue"):
        query = query.where(overdue_clause(today))
    if filters.get("stalled"):
        query = query.where(*stalled_clause(stall_before))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    order = ORDERS[ProblemSort(filters.get("sort") or DEFAULT_SORT)]
    if filters.get("after"):  # keyset page: the rows after (registered_at, id), newest first
        at, last_id = datetime.fromisoformat(filters["after"][0]), filters["after"][1]
        query = query.where(or_(problems.c.registered_at < at, and_(
            problems.c.registered_at == at, problems.c.id > last_id)))
        order = ORDERS[ProblemSort.NEWEST]
    # The page's ids first, then their rows: ordering carries the id alone, never whole rows
    # (a sort that no index serves, e.g. by last progress over a system, stays cheap).
    ids = [row.id for row in session.execute(
        query.with_only_columns(problems.c.id).order_by(*order).limit(limit).offset(offset))]
    found = {row.id: row for row in session.execute(
        select(problems).where(problems.c.id.in_(ids)))} if ids else {}
    return total, [found[i] for i in ids if i in found]


# The list's orders (``contracts.listing``); ``id`` last, so that a page never repeats or
# skips a row among equals. A problem without a clock (closed) has no deadline: last.
ORDERS = {
    ProblemSort.NEWEST: (problems.c.registered_at.desc(), problems.c.id),
    ProblemSort.OLDEST: (problems.c.registered_at, problems.c.id),
    ProblemSort.DUE: (problems.c.due_on.nulls_last(), problems.c.id),
    ProblemSort.PROGRESS: (problems.c.last_progress_on.nulls_last(), problems.c.id),
}


def overdue_clause(today: date):
    """Every open state's clock (timers.py) has run out: the unit's or a supervisor's."""
    return and_(CLOCK_RUNS, problems.c.due_on < today)


def stalled_clause(stall_before: date):
    """No progress from the unit (dispatched or rectifying) since ``stall_before``."""
    return (PROGRESS_CLOCK_RUNS, problems.c.last_progress_on <= stall_before)


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


STATE_COLUMNS = ("clue_id", "state", "outcome", "unit", "category", "updated_at")
COUNTY_HOURS = 8  # the county's time (北京时间; Asia/Shanghai keeps no summer time)
"""What a partner platform reads of its requests (Open311): the row's narrow columns, never
the plan, the details or anything of the history; the text only when asked for one."""


def states_by_clue(session: Session, clue_ids: list[str], *,
                   with_text: bool = False) -> list[tuple]:
    """The narrow state of the problem registered for each clue named (by the unique index
    on ``clue_id``; clues not registered yet are left out), as tuples in ``STATE_COLUMNS``'
    order (and the description last, ``with_text``). ``updated_at``: a datetime, or on
    PostgreSQL W3C text in the county's time."""
    names = STATE_COLUMNS + (("description",) if with_text else ())
    columns = [getattr(problems.c, name) for name in names]
    if session.get_bind().dialect.name == "postgresql":
        # one query, the ids as one array parameter (``= ANY(:ids)``): a page of 1,000 is
        # one statement to parse and plan, not two of 500 parameters each (~40% faster);
        # ``updated_at`` already W3C text in the county's time, formatted by the server
        columns[names.index("updated_at")] = w3c_text(problems.c.updated_at, COUNTY_HOURS)
        query = select(*columns).where(problems.c.clue_id == func.any(
            bindparam("ids", type_=ARRAY(String))))
        return [tuple(row) for row in session.execute(query, {"ids": list(clue_ids)})]
    found = []
    for start in range(0, len(clue_ids), 500):  # well under any driver's parameter limit
        chunk = clue_ids[start:start + 500]
        found += [tuple(row) for row in
                  session.execute(select(*columns).where(problems.c.clue_id.in_(chunk)))]
    return found


def registered_between(session: Session, start: datetime, end: datetime) -> dict:
    """Per unit: problems registered in [start, end) (a month's new problems, 本月新增)."""
    query = (select(problems.c.unit, func.count().label("n"))
             .where(problems.c.registered_at >= start, problems.c.registered_at < end)
             .group_by(problems.c.unit))
    return {row.unit: int(row.n) for row in session.execute(query)}


def rectification_reports(session: Session) -> list[tuple[str | None, date | None, datetime]]:
    """For every problem struck off as rectified (整改销号): its unit, its plan's deadline
    (整改时限) and when its rectification was last reported (报告整改完成), from the history
    (each problem's entries by ix_history_problem_seq); the bulletin counts the reports made by
    the deadline (按期整改)."""
    reported = (select(history.c.problem_id, func.max(history.c.at).label("at"))
                .where(history.c.action == "report_rectified")
                .group_by(history.c.problem_id).subquery())
    query = (select(problems.c.unit, problems.c.rectify_by, reported.c.at)
             .join(reported, reported.c.problem_id == problems.c.id)
             .where(problems.c.state == State.CLOSED.value,
                    problems.c.outcome == "rectified"))
    return [(r.unit, r.rectify_by, r.at) for r in session.execute(query)]


def reopened_between(session: Session, start: datetime, end: datetime,
                     sources: tuple[str, ...]) -> dict[str, int]:
    """Per unit: closures reopened in [start, end) with one of ``sources`` (e.g. spot_check,
    look_back: closures a re-check found wrong, 查否被推翻), from the history."""
    query = (select(problems.c.unit, history.c.content)
             .join(problems, problems.c.id == history.c.problem_id)
             .where(history.c.action == "reopen", history.c.at >= start, history.c.at < end))
    found: dict[str, int] = {}
    for unit, content in session.execute(query):
        source = ((json.loads(content).get("data") or {}).get("source"))
        if unit and source in sources:
            found[unit] = found.get(unit, 0) + 1
    return found


def late_per_unit(session: Session, *, units, supervisor, today: date,
                  stall_before: date) -> dict[str, dict]:
    """Overdue and stalled counts per unit; both depend on today, so they are counted from
    the problems whose clock runs, each from its partial index in date order."""
    found: dict[str, dict] = {}
    for name, clause in (("overdue", (overdue_clause(today),)),
                         ("stalled", stalled_clause(stall_before))):
        query = scoped(select(problems.c.unit, func.count()).where(*clause)
                       .group_by(problems.c.unit), units, supervisor)
        for unit, n in session.execute(query):
            found.setdefault(unit, {"overdue": 0, "stalled": 0})[name] = int(n)
    return found


def attention_list(session: Session, *, units, supervisor, today: date, stall_before: date,
                   limit: int = 50) -> dict:
    base = scoped(select(problems.c.id, problems.c.unit, problems.c.title, problems.c.state,
                         problems.c.due_on, problems.c.last_progress_on), units, supervisor)
    overdue = session.execute(base.where(overdue_clause(today))
                              .order_by(problems.c.due_on).limit(limit)).all()
    stalled = session.execute(base.where(*stalled_clause(stall_before))
                              .order_by(problems.c.last_progress_on).limit(limit)).all()
    return {"overdue": overdue, "stalled": stalled}



def satisfaction_counts(session: Session, *, supervisor: str | None) -> dict[str | None, dict]:
    """回访满意度: answers by unit and value, from the maintained tallies."""
    t = satisfaction_tallies.c
    query = select(t.unit, t.satisfaction, func.sum(t.n)).group_by(t.unit, t.satisfaction)
    if supervisor is not None:
        query = query.where(t.supervisor == supervisor)
    found: dict[str | None, dict] = {}
    for unit, value, n in session.execute(query):
        if n:
            found.setdefault(unit or None, {})[value] = int(n)
    return found
