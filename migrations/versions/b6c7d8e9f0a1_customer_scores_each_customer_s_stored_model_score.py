"""customer_scores: each customer's score under a stored lifetime value or churn model

Revision ID: b6c7d8e9f0a1
Revises: a5b6c7d8e9f0
Create Date: 2026-12-02 01:00:00

A customer model's run now stores every customer's score (predicted orders and value, or the
churn risk) with the per-customer history it was scored on, so the Customers page sums
stored scores in SQL instead of scoring the model on each refresh. Nothing existing changes;
runs stored before this revision have no scores and are trained again (their key changed).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b6c7d8e9f0a1'
down_revision = 'a5b6c7d8e9f0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('customer_scores',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('first_order', sa.Date(), nullable=False),
    sa.Column('last_order', sa.Date(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('net_revenue', sa.Numeric(precision=14, scale=4, asdecimal=False),
              nullable=False),
    sa.Column('predicted_orders', sa.Float(), nullable=True),
    sa.Column('predicted_value', sa.Float(), nullable=True),
    sa.Column('risk', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['model_runs.id'],
                            name=op.f('fk_customer_scores_run_id_model_runs'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'customer_id', name=op.f('pk_customer_scores'))
    )
    op.create_index('ix_customer_scores_run_last_order', 'customer_scores',
                    ['run_id', 'last_order'], unique=False)
    op.create_index('ix_customer_scores_run_value', 'customer_scores',
                    ['run_id', 'predicted_value'], unique=False)


def downgrade():
    op.drop_index('ix_customer_scores_run_value', table_name='customer_scores')
    op.drop_index('ix_customer_scores_run_last_order', table_name='customer_scores')
    op.drop_table('customer_scores')
