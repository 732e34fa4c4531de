"""maintained problem counts for roll-ups; index for stalled lists

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "problem_counts",
        sa.Column("unit", sa.String(64), primary_key=True),
        sa.Column("supervisor", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(32), primary_key=True),
        sa.Column("outcome", sa.String(32), primary_key=True),
        sa.Column("category", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(64), primary_key=True),
        sa.Column("self_found", sa.Boolean(), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.execute(
        "INSERT INTO problem_counts (unit, supervisor, state, outcome, category, kind, channel,"
        " self_found, n) SELECT coalesce(unit, ''), coalesce(supervisor, ''), state,"
        " coalesce(outcome, ''), coalesce(category, ''), coalesce(kind, ''), channel,"
        " self_found, count(*) FROM problems GROUP BY 1, 2, 3, 4, 5, 6, 7, 8")
    op.create_index("ix_problems_state_progress", "problems", ["state", "last_progress_on"])


def downgrade() -> None:
    op.drop_index("ix_problems_state_progress", table_name="problems")
    op.drop_table("problem_counts")
