"""merge the three branches of 1 Dec 2026 (evening): import job of orders, e-mail tables, model store

Three changes were made side by side on the same parent (a0f3b6c9d1e4); they touch different
tables, so their order does not matter and this revision only joins them into one head.

Revision ID: c7d8e9f0a1b2
Revises: a3b4c5d6e7f8, b4c5d6e7f8a9, e1f2a3b4c5d6
Create Date: 2026-12-01 19:40:00

"""

revision = 'c7d8e9f0a1b2'
down_revision = ('a3b4c5d6e7f8', 'b4c5d6e7f8a9', 'e1f2a3b4c5d6')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
