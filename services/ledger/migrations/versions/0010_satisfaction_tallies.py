"""回访满意度: the reporters' answers counted per unit and value, for the roll-up

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "satisfaction_tallies",
        sa.Column("unit", sa.String(64), primary_key=True),
        sa.Column("supervisor", sa.String(64), primary_key=True),
        sa.Column("satisfaction", sa.String(32), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("satisfaction_tallies")
