"""history binds each problem's current state: a state digest per entry, the timeline index
on (problem_id, seq), and one ``bind_state`` entry for every problem already in the ledger

It binds the rows as they are when it runs, so it runs after every migration that changes
existing problem rows (0006, the open-state clocks, sets ``decide_by`` and ``due_on``). A
later migration that changes existing rows appends ``bind_state`` entries the same way.

Revision ID: 0007
Revises: 0006
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from services.ledger.domain import chain

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UNBOUND_COLUMNS = ("updated_at",)


def upgrade() -> None:
    op.add_column("history", sa.Column("state_digest", sa.String(64)))
    op.drop_index("ix_history_problem_id", table_name="history")
    op.create_index("ix_history_problem_seq", "history", ["problem_id", "seq"],
                    postgresql_include=["state_digest"])
    _bind_existing_problems(op.get_bind())


def _bind_existing_problems(conn) -> None:
    """Every problem registered before its state was bound gets one entry binding its row
    as it is now (hashed like ``adapters.history.append_history``)."""
    meta = sa.MetaData()
    problems = sa.Table("problems", meta, autoload_with=conn)
    history = sa.Table("history", meta, autoload_with=conn)
    head = sa.Table("chain_head", meta, autoload_with=conn)
    columns = [c.name for c in problems.columns if c.name not in UNBOUND_COLUMNS]
    stored = [sa.func.nullif(sa.cast(c, sa.Text), "null").label(c.name)   # JSON as its text
              if isinstance(c.type, sa.JSON) else c for c in problems.columns
              if c.name in columns]
    seq, prev = conn.execute(sa.select(head.c.seq, head.c.hash).where(head.c.id == 1)).one()
    now = datetime.now(timezone.utc)
    rows = []
    for row in conn.execute(sa.select(*stored).order_by(problems.c.registered_at,
                                                        problems.c.id)):
        seq += 1
        state = chain.state_digest(dict(row._mapping), columns)
        raw = chain.canonical(chain.entry_content(
            seq=seq, problem_id=row.id, action="bind_state", actor="system", at=now,
            data={"why": "migration 0006: the row's state as found, bound from now on"},
            state=state))
        digest = chain.hash_bytes(prev, raw)
        rows.append({"seq": seq, "problem_id": row.id, "action": "bind_state",
                     "actor": "system", "at": now, "content": raw.decode(), "prev_hash": prev,
                     "hash": digest, "state_digest": state})
        prev = digest
    if rows:
        conn.execute(history.insert(), rows)
        conn.execute(head.update().where(head.c.id == 1).values(seq=seq, hash=prev))


def downgrade() -> None:
    op.drop_index("ix_history_problem_seq", table_name="history")
    op.create_index("ix_history_problem_id", "history", ["problem_id"])
    op.drop_column("history", "state_digest")
