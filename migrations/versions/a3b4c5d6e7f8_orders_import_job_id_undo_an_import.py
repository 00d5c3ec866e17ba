"""orders.import_job_id: the import job that wrote each order, so an import can be undone

Revision ID: a3b4c5d6e7f8
Revises: a0f3b6c9d1e4
Create Date: 2026-12-01 18:30:00

Orders already in the database keep None (which import wrote them is not known): only
imports made from now on can be undone. No foreign key, as for order_lines: the importer
takes the id from the job it has just committed.
"""
import sqlalchemy as sa
from alembic import op

revision = 'a3b4c5d6e7f8'
down_revision = 'a0f3b6c9d1e4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_job_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_orders_import_job_id'), ['import_job_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_import_job_id'))
        batch_op.drop_column('import_job_id')
