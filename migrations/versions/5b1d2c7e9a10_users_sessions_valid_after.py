"""users.sessions_valid_after: logout, deactivation and password resets end every session

Revision ID: 5b1d2c7e9a10
Revises: e94f86ed2cef
Create Date: 2026-11-21 22:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5b1d2c7e9a10'
down_revision = 'e94f86ed2cef'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sessions_valid_after', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('sessions_valid_after')
