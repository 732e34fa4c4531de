"""The ledger's tables and queries."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone

from sqlalchemy import (
    Column, DateTime, Index, MetaData, String, Table, Text, func, insert, select,
)
from sqlalchemy.orm import Session

from kit.store import add_outbox_and_inbox

metadata = MetaData()

problems = Table(
    "problems", metadata,
    Column("id", String(64), primary_key=True),
    Column("clue_id", String(64), nullable=False, unique=True),
    Column("channel", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("unit", String(64)),
    Column("category", String(64)),
    Column("kind", String(64)),
    Column("status", String(32), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_problems_unit_status", "unit", "status"),
)

outbox_table, inbox_table = add_outbox_and_inbox(metadata)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def add_problem(session: Session, problem) -> None:
    values = asdict(problem)
    values["updated_at"] = problem.registered_at
    session.execute(insert(problems).values(**values))


def list_problems(session: Session, *, units: list[str] | None, status: str | None,
                  limit: int, offset: int) -> tuple[int, list[dict]]:
    query = select(problems)
    counter = select(func.count()).select_from(problems)
    if units is not None:
        query = query.where(problems.c.unit.in_(units))
        counter = counter.where(problems.c.unit.in_(units))
    if status:
        query = query.where(problems.c.status == status)
        counter = counter.where(problems.c.status == status)
    total = session.execute(counter).scalar_one()
    rows = session.execute(query.order_by(problems.c.registered_at.desc(), problems.c.id)
                           .limit(limit).offset(offset))
    return total, [dict(r._mapping) for r in rows]


def get_problem(session: Session, problem_id: str):
    return session.execute(select(problems).where(problems.c.id == problem_id)).first()


def count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(problems)).scalar_one()
