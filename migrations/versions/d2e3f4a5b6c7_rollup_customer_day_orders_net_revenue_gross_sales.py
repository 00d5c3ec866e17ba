"""rollup_customer_day: orders, net revenue and gross sales per customer, day, platform and country

Revision ID: d2e3f4a5b6c7
Revises: e3f4a5b6c7d8
Create Date: 2026-12-01 21:45:00

The customer-day rollup listed who bought on each day; it now also keeps each customer's
orders, net revenue and gross sales there, so the Customers page's per-customer rows (RFM,
cohorts, new vs returning, top customers, the models' features) are sums over it instead of
over `order_lines`. It gains the rows of customers whose lines that day are only returns
(orders 0), whose net revenue counts too. A customer index finds a customer's earlier days.

The table is rebuilt here with plain SQL (the definitions of services/metrics.py as they are
today: merchandise lines only; orders = distinct orders with a line of quantity > 0 at a
price > 0; net revenue = Σ quantity × unit price; gross sales = the same over quantity > 0),
not with the code that keeps it, so this revision stays right when that code changes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd2e3f4a5b6c7'
down_revision = 'e3f4a5b6c7d8'
branch_labels = None
depends_on = None

TABLE = 'rollup_customer_day'
MERCHANDISE = "l.product_id NOT IN (SELECT id FROM products WHERE NOT is_merchandise)"
REBUILD = (
    f"INSERT INTO {TABLE} (sale_date, platform_id, country, customer_id, orders, "
    "net_revenue, gross_sales) "
    "SELECT l.sale_date, l.platform_id, l.country, l.customer_id, "
    "COUNT(DISTINCT CASE WHEN l.quantity > 0 AND l.unit_price > 0 THEN l.order_id END), "
    "COALESCE(SUM(l.quantity * l.unit_price), 0), "
    "COALESCE(SUM(CASE WHEN l.quantity > 0 THEN l.quantity * l.unit_price ELSE 0 END), 0) "
    f"FROM order_lines l WHERE l.customer_id IS NOT NULL AND {MERCHANDISE} "
    "GROUP BY l.sale_date, l.platform_id, l.country, l.customer_id "
    "ORDER BY l.sale_date")  # in date order, as the code that keeps it writes them
REBUILD_BUYERS = (
    f"INSERT INTO {TABLE} (sale_date, platform_id, country, customer_id) "
    "SELECT DISTINCT l.sale_date, l.platform_id, l.country, l.customer_id "
    "FROM order_lines l WHERE l.customer_id IS NOT NULL AND l.quantity > 0 "
    f"AND l.unit_price > 0 AND {MERCHANDISE} ORDER BY l.sale_date")


def _money(name):
    return sa.Column(name, sa.Numeric(precision=14, scale=4, asdecimal=False), nullable=False)


def _create(measures):
    op.create_table(
        TABLE,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sale_date', sa.Date(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('country', sa.String(length=80), nullable=True),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        *measures,
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rollup_customer_day')))
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index('ix_rollup_customer_day_date', ['sale_date', 'platform_id'],
                              unique=False)


def _drop():
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index('ix_rollup_customer_day_date')
    op.drop_table(TABLE)


def upgrade():
    # Derived data: dropped and built again (faster than filling new columns row by row).
    _drop()
    _create([sa.Column('orders', sa.Integer(), nullable=False), _money('net_revenue'),
             _money('gross_sales')])
    op.execute(REBUILD)
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index('ix_rollup_customer_day_customer', ['customer_id', 'sale_date'],
                              unique=False)


def downgrade():
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index('ix_rollup_customer_day_customer')
    _drop()
    _create([])
    op.execute(REBUILD_BUYERS)
