"""model runs and the data revision: models trained in the background, stored with their evaluation

Revision ID: e1f2a3b4c5d6
Revises: a0f3b6c9d1e4
Create Date: 2026-12-01 18:30:00.000000

`data_revision` holds one row, bumped by every import, demo load or settings change;
`model_runs` keeps every training run (its inputs' digest, the revision, the fitted model and
its hold-out evaluation). Nothing existing changes.
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e1f2a3b4c5d6'
down_revision = 'a0f3b6c9d1e4'
branch_labels = None
depends_on = None


def upgrade():
    revision_table = op.create_table('data_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_revision'))
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    op.bulk_insert(revision_table, [{'id': 1, 'revision': 0, 'changed_at': now}])
    op.create_table('model_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('data_revision', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.Column('metrics', sa.JSON(), nullable=True),
    sa.Column('artefact', sa.LargeBinary(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['started_by'], ['users.id'],
                            name=op.f('fk_model_runs_started_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_runs'))
    )
    op.create_index('ix_model_runs_lookup', 'model_runs', ['kind', 'digest', 'data_revision'],
                    unique=False)


def downgrade():
    op.drop_index('ix_model_runs_lookup', table_name='model_runs')
    op.drop_table('model_runs')
    op.drop_table('data_revision')
