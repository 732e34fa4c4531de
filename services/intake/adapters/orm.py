"""Intake's tables and the queries on them."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger, Boolean, Column, Date, DateTime, MetaData, String, Table, Text, func, insert,
    or_, select, update,
)
from sqlalchemy.orm import Session

from kit.store import add_outbox_and_inbox

metadata = MetaData()

clues = Table(
    "clues", metadata,
    Column("id", String(64), primary_key=True),
    Column("receipt_digest", String(64), nullable=False, unique=True),
    Column("channel", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("subject_unit", String(64)),
    Column("category", String(64)),
    Column("kind", String(64)),
    Column("place", String(200)),
    Column("occurred_on", Date),
    Column("anonymous", Boolean, nullable=False),
    Column("reporter_sealed", Text),
    Column("submitted_by", String(128)),
    Column("status", String(32), nullable=False),
    Column("problem_id", String(64), index=True),
    Column("outcome", String(32)),
    Column("problem_seq", BigInteger),   # the ledger history entry the status reflects
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

outbox_table, inbox_table = add_outbox_and_inbox(metadata)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


INSERT_CLUE = insert(clues)


def insert_clue(session: Session, **values) -> None:
    session.execute(INSERT_CLUE, values)


def find_by_receipt(session: Session, digest: str):
    return session.execute(select(clues).where(clues.c.receipt_digest == digest)).first()


def find(session: Session, clue_id: str):
    return session.execute(select(clues).where(clues.c.id == clue_id)).first()


def set_status(session: Session, clue_id: str, status: str, problem_id: str | None) -> None:
    session.execute(update(clues).where(clues.c.id == clue_id).values(
        status=status, problem_id=problem_id, updated_at=utcnow()))


def set_status_by_problem(session: Session, problem_id: str, status: str,
                          outcome: str | None, seq: int) -> None:
    """Apply only a newer step: events may arrive out of order across workers."""
    session.execute(update(clues).where(
        clues.c.problem_id == problem_id,
        or_(clues.c.problem_seq.is_(None), clues.c.problem_seq < seq),
    ).values(status=status, outcome=outcome, problem_seq=seq, updated_at=utcnow()))


def count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(clues)).scalar_one()
