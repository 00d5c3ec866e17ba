"""rollup_product_day: sales per product, platform and day

Revision ID: a5b6c7d8e9f0
Revises: d2e3f4a5b6c7
Create Date: 2026-12-02 01:10:00

The Marketing page sums the promoted products' net revenue over each post's window and
baseline weeks, and the campaigns' orders over their weeks: per product and day, which the
month rollup cannot answer, so it read hundreds of thousands of order lines. This table keeps
the stored aggregates of the other sales rollups per product, platform and day.

It is filled here with plain SQL (the definitions of services/metrics.py as they are today:
merchandise lines only; a sale is quantity > 0 at a price > 0; a return is quantity < 0 on a
line that is not a stock adjustment (line_kind 2); a cancellation is a return on a
cancellation invoice (line_kind 1) or in an order that also sells), not with the code that
keeps it, so this revision stays right when that code changes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a5b6c7d8e9f0'
down_revision = 'd2e3f4a5b6c7'
branch_labels = None
depends_on = None

TABLE = 'rollup_product_day'
VALUE = "l.quantity * l.unit_price"
SALE = "l.quantity > 0 AND l.unit_price > 0"
RETURN = "l.quantity < 0 AND l.line_kind <> 2"
CANCELLATION = (f"{RETURN} AND (l.line_kind = 1 OR EXISTS (SELECT 1 FROM order_lines s "
                "WHERE s.order_id = l.order_id AND s.quantity > 0))")
COSTED = "l.unit_cost IS NOT NULL"
MEASURES = {
    'net_revenue': f"COALESCE(SUM({VALUE}), 0)",
    'gross_sales': f"COALESCE(SUM(CASE WHEN l.quantity > 0 THEN {VALUE} ELSE 0 END), 0)",
    'returns': f"COALESCE(SUM(CASE WHEN {RETURN} THEN -({VALUE}) ELSE 0 END), 0)",
    'cancelled': f"COALESCE(SUM(CASE WHEN {CANCELLATION} THEN -({VALUE}) ELSE 0 END), 0)",
    'costed_revenue': f"COALESCE(SUM(CASE WHEN {COSTED} THEN {VALUE} ELSE 0 END), 0)",
    'cost': f"COALESCE(SUM(CASE WHEN {COSTED} THEN l.quantity * l.unit_cost ELSE 0 END), 0)",
    'units': f"COALESCE(SUM(CASE WHEN {SALE} THEN l.quantity ELSE 0 END), 0)",
    'returned_units': f"COALESCE(SUM(CASE WHEN {RETURN} THEN -l.quantity ELSE 0 END), 0)",
    'costed_lines': f"COUNT(CASE WHEN {COSTED} THEN 1 END)",
    'orders': f"COUNT(DISTINCT CASE WHEN {SALE} THEN l.order_id END)",
    'return_orders': f"COUNT(DISTINCT CASE WHEN {RETURN} THEN l.order_id END)",
}
MONEY = ('net_revenue', 'gross_sales', 'returns', 'cancelled', 'costed_revenue', 'cost')
BUILD = (
    f"INSERT INTO {TABLE} (sale_date, platform_id, product_id, {', '.join(MEASURES)}) "
    f"SELECT l.sale_date, l.platform_id, l.product_id, {', '.join(MEASURES.values())} "
    "FROM order_lines l "
    "WHERE l.product_id NOT IN (SELECT id FROM products WHERE NOT is_merchandise) "
    "GROUP BY l.sale_date, l.platform_id, l.product_id "
    "ORDER BY l.sale_date")  # in date order, as the code that keeps it writes them


def upgrade():
    op.create_table(
        TABLE,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sale_date', sa.Date(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        *[sa.Column(name, sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=False)
          if name in MONEY else sa.Column(name, sa.Integer(), nullable=False)
          for name in MEASURES],
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rollup_product_day')))
    op.execute(BUILD)
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index('ix_rollup_product_day_date', ['sale_date', 'platform_id'],
                              unique=False)
        # PostgreSQL reads the promoted products' sums from the index alone (ignored elsewhere).
        batch_op.create_index('ix_rollup_product_day_product', ['product_id', 'sale_date'],
                              unique=False,
                              postgresql_include=['platform_id', 'net_revenue', 'orders'])


def downgrade():
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index('ix_rollup_product_day_product')
        batch_op.drop_index('ix_rollup_product_day_date')
    op.drop_table(TABLE)
