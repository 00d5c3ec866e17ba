"""import row changes: what an import of a catalogue or marketing kind changed, so it can be undone

Revision ID: c8d9e0f1a2b3
Revises: f4a5b6c7d8e9
Create Date: 2026-12-02 01:10:00

One new table (models/import_changes.py): per import job, table and row, the row's values
before and after the import as JSON. Nothing existing changes; imports of those kinds made
before this revision kept nothing and stay refused.
"""
import sqlalchemy as sa
from alembic import op

revision = 'c8d9e0f1a2b3'
down_revision = 'f4a5b6c7d8e9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_row_changes',
    sa.Column('job_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('table_name', sa.String(length=40), nullable=False),
    sa.Column('row_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('job_id', 'table_name', 'row_id', name=op.f('pk_import_row_changes'))
    )
    op.create_index('ix_import_row_changes_row', 'import_row_changes', ['table_name', 'row_id'],
                    unique=False)


def downgrade():
    op.drop_index('ix_import_row_changes_row', table_name='import_row_changes')
    op.drop_table('import_row_changes')
