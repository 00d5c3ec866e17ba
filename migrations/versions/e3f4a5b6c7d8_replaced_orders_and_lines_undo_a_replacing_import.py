"""replaced orders and lines: what a sales import replaced, kept so the import can be undone

Revision ID: e3f4a5b6c7d8
Revises: c7d8e9f0a1b2
Create Date: 2026-12-01 21:50:00

Two new tables mirroring `orders` and `order_lines` column for column, keyed by the import
that replaced the row (`job_id`) and the row's own id (models/imports_replaced.py). Nothing
existing changes; imports made before this revision that replaced orders stay refused.
"""
import sqlalchemy as sa
from alembic import op

revision = 'e3f4a5b6c7d8'
down_revision = 'c7d8e9f0a1b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('replaced_orders',
    sa.Column('job_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('order_number', sa.String(length=64), nullable=False),
    sa.Column('ordered_at', sa.DateTime(), nullable=False),
    sa.Column('sale_date', sa.Date(), nullable=False),
    sa.Column('sale_hour', sa.SmallInteger(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('country', sa.String(length=80), nullable=True),
    sa.Column('region', sa.String(length=80), nullable=True),
    sa.Column('state', sa.String(length=80), nullable=True),
    sa.Column('city', sa.String(length=80), nullable=True),
    sa.Column('ship_mode', sa.String(length=40), nullable=True),
    sa.Column('import_job_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('job_id', 'id', name=op.f('pk_replaced_orders'))
    )
    op.create_table('replaced_order_lines',
    sa.Column('job_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('sale_date', sa.Date(), nullable=False),
    sa.Column('sale_hour', sa.SmallInteger(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('country', sa.String(length=80), nullable=True),
    sa.Column('line_kind', sa.SmallInteger(), nullable=False),
    sa.PrimaryKeyConstraint('job_id', 'id', name=op.f('pk_replaced_order_lines'))
    )


def downgrade():
    op.drop_table('replaced_order_lines')
    op.drop_table('replaced_orders')
