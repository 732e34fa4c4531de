"""The ledger's tables: problems (current state), the provenance of merged clues, the
hash-chained history, and the work plans units file (清理工作方案备案)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, Date, DateTime, Index, Integer, MetaData, String, Table,
    Text, UniqueConstraint, and_, literal_column,
)

from kit.schedule import add_schedule_claims
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
    Column("supervisor", String(64)),          # the unit's supervising body, for roll-ups
    Column("category", String(64)),
    Column("kind", String(64)),
    Column("state", String(32), nullable=False),
    Column("outcome", String(32)),
    Column("decided_by", String(128)),
    Column("respond_by", Date),
    Column("rectify_by", Date),
    Column("decide_by", Date),                 # dispatch or a supervisor's decision is due
    Column("due_on", Date),                    # when the running clock runs out (derived)
    Column("last_progress_on", Date),
    Column("suspended_since", Date),
    Column("suspension_reason", Text),
    Column("merged_into", String(64)),
    Column("self_found", Boolean, nullable=False, default=False),
    Column("seriousness", String(16)),
    Column("confirmed_phase", String(64)),
    Column("severity_advice", String(16)),
    Column("severity_decision", String(16)),
    Column("plan", JSON),
    Column("details", JSON, nullable=False, default=dict),
    Column("version", Integer, nullable=False, default=0),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("requested_by", String(64)),  # the partner platform whose own request it is
    Index("ix_problems_unit_state", "unit", "state"),
    Index("ix_problems_supervisor_state", "supervisor", "state"),
    Index("ix_problems_state_due", "state", "due_on"),
    Index("ix_problems_registered_at", "registered_at"),
    Index("ix_problems_state_progress", "state", "last_progress_on"),
    # the list in deadline order (contracts.listing: due) for a unit, a system, everyone
    Index("ix_problems_unit_due", "unit", "due_on"),
    Index("ix_problems_supervisor_due", "supervisor", "due_on"),
    Index("ix_problems_due", "due_on"),
)

# Every open problem has a clock (timers.py); it runs unless the problem is suspended. The
# overdue lists and counts read these in due order; the stalled ones (the unit's progress, in
# dispatched and rectifying) in last-progress order: neither sorts every open problem.
# The states are written inline, not bound: SQLite uses a partial index only for a query
# whose WHERE clause repeats the index's terms literally.
CLOCK_RUNS = and_(problems.c.state != literal_column("'closed'"),
                  problems.c.suspended_since.is_(None))
PROGRESS_CLOCK_RUNS = and_(
    problems.c.state.in_([literal_column("'dispatched'"), literal_column("'rectifying'")]),
    problems.c.suspended_since.is_(None))
Index("ix_problems_open_clock_due", problems.c.due_on, postgresql_where=CLOCK_RUNS,
      sqlite_where=CLOCK_RUNS, postgresql_include=["unit", "supervisor"])
Index("ix_problems_clock_progress", problems.c.last_progress_on,
      postgresql_where=PROGRESS_CLOCK_RUNS, sqlite_where=PROGRESS_CLOCK_RUNS,
      postgresql_include=["unit", "supervisor", "due_on"])

problem_clues = Table(
    "problem_clues", metadata,
    Column("problem_id", String(64), primary_key=True),
    Column("clue_id", String(64), primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("via", String(16), nullable=False),     # registered | merged
    Column("linked_at", DateTime(timezone=True), nullable=False),
)

# Counts kept in step with ``problems`` in the same transaction, so a roll-up reads a few
# hundred rows instead of scanning the ledger; two narrow tables keep them few. '' stands
# for "none" (NULLs would never conflict in the upsert).
unit_tallies = Table(      # per unit: by state and outcome, and self-found (自查自纠)
    "unit_tallies", metadata,
    Column("unit", String(64), primary_key=True),
    Column("supervisor", String(64), primary_key=True),
    Column("state", String(32), primary_key=True),
    Column("outcome", String(32), primary_key=True),
    Column("self_found", Boolean, primary_key=True),
    Column("n", Integer, nullable=False),
)
topic_counts = Table(      # per supervising body: by category, kind and channel
    "topic_counts", metadata,
    Column("supervisor", String(64), primary_key=True),
    Column("category", String(64), primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("channel", String(64), primary_key=True),
    Column("n", Integer, nullable=False),
)

satisfaction_tallies = Table(  # 回访满意度: answers per unit, kept in step like the others
    "satisfaction_tallies", metadata,
    Column("unit", String(64), primary_key=True),
    Column("supervisor", String(64), primary_key=True),
    Column("satisfaction", String(32), primary_key=True),
    Column("n", Integer, nullable=False),
)

history = Table(
    "history", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=False),
    Column("problem_id", String(64)),
    Column("action", String(64), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("content", Text, nullable=False),       # canonical JSON, exactly as hashed
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # the digest of the problem's row after this change, as hashed in ``content``
    Column("state_digest", String(64)),
    # a problem's timeline, and its latest entry's state for verification (index-only)
    Index("ix_history_problem_seq", "problem_id", "seq", postgresql_include=["state_digest"]),
)

chain_head = Table(
    "chain_head", metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

work_plans = Table(
    "work_plans", metadata,
    Column("id", String(64), primary_key=True),
    Column("unit", String(64), nullable=False, index=True),
    Column("supervisor", String(64), index=True),
    Column("title", String(200), nullable=False),
    Column("summary", Text, nullable=False),
    Column("document_sha256", String(64)),
    Column("filed_by", String(128), nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
    Column("acknowledged_by", String(128)),
    Column("acknowledged_at", DateTime(timezone=True)),
)

# Weekly reports (周报告), zero reports (零报告) and the summary report (总结报告): every filing
# and every amendment is a row of its own (``version`` 1, 2, …), never an overwrite; the
# current report of a (unit, period) is its highest version. Each row has its chain entry.
reports = Table(
    "reports", metadata,
    Column("id", String(64), primary_key=True),
    Column("unit", String(64), nullable=False),
    Column("supervisor", String(64), nullable=False),
    Column("period", String(16), nullable=False),     # 2017-W40 | summary
    Column("version", Integer, nullable=False),
    Column("kind", String(16), nullable=False),       # weekly | zero | summary
    Column("figures", JSON, nullable=False),
    Column("text", Text, nullable=False),
    Column("document_sha256", String(64)),
    Column("filed_by", String(128), nullable=False),  # the person filing signs it
    Column("filed_at", DateTime(timezone=True), nullable=False),
    Column("due_on", Date),
    Column("late", Boolean, nullable=False, default=False),
    Column("reason", Text),                           # an amendment's reason (更正说明)
    Column("contradiction", JSON),                    # a contradicted zero report: why
    Column("history_seq", BigInteger, nullable=False),
    UniqueConstraint("unit", "period", "version", name="uq_reports_unit_period_version"),
    Index("ix_reports_period_unit", "period", "unit"),
    Index("ix_reports_supervisor_period", "supervisor", "period"),
)

# Summaries a supervising body forwarded to the county office (汇总上报), as its chain entry holds.
forwarded_summaries = Table(
    "forwarded_summaries", metadata,
    Column("period", String(16), primary_key=True),
    Column("supervisor", String(64), primary_key=True),
    Column("history_seq", BigInteger, primary_key=True),
    Column("forwarded_by", String(128), nullable=False),
    Column("forwarded_at", DateTime(timezone=True), nullable=False),
    Column("summary", JSON, nullable=False),
)

# 建章立制: the institutions each unit issues or plans (phase four), one row per measure.
institutions = Table(
    "institutions", metadata,
    Column("id", String(64), primary_key=True),
    Column("unit", String(64), nullable=False, index=True),
    Column("supervisor", String(64), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("status", String(16), nullable=False),     # issued | planned
    Column("on_date", Date, nullable=False),          # issued on, or planned for
    Column("registered_by", String(128), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
)

# One row per problem per threshold crossing (催办): the sweep publishes only what it writes.
clock_alerts = Table(
    "clock_alerts", metadata,
    Column("problem_id", String(64), primary_key=True),
    Column("name", String(16), primary_key=True),     # due_soon | overdue | stalled
    Column("basis", Date, primary_key=True),          # the due date or last progress crossed
    Column("swept_on", Date, nullable=False),
)

schedule_claims = add_schedule_claims(metadata)

outbox_table, inbox_table = add_outbox_and_inbox(metadata)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
