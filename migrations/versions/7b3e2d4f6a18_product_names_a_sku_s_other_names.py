"""product names: the other names a SKU was sold under

Revision ID: 7b3e2d4f6a18
Revises: c4d19e2f7a35
Create Date: 2026-12-01 15:40:00.000000

A `product_names` table keeps every name a SKU carried in an imported file with the first and
last day it was seen; the product keeps the latest. Existing products get their current name
as one row, seen from their first to their last sale (products without sales are left out:
there is no day to give them).

Downgrade drops the table; the products keep the names they have.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7b3e2d4f6a18'
down_revision = 'c4d19e2f7a35'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('product_names',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('first_seen', sa.Date(), nullable=False),
    sa.Column('last_seen', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'],
                            name=op.f('fk_product_names_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_names')),
    sa.UniqueConstraint('product_id', 'name', name='uq_product_names_product')
    )
    with op.batch_alter_table('product_names', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_names_product_id'), ['product_id'],
                              unique=False)
    # Built from the data already there: the current name, over the product's sales.
    op.execute("INSERT INTO product_names (product_id, name, first_seen, last_seen) "
               "SELECT p.id, p.name, MIN(l.sale_date), MAX(l.sale_date) FROM products AS p "
               "JOIN order_lines AS l ON l.product_id = p.id GROUP BY p.id, p.name")


def downgrade():
    with op.batch_alter_table('product_names', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_names_product_id'))
    op.drop_table('product_names')
