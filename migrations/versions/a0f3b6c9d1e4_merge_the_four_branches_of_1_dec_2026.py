"""merge the four branches of 1 Dec 2026: line kinds, business settings, product names, saved views

Four changes were made side by side on the same parent (c4d19e2f7a35); they touch different
tables, so their order does not matter and this revision only joins them into one head.

Revision ID: a0f3b6c9d1e4
Revises: 3c1a9e5d7b20, 5e77a1b9c0d2, 7b3e2d4f6a18, 9d2f4c6b8e30
Create Date: 2026-12-01 16:20:00

"""

revision = 'a0f3b6c9d1e4'
down_revision = ('3c1a9e5d7b20', '5e77a1b9c0d2', '7b3e2d4f6a18', '9d2f4c6b8e30')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
