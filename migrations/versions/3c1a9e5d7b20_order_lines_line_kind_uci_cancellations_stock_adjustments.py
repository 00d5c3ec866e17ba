"""order_lines.line_kind: UCI cancellations and stock adjustments; orders and units count priced sales only

Revision ID: 3c1a9e5d7b20
Revises: c4d19e2f7a35
Create Date: 2026-12-01 15:40:00.000000

Every line gets a kind (models/sales.py): ordinary, UCI cancellation, UCI stock adjustment.
Lines already imported are classified by the UCI rules only where the data has the UCI shape,
never by an order number alone (a Superstore order id such as "CA-2017-152156" also starts
with C): on a platform holding UCI cancellation invoices ("C" and six digits),

- every line of such an invoice is a cancellation;
- a negative, zero-price line on an ordinary UCI invoice (six digits) is a stock adjustment.

Everything else stays ordinary. Then the rollups are rebuilt by the code that keeps them
(services/rollups.py), because orders, units, returned units and return orders changed
definition (SPEC section 3).

Downgrade drops the column; the rollups keep the new definitions until they are rebuilt.
"""
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c1a9e5d7b20'
down_revision = 'c4d19e2f7a35'
branch_labels = None
depends_on = None

CANCELLATION, STOCK_ADJUSTMENT = 1, 2  # models.sales.LINE_CANCELLATION, LINE_STOCK_ADJUSTMENT
UCI_CANCELLATION = re.compile(r"^[Cc]\d{6}$")
UCI_INVOICE = re.compile(r"^\d{6}$")
CHUNK = 5_000


def upgrade():
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_kind', sa.SmallInteger(), server_default='0',
                                      nullable=False))
    bind = op.get_bind()
    cancellations, invoices = _uci_orders(bind)
    _set_kind(bind, cancellations, CANCELLATION, "")
    _set_kind(bind, invoices, STOCK_ADJUSTMENT, " AND quantity < 0 AND unit_price = 0")
    from sqlalchemy.orm import Session

    from services import rollups

    # The sales rollups only: the customer-day rollup is built by d2e3f4a5b6c7, whose
    # columns today's code writes and which do not exist yet at this revision.
    # The rollups that exist at this revision, named: a later one's table is not there yet.
    rollups.refresh(Session(bind=bind), tables=(rollups.DAY, rollups.PRODUCT_MONTH, rollups.HOUR))


def _uci_orders(bind):
    """Ids of the UCI cancellation invoices and of the ordinary invoices on their platforms."""
    rows = bind.execute(sa.text(
        "SELECT id, platform_id, order_number FROM orders WHERE order_number LIKE 'C%' "
        "OR order_number LIKE 'c%'")).all()
    cancellations = [row.id for row in rows if UCI_CANCELLATION.match(row.order_number)]
    platforms = sorted({row.platform_id for row in rows
                        if UCI_CANCELLATION.match(row.order_number)})
    invoices = [] if not platforms else [
        row.id for row in bind.execute(
            sa.text("SELECT id, order_number FROM orders WHERE platform_id IN :ids")
            .bindparams(sa.bindparam("ids", expanding=True)), {"ids": platforms})
        if UCI_INVOICE.match(row.order_number)]
    return cancellations, invoices


def _set_kind(bind, order_ids, kind, condition):
    statement = sa.text(f"UPDATE order_lines SET line_kind = :kind WHERE order_id IN :ids"
                        f"{condition}").bindparams(sa.bindparam("ids", expanding=True))
    for start in range(0, len(order_ids), CHUNK):
        bind.execute(statement, {"kind": kind, "ids": order_ids[start:start + CHUNK]})


def downgrade():
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_column('line_kind')
