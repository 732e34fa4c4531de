"""partial indexes on the problems whose clock runs, in due and last-progress order

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CLOCK_RUNNING = sa.text("state IN ('dispatched', 'rectifying') AND suspended_since IS NULL")


def upgrade() -> None:
    op.create_index("ix_problems_clock_due", "problems", ["due_on"],
                    postgresql_where=CLOCK_RUNNING, sqlite_where=CLOCK_RUNNING,
                    postgresql_include=["unit", "supervisor", "last_progress_on"])
    op.create_index("ix_problems_clock_progress", "problems", ["last_progress_on"],
                    postgresql_where=CLOCK_RUNNING, sqlite_where=CLOCK_RUNNING,
                    postgresql_include=["unit", "supervisor", "due_on"])


def downgrade() -> None:
    op.drop_index("ix_problems_clock_progress", table_name="problems")
    op.drop_index("ix_problems_clock_due", table_name="problems")
