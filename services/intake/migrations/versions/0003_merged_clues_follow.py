"""a merged clue's receipt follows the problem it was merged into: merged_into column

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
    with op.batch_alter_table("clues") as batch:
        batch.add_column(sa.Column("merged_into", sa.String(64)))
    op.create_index("ix_clues_merged_into", "clues", ["merged_into"])


def downgrade() -> None:
    op.drop_index("ix_clues_merged_into", table_name="clues")
    with op.batch_alter_table("clues") as batch:
        batch.drop_column("merged_into")
