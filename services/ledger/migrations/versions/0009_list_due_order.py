"""the problem list in deadline order (contracts.listing: due): an index for a unit's list,
a supervising body's and the county office's, so the order costs what the newest-first one
costs and no sort of every problem in scope

Revision ID: 0009
Revises: 0008
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEXES = {"ix_problems_unit_due": ["unit", "due_on"],
           "ix_problems_supervisor_due": ["supervisor", "due_on"],
           "ix_problems_due": ["due_on"]}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "problems", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="problems")
