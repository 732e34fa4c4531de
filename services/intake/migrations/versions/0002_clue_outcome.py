"""clues follow their problem: outcome column, index on problem_id

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clues") as batch:
        batch.add_column(sa.Column("outcome", sa.String(32)))
        batch.add_column(sa.Column("problem_seq", sa.BigInteger()))
    op.create_index("ix_clues_problem_id", "clues", ["problem_id"])


def downgrade() -> None:
    op.drop_index("ix_clues_problem_id", table_name="clues")
    with op.batch_alter_table("clues") as batch:
        batch.drop_column("problem_seq")
        batch.drop_column("outcome")
