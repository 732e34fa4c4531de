"""weekly and zero reports, the 建章立制 register, clock alerts and schedule claims

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("supervisor", sa.String(64), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("figures", sa.JSON, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("document_sha256", sa.String(64)),
        sa.Column("filed_by", sa.String(128), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("contradiction", sa.JSON),
        sa.Column("history_seq", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("unit", "period", "version", name="uq_reports_unit_period_version"),
    )
    op.create_index("ix_reports_period_unit", "reports", ["period", "unit"])
    op.create_index("ix_reports_supervisor_period", "reports", ["supervisor", "period"])
    op.create_table(
        "forwarded_summaries",
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("supervisor", sa.String(64), primary_key=True),
        sa.Column("history_seq", sa.BigInteger, primary_key=True),
        sa.Column("forwarded_by", sa.String(128), nullable=False),
        sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
    )
    op.create_table(
        "institutions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("supervisor", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("registered_by", sa.String(128), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_institutions_unit", "institutions", ["unit"])
    op.create_index("ix_institutions_supervisor", "institutions", ["supervisor"])
    op.create_table(
        "clock_alerts",
        sa.Column("problem_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(16), primary_key=True),
        sa.Column("basis", sa.Date, primary_key=True),
        sa.Column("swept_on", sa.Date, nullable=False),
    )
    op.create_table(
        "schedule_claims",
        sa.Column("job", sa.String(100), primary_key=True),
        sa.Column("period", sa.String(32), primary_key=True),
        sa.Column("claimed_by", sa.String(200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("schedule_claims", "clock_alerts", "institutions", "forwarded_summaries",
                  "reports"):
        op.drop_table(table)
