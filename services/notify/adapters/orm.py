from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger, Column, DateTime, Integer, MetaData, String, Table, func, insert, select,
)

from kit import deferred
from kit.store import add_outbox_and_inbox

metadata = MetaData()

notifications = Table(
    "notifications", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("recipient", String(64), nullable=False, index=True),
    Column("subject_zh", String(400), nullable=False),
    Column("subject_en", String(400), nullable=False),
    Column("ref", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

outbox_table, inbox_table = add_outbox_and_inbox(metadata)


INSERT = insert(notifications)


def add(session, notice) -> None:
    deferred.defer(session, INSERT, {"recipient": notice.recipient, "subject_zh": notice.subject_zh,
                                     "subject_en": notice.subject_en, "ref": notice.ref,
                                     "created_at": datetime.now(timezone.utc)})


def for_recipient(session, recipient: str, limit: int) -> list[dict]:
    rows = session.execute(select(notifications).where(notifications.c.recipient == recipient)
                           .order_by(notifications.c.id.desc()).limit(limit))
    return [{**dict(r._mapping), "created_at": r.created_at.isoformat()} for r in rows]


def count(session) -> int:
    return session.execute(select(func.count()).select_from(notifications)).scalar_one()
