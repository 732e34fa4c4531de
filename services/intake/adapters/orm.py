"""Intake's tables and the queries on them."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger, Boolean, Column, Date, DateTime, MetaData, String, Table, Text, and_, bindparam,
    func, insert, or_, select, update,
)
from sqlalchemy.orm import Session

from kit import deferred
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
    Column("merged_into", String(64), index=True),  # the problem a merged clue follows
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

outbox_table, inbox_table = add_outbox_and_inbox(metadata)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


INSERT_CLUE = insert(clues)


def insert_clue(session: Session, **values) -> None:
    deferred.defer(session, INSERT_CLUE, values)


def find_by_receipt(session: Session, digest: str):
    return session.execute(select(clues).where(clues.c.receipt_digest == digest)).first()


MOVE_STATUS = update(clues).where(
    clues.c.id.in_(bindparam("ids", expanding=True)),
    clues.c.status == bindparam("from_status"),
).values(status=bindparam("to_status"), updated_at=bindparam("now"))
FOLLOWS = or_(and_(clues.c.problem_id == bindparam("pid"), clues.c.merged_into.is_(None)),
              clues.c.merged_into == bindparam("pid"))
"""The clues whose receipt follows problem ``pid``: its own, and those merged into it."""
FOLLOW_PROBLEM = update(clues).where(
    FOLLOWS, or_(clues.c.problem_seq.is_(None), clues.c.problem_seq < bindparam("seq")),
).values(status=bindparam("to_status"), outcome=bindparam("to_outcome"),
         problem_seq=bindparam("seq"), updated_at=bindparam("now"))

_survivor = clues.alias("survivor")


def _of_survivor(column):
    """The survivor's own clue's ``column`` (its receipt's view of the problem)."""
    return (select(column).where(_survivor.c.problem_id == bindparam("into"),
                                 _survivor.c.merged_into.is_(None))
            .limit(1).scalar_subquery())


FOLLOW_MERGE = update(clues).where(FOLLOWS).values(
    merged_into=bindparam("into"),
    status=func.coalesce(_of_survivor(_survivor.c.status), bindparam("fallback")),
    outcome=_of_survivor(_survivor.c.outcome),
    problem_seq=_of_survivor(_survivor.c.problem_seq),
    updated_at=bindparam("now"))
FOLLOW_UNMERGE = update(clues).where(
    clues.c.problem_id == bindparam("pid"), clues.c.merged_into.is_not(None),
).values(merged_into=None, status=bindparam("to_status"), outcome=bindparam("to_outcome"),
         problem_seq=bindparam("seq"), updated_at=bindparam("now"))


def move_status(session: Session, clue_id: str, moves: tuple[str, str]) -> None:
    """Move the clue's status ``moves[0]`` -> ``moves[1]``; a clue in any other status
    keeps it. Deferred: a batch's moves go as one UPDATE."""
    deferred.gather(session, MOVE_STATUS, {"from_status": moves[0], "to_status": moves[1]},
                    "ids", clue_id, first={"now": utcnow()})


def set_status_by_problem(session: Session, problem_id: str, status: str,
                          outcome: str | None, seq: int) -> None:
    """Apply only a newer step: events may arrive out of order across workers."""
    deferred.defer(session, FOLLOW_PROBLEM, {"pid": problem_id, "seq": seq, "to_status": status,
                                             "to_outcome": outcome, "now": utcnow()})


def find_contact(session: Session, clue_id: str):
    """The clue's sealed contact, whether it is anonymous, and its problem (custodian only)."""
    return session.execute(select(clues.c.anonymous, clues.c.reporter_sealed, clues.c.problem_id)
                           .where(clues.c.id == clue_id)).first()


def follow_merge(session: Session, problem_id: str, into: str, fallback: str) -> None:
    """合并: the clues following ``problem_id`` follow ``into`` from now on, and show its
    status as its own clue shows it (``fallback`` if intake has none yet)."""
    deferred.defer(session, FOLLOW_MERGE, {"pid": problem_id, "into": into,
                                           "fallback": fallback, "now": utcnow()})


def follow_unmerge(session: Session, problem_id: str, status: str, outcome: str | None,
                   seq: int) -> None:
    """撤销合并: the problem's own clue follows it again (clues merged into it earlier stay
    with the survivor, as the ledger's provenance does)."""
    deferred.defer(session, FOLLOW_UNMERGE, {"pid": problem_id, "to_status": status,
                                             "to_outcome": outcome, "seq": seq,
                                             "now": utcnow()})


def count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(clues)).scalar_one()
