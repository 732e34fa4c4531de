"""Outbox and inbox tables, added to each service's own metadata.

Outbox: events written in the same transaction as the state change, published later
by the relay. Inbox: ids of messages a consumer has applied, written in the same
transaction as the effect, so a redelivered message changes nothing.
"""
from __future__ import annotations

import functools
import json
from datetime import datetime, timezone

from sqlalchemy import (
    JSON, BigInteger, Column, DateTime, Integer, MetaData, String, Table, bindparam, delete,
    func, insert, select,
)
from sqlalchemy.orm import Session

from contracts.events import Event
from kit import deferred


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def add_outbox_and_inbox(metadata: MetaData) -> tuple[Table, Table]:
    outbox = Table(
        "outbox", metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
               autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("source", String(64), nullable=False),
        Column("event_type", String(128), nullable=False),
        Column("body", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, default=_utcnow),
    )
    inbox = Table(
        "inbox", metadata,
        Column("consumer", String(200), primary_key=True),
        Column("message_id", String(64), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, default=_utcnow),
    )
    return outbox, inbox


@functools.lru_cache(maxsize=None)
def insert_new(table: Table, dialect: str):
    """INSERT ... ON CONFLICT DO NOTHING, in the dialect's own words; built once per table
    and dialect (the same object each call, as ``kit.deferred`` groups rows by statement)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table).on_conflict_do_nothing()


def insert_new_in(session: Session, table: Table):
    """``insert_new`` in the session's dialect."""
    return insert_new(table, session.get_bind().dialect.name)


# Statements are built once and given their values at execution: building ``.values()``
# per call costs more CPU than the database write itself.


class Outbox:
    def __init__(self, table: Table):
        self.table = table
        self._insert = insert(table)

    def add(self, session: Session, event: Event) -> None:
        """Written with the transaction's other deferred rows, at the latest at commit."""
        deferred.defer(session, self._insert, {
            "event_id": event.event_id, "source": event.source,
            "event_type": event.routing_key, "body": event.to_message(),
            "created_at": _utcnow()})

    def pending(self, session: Session, limit: int = 200) -> list[dict]:
        rows = session.execute(select(self.table).order_by(self.table.c.id).limit(limit))
        return [dict(r._mapping) for r in rows]

    def remove(self, session: Session, ids: list[int]) -> None:
        if ids:
            session.execute(delete(self.table).where(self.table.c.id.in_(ids)))

    def count(self, session: Session) -> int:
        return session.execute(select(func.count()).select_from(self.table)).scalar_one()


class Inbox:
    def __init__(self, table: Table):
        self.table = table
        self._seen = select(table.c.message_id).where(
            table.c.consumer == bindparam("c"), table.c.message_id == bindparam("m"))
        self._insert = insert(table)
        self._claim = {dialect: insert_new(table, dialect).returning(table.c.message_id)
                       for dialect in ("postgresql", "sqlite")}

    def seen(self, session: Session, consumer: str, message_id: str) -> bool:
        return session.execute(self._seen, {"c": consumer, "m": message_id}).first() is not None

    def claim(self, session: Session, consumer: str, message_ids: list[str]) -> set[str]:
        """Record these messages as applied by the consumer, in one statement; return the
        ids that were not recorded before (the others: already applied, or claimed by a
        transaction that committed while this one waited)."""
        if not message_ids:
            return set()
        now = _utcnow()
        statement = self._claim[session.get_bind().dialect.name]
        rows = session.execute(statement, [
            {"consumer": consumer, "message_id": message_id, "processed_at": now}
            for message_id in dict.fromkeys(message_ids)])
        return {message_id for (message_id,) in rows}

    def record(self, session: Session, consumer: str, message_id: str) -> None:
        """One message applied outside a claimed batch; written with the transaction's
        other deferred rows. A concurrent duplicate then fails the commit on the primary
        key, and nothing of it stays."""
        deferred.defer(session, self._insert, {"consumer": consumer, "message_id": message_id,
                                               "processed_at": _utcnow()})


def dumps(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
