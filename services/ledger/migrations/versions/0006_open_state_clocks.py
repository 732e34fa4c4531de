"""every open state has a clock: decide_by, and the overdue index over every open problem

Registered, verified, unfounded and rectified problems (awaiting the county office's dispatch or
the supervising body's decision) get ``decide_by``; rows already waiting get five working days
from their last change. The partial index in due order now covers every open problem whose clock
runs (not suspended); the last-progress one keeps to dispatched and rectifying, where the unit
must show progress.

Revision ID: 0006
Revises: 0005
"""
from datetime import timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_CLOCK = sa.text("state IN ('dispatched', 'rectifying') AND suspended_since IS NULL")
CLOCK_RUNS = sa.text("state != 'closed' AND suspended_since IS NULL")
WAITING = ("registered", "verified", "unfounded", "rectified")
DEFAULT_DAYS = 5
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def upgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.add_column(sa.Column("decide_by", sa.Date()))
    _start_waiting_clocks()
    op.drop_index("ix_problems_clock_due", table_name="problems")
    op.create_index("ix_problems_open_clock_due", "problems", ["due_on"],
                    postgresql_where=CLOCK_RUNS, sqlite_where=CLOCK_RUNS,
                    postgresql_include=["unit", "supervisor"])


def _start_waiting_clocks() -> None:
    from services.ledger.domain.workdays import add_workdays

    problems = sa.table("problems", sa.column("id", sa.String), sa.column("state", sa.String),
                        sa.column("updated_at", sa.DateTime(timezone=True)),
                        sa.column("decide_by", sa.Date), sa.column("due_on", sa.Date))
    bind = op.get_bind()
    rows = bind.execute(sa.select(problems.c.id, problems.c.updated_at).where(
        problems.c.state.in_(WAITING), problems.c.decide_by.is_(None))).all()
    for problem_id, updated_at in rows:
        since = (updated_at if updated_at.tzinfo else updated_at.replace(tzinfo=timezone.utc))
        due = add_workdays(since.astimezone(LOCAL_TZ).date(), DEFAULT_DAYS)
        bind.execute(sa.update(problems).where(problems.c.id == problem_id)
                     .values(decide_by=due, due_on=due))


def downgrade() -> None:
    op.drop_index("ix_problems_open_clock_due", table_name="problems")
    op.create_index("ix_problems_clock_due", "problems", ["due_on"],
                    postgresql_where=OLD_CLOCK, sqlite_where=OLD_CLOCK,
                    postgresql_include=["unit", "supervisor", "last_progress_on"])
    with op.batch_alter_table("problems") as batch:
        batch.drop_column("decide_by")
