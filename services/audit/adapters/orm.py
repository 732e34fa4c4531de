from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, MetaData, String, Table, func, insert, select

from kit import deferred
from kit.store import add_outbox_and_inbox

metadata = MetaData()

observations = Table(
    "observations", metadata,
    Column("event_id", String(64), primary_key=True),
    Column("event_type", String(128), nullable=False),
    Column("subject_id", String(64), nullable=False, index=True),
    Column("unit", String(64), index=True),
    Column("outcome", String(32)),
    Column("category", String(64)),
    Column("observed_at", DateTime(timezone=True), nullable=False),
)

outbox_table, inbox_table = add_outbox_and_inbox(metadata)


INSERT = insert(observations)


def add(session, obs) -> None:
    deferred.defer(session, INSERT, {"event_id": obs.event_id, "event_type": obs.event_type,
                                     "subject_id": obs.subject_id, "unit": obs.unit,
                                     "outcome": obs.outcome, "category": obs.category,
                                     "observed_at": datetime.now(timezone.utc)})


def count_by_type(session) -> dict:
    rows = session.execute(select(observations.c.event_type, func.count())
                           .group_by(observations.c.event_type))
    return {t: n for t, n in rows}


# The spot-check rounds' tables live in their own module, on this metadata (抽查轮次).
from services.audit.adapters import rounds as _rounds  # noqa: E402,F401
# the accountability ladder's tables (services/audit/adapters/ladder.py) join this metadata
from services.audit.adapters import ladder as _ladder_tables  # noqa: E402,F401
