"""roll-up counts in two narrow tables: per-unit tallies, per-system topics

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TALLIES = ("INSERT INTO unit_tallies (unit, supervisor, state, outcome, self_found, n)"
           " SELECT coalesce(unit, ''), coalesce(supervisor, ''), state, coalesce(outcome, ''),"
           " self_found, count(*) FROM problems GROUP BY 1, 2, 3, 4, 5")
TOPICS = ("INSERT INTO topic_counts (supervisor, category, kind, channel, n)"
          " SELECT coalesce(supervisor, ''), coalesce(category, ''), coalesce(kind, ''),"
          " channel, count(*) FROM problems GROUP BY 1, 2, 3, 4")


def upgrade() -> None:
    op.drop_table("problem_counts")
    op.create_table(
        "unit_tallies",
        sa.Column("unit", sa.String(64), primary_key=True),
        sa.Column("supervisor", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(32), primary_key=True),
        sa.Column("outcome", sa.String(32), primary_key=True),
        sa.Column("self_found", sa.Boolean(), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_table(
        "topic_counts",
        sa.Column("supervisor", sa.String(64), primary_key=True),
        sa.Column("category", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(64), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.execute(TALLIES)
    op.execute(TOPICS)


def downgrade() -> None:
    op.drop_table("topic_counts")
    op.drop_table("unit_tallies")
    op.create_table(
        "problem_counts",
        *[sa.Column(name, sa.String(64), primary_key=True) for name in (
            "unit", "supervisor", "state", "outcome", "category", "kind", "channel")],
        sa.Column("self_found", sa.Boolean(), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )
