"""partner platforms (协作平台): the channels each partner's requests arrive on, and room for
a partner's own webhook secret (Standard Webhooks' ``whsec_`` form of up to 200 characters).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 07:05:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('partner_links',
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('account_id')
    )
    with op.batch_alter_table('preferences') as batch:
        batch.alter_column('webhook_secret', existing_type=sa.String(length=100),
                           type_=sa.String(length=400), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('preferences') as batch:
        batch.alter_column('webhook_secret', existing_type=sa.String(length=400),
                           type_=sa.String(length=100), existing_nullable=True)
    op.drop_table('partner_links')
