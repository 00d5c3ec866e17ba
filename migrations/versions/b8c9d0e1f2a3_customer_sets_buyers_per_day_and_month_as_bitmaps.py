"""customer sets: the buyers per day and per month, platform and country, as Roaring bitmaps

Revision ID: b8c9d0e1f2a3
Revises: a7b8c9d0e1f2
Create Date: 2026-12-03 14:30:00

Distinct customer counts came from `count(DISTINCT customer_id)` over the customer-day
rollup (120–220 ms at a million lines, several per page). `rollup_customer_set_day` and
`rollup_customer_set_month` keep, per day (month), platform and order country, the ids of
the customers with an order there as one serialized Roaring bitmap; a distinct count is the
size of the union of the sets in range.

They are filled here from `rollup_customer_day` (its rows with an order are the buyers) with
plain SQL and pyroaring, not with the code that keeps them, so this revision stays right
when that code changes. A month's set is the union of its days' sets.
"""
import datetime as dt
from collections import defaultdict

import sqlalchemy as sa
from alembic import op
from pyroaring import BitMap

revision = 'b8c9d0e1f2a3'
down_revision = 'a7b8c9d0e1f2'
branch_labels = None
depends_on = None

TABLES = (('rollup_customer_set_day', 'sale_date'), ('rollup_customer_set_month', 'month'))
BUYERS = sa.text("SELECT sale_date, platform_id, country, customer_id FROM rollup_customer_day "
                 "WHERE orders > 0 ORDER BY sale_date, platform_id, country, customer_id")


def _day(value):
    """A date as the driver gives it (SQLite: ISO text)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _create(name, date_column):
    op.create_table(
        name,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('country', sa.String(length=80), nullable=True),
        sa.Column('members', sa.LargeBinary(), nullable=False),
        sa.Column(date_column, sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')))
    op.create_index(f'ix_{name}_{"date" if date_column == "sale_date" else "month"}', name,
                    [date_column, 'platform_id'], unique=False)


def _fill():
    connection = op.get_bind()
    days = defaultdict(BitMap)
    for sale_date, platform_id, country, customer_id in connection.execute(BUYERS):
        days[(_day(sale_date), platform_id, country)].add(customer_id)
    months = defaultdict(BitMap)
    for (day, platform_id, country), members in days.items():
        months[(day.replace(day=1), platform_id, country)] |= members
    for (name, date_column), sets in zip(TABLES, (days, months), strict=True):
        table = sa.table(name, sa.column(date_column, sa.Date()), sa.column('platform_id'),
                         sa.column('country'), sa.column('members', sa.LargeBinary()))
        rows = [{date_column: day, 'platform_id': platform_id, 'country': country,
                 'members': members.serialize()}
                for (day, platform_id, country), members in sorted(
                    sets.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or ''))]
        if rows:
            connection.execute(table.insert(), rows)


def upgrade():
    for name, date_column in TABLES:
        _create(name, date_column)
    _fill()


def downgrade():
    for name, date_column in TABLES:
        op.drop_index(f'ix_{name}_{"date" if date_column == "sale_date" else "month"}',
                      table_name=name)
        op.drop_table(name)
