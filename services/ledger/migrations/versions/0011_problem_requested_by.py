"""the partner platform whose own request a problem is (协作平台的请求): notify pushes each
step of the problem to that partner only (a nullable column: existing rows' bound state
digests stay as they were, ``domain.chain.state_digest``)

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("problems", sa.Column("requested_by", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("problems", "requested_by")
