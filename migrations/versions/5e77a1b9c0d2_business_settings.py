"""business settings: name, currency, time zone, fiscal year start and benchmarks an admin changes

Revision ID: 5e77a1b9c0d2
Revises: c4d19e2f7a35
Create Date: 2026-12-01 15:30:00.000000

One row per setting an admin has changed; a setting without a row keeps its deployment
default (PULSEBOARD_CURRENCY, PULSEBOARD_TIMEZONE, …), so existing deployments are unchanged.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e77a1b9c0d2'
down_revision = 'c4d19e2f7a35'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('business_settings',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=120), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'],
                            name=op.f('fk_business_settings_updated_by_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_business_settings'))
    )


def downgrade():
    op.drop_table('business_settings')
