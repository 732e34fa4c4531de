"""ledger lifecycle: state machine columns, provenance, hash-chained history, work plans

Revision ID: 0002
Revises: 0001
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels = None
depends_on = None

NEW_COLUMNS = [
    sa.Column("supervisor", sa.String(64)),
    sa.Column("outcome", sa.String(32)),
    sa.Column("decided_by", sa.String(128)),
    sa.Column("respond_by", sa.Date()),
    sa.Column("rectify_by", sa.Date()),
    sa.Column("due_on", sa.Date()),
    sa.Column("last_progress_on", sa.Date()),
    sa.Column("suspended_since", sa.Date()),
    sa.Column("suspension_reason", sa.Text()),
    sa.Column("merged_into", sa.String(64)),
    sa.Column("self_found", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("seriousness", sa.String(16)),
    sa.Column("confirmed_phase", sa.String(64)),
    sa.Column("severity_advice", sa.String(16)),
    sa.Column("severity_decision", sa.String(16)),
    sa.Column("plan", sa.JSON()),
    sa.Column("details", sa.JSON(), nullable=False, server_default="{}"),
    sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
]


def upgrade() -> None:
    with op.batch_alter_table("problems") as batch:
        batch.drop_index("ix_problems_unit_status")
        batch.alter_column("status", new_column_name="state", existing_type=sa.String(32),
                           existing_nullable=False)
        for column in NEW_COLUMNS:
            batch.add_column(column)
    op.create_index("ix_problems_unit_state", "problems", ["unit", "state"])
    op.create_index("ix_problems_supervisor_state", "problems", ["supervisor", "state"])
    op.create_index("ix_problems_state_due", "problems", ["state", "due_on"])
    op.create_index("ix_problems_registered_at", "problems", ["registered_at"])
    op.create_table(
        "problem_clues",
        sa.Column("problem_id", sa.String(64), primary_key=True),
        sa.Column("clue_id", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute("INSERT INTO problem_clues (problem_id, clue_id, channel, via, linked_at) "
               "SELECT id, clue_id, channel, 'registered', registered_at FROM problems")
    op.create_table(
        "history",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=False),
        sa.Column("problem_id", sa.String(64)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_history_problem_id", "history", ["problem_id"])
    op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.execute("INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')")
    op.create_table(
        "work_plans",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("supervisor", sa.String(64)),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("document_sha256", sa.String(64)),
        sa.Column("filed_by", sa.String(128), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(128)),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_work_plans_unit", "work_plans", ["unit"])
    op.create_index("ix_work_plans_supervisor", "work_plans", ["supervisor"])


def downgrade() -> None:
    for table in ("work_plans", "chain_head", "history", "problem_clues"):
        op.drop_table(table)
    for name in ("ix_problems_registered_at", "ix_problems_state_due",
                 "ix_problems_supervisor_state", "ix_problems_unit_state"):
        op.drop_index(name, table_name="problems")
    with op.batch_alter_table("problems") as batch:
        for column in NEW_COLUMNS:
            batch.drop_column(column.name)
        batch.alter_column("state", new_column_name="status", existing_type=sa.String(32))
        batch.create_index("ix_problems_unit_status", ["unit", "status"])
