"""pipeline stages as data; open deals without amount, account or created date; deal product; rep manager

Revision ID: c4d19e2f7a35
Revises: b37af78928f6
Create Date: 2026-12-01 13:40:00.000000

The stages become the business's own (a `pipeline_stages` table); a won or lost deal is in a
stage whose outcome is won or lost, so the old shared stage "closed" becomes "won" or "lost"
after the deal's outcome (in `opportunities` and in `stage_changes`). A database that already
has deals gets the old fixed stages as rows.

Downgrade: deals the old schema cannot hold (no amount, account or created date) are deleted
with their stage changes, won and lost stages become "closed" again, and stage names are cut
to the old 20 characters.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d19e2f7a35'
down_revision = 'b37af78928f6'
branch_labels = None
depends_on = None

OLD_STAGES = (('lead', 'open'), ('qualified', 'open'), ('proposal', 'open'),
              ('negotiation', 'open'), ('won', 'won'), ('lost', 'lost'))


def upgrade():
    stages = op.create_table('pipeline_stages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('probability', sa.Double(), nullable=True),
    sa.Column('outcome', sa.String(length=8), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipeline_stages')),
    sa.UniqueConstraint('name', name=op.f('uq_pipeline_stages_name'))
    )
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('product', sa.String(length=120), nullable=True))
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('stage', existing_type=sa.String(length=20),
                              type_=sa.String(length=80), existing_nullable=False)
        batch_op.alter_column('amount',
                              existing_type=sa.Numeric(precision=14, scale=4, asdecimal=False),
                              nullable=True)
        batch_op.alter_column('created_on', existing_type=sa.Date(), nullable=True)

    with op.batch_alter_table('stage_changes', schema=None) as batch_op:
        batch_op.alter_column('stage', existing_type=sa.String(length=20),
                              type_=sa.String(length=80), existing_nullable=False)

    with op.batch_alter_table('sales_reps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manager', sa.String(length=120), nullable=True))

    # Data: "closed" was one stage for both outcomes; a won deal is now in the stage "won".
    op.execute("UPDATE stage_changes SET stage = (SELECT o.outcome FROM opportunities AS o "
               "WHERE o.id = stage_changes.opportunity_id) WHERE stage = 'closed' AND "
               "EXISTS (SELECT 1 FROM opportunities AS o WHERE o.id = "
               "stage_changes.opportunity_id AND o.outcome IN ('won', 'lost'))")
    op.execute("UPDATE opportunities SET stage = outcome "
               "WHERE stage = 'closed' AND outcome IN ('won', 'lost')")
    has_deals = op.get_bind().execute(sa.text("SELECT 1 FROM opportunities LIMIT 1")).first()
    if has_deals is not None:
        op.bulk_insert(stages, [{'name': name, 'position': position, 'probability': None,
                                 'outcome': outcome}
                                for position, (name, outcome) in enumerate(OLD_STAGES, 1)])


def downgrade():
    op.execute("DELETE FROM stage_changes WHERE opportunity_id IN (SELECT id FROM opportunities "
               "WHERE amount IS NULL OR account_id IS NULL OR created_on IS NULL)")
    op.execute("DELETE FROM opportunities "
               "WHERE amount IS NULL OR account_id IS NULL OR created_on IS NULL")
    op.execute("UPDATE stage_changes SET stage = 'closed' WHERE stage IN "
               "(SELECT name FROM pipeline_stages WHERE outcome IN ('won', 'lost'))")
    op.execute("UPDATE opportunities SET stage = 'closed' WHERE outcome IN ('won', 'lost')")
    for table in ('opportunities', 'stage_changes'):
        op.execute(f"UPDATE {table} SET stage = SUBSTR(stage, 1, 20) WHERE LENGTH(stage) > 20")

    with op.batch_alter_table('sales_reps', schema=None) as batch_op:
        batch_op.drop_column('manager')

    with op.batch_alter_table('stage_changes', schema=None) as batch_op:
        batch_op.alter_column('stage', existing_type=sa.String(length=80),
                              type_=sa.String(length=20), existing_nullable=False)

    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.alter_column('created_on', existing_type=sa.Date(), nullable=False)
        batch_op.alter_column('amount',
                              existing_type=sa.Numeric(precision=14, scale=4, asdecimal=False),
                              nullable=False)
        batch_op.alter_column('stage', existing_type=sa.String(length=80),
                              type_=sa.String(length=20), existing_nullable=False)
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('product')

    op.drop_table('pipeline_stages')
