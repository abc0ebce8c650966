"""data-subject requests: requests, history, identity codes, download links,

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 16:04:44.858963
"""

from alembic import op
import sqlalchemy as sa
import mamori.db.base


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('downstream_systems',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('secret_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('events', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_downstream_systems')),
    sa.UniqueConstraint('key', name=op.f('uq_downstream_systems_key'))
    )
    op.create_table('dsr_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('ref', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('received_via', sa.String(length=20), nullable=False),
    sa.Column('received_at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.Column('due_at', mamori.db.base.UtcText(length=27), nullable=True),
    sa.Column('paused_since', mamori.db.base.UtcText(length=27), nullable=True),
    sa.Column('paused_seconds', sa.Float(), nullable=False),
    sa.Column('assigned_to', sa.String(length=100), nullable=False),
    sa.Column('purposes', sa.Text(), nullable=False),
    sa.Column('categories', sa.Text(), nullable=False),
    sa.Column('pending', sa.LargeBinary(), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('fee_yen', sa.Integer(), nullable=False),
    sa.Column('fee_paid_at', mamori.db.base.UtcText(length=27), nullable=True),
    sa.Column('identity_method', sa.String(length=40), nullable=True),
    sa.Column('identity_by', sa.String(length=100), nullable=True),
    sa.Column('identity_at', mamori.db.base.UtcText(length=27), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('duplicate_of', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('closed_at', mamori.db.base.UtcText(length=27), nullable=True),
    sa.Column('updated_at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.ForeignKeyConstraint(['duplicate_of'], ['dsr_requests.id'], name=op.f('fk_dsr_requests_duplicate_of_dsr_requests')),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_dsr_requests_subject_id_subjects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dsr_requests')),
    sa.UniqueConstraint('ref', name=op.f('uq_dsr_requests_ref'))
    )
    with op.batch_alter_table('dsr_requests', schema=None) as batch_op:
        batch_op.create_index('ix_dsr_open', ['state', 'due_at'], unique=False)
        batch_op.create_index('ix_dsr_subject', ['subject_id', 'kind'], unique=False)

    op.create_table('dsr_downloads',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('created_at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.Column('expires_at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.Column('used_at', mamori.db.base.UtcText(length=27), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['dsr_requests.id'], name=op.f('fk_dsr_downloads_request_id_dsr_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dsr_downloads')),
    sa.UniqueConstraint('digest', name=op.f('uq_dsr_downloads_digest'))
    )
    op.create_table('dsr_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['dsr_requests.id'], name=op.f('fk_dsr_events_request_id_dsr_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dsr_events'))
    )
    with op.batch_alter_table('dsr_events', schema=None) as batch_op:
        batch_op.create_index('ix_dsr_events_request', ['request_id', 'id'], unique=False)

    op.create_table('dsr_identity_codes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('digest', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.Column('expires_at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', mamori.db.base.UtcText(length=27), nullable=True),
    sa.Column('spent_at', mamori.db.base.UtcText(length=27), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['dsr_requests.id'], name=op.f('fk_dsr_identity_codes_request_id_dsr_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dsr_identity_codes'))
    )
    with op.batch_alter_table('dsr_identity_codes', schema=None) as batch_op:
        batch_op.create_index('ix_dsr_codes_request', ['request_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('system_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('delivered_at', mamori.db.base.UtcText(length=27), nullable=True),
    sa.Column('dead_at', mamori.db.base.UtcText(length=27), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['dsr_requests.id'], name=op.f('fk_outbox_request_id_dsr_requests')),
    sa.ForeignKeyConstraint(['system_id'], ['downstream_systems.id'], name=op.f('fk_outbox_system_id_downstream_systems')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_idempotency_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['delivered_at', 'dead_at', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_outbox_request', ['request_id'], unique=False)

    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retained_until', mamori.db.base.UtcText(length=27), nullable=True))
        batch_op.create_index('ix_subjects_retained', ['retained_until'], unique=False, sqlite_where=sa.text('retained_until IS NOT NULL AND erased_at IS NULL'), postgresql_where=sa.text('retained_until IS NOT NULL AND erased_at IS NULL'))



def downgrade() -> None:
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.drop_index('ix_subjects_retained', sqlite_where=sa.text('retained_until IS NOT NULL AND erased_at IS NULL'), postgresql_where=sa.text('retained_until IS NOT NULL AND erased_at IS NULL'))
        batch_op.drop_column('retained_until')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_request')
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')
    with op.batch_alter_table('dsr_identity_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_dsr_codes_request')

    op.drop_table('dsr_identity_codes')
    with op.batch_alter_table('dsr_events', schema=None) as batch_op:
        batch_op.drop_index('ix_dsr_events_request')

    op.drop_table('dsr_events')
    op.drop_table('dsr_downloads')
    with op.batch_alter_table('dsr_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_dsr_subject')
        batch_op.drop_index('ix_dsr_open')

    op.drop_table('dsr_requests')
    op.drop_table('downstream_systems')
