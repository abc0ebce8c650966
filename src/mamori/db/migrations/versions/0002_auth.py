"""authentication: staff credentials, service tokens, sessions, spent CSRF tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa
import mamori.db.base


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_tokens',
    sa.Column('id', sa.String(length=8), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=100), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.Column('expires_at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.Column('revoked_at', mamori.db.base.UtcText(length=27), nullable=True),
    sa.Column('revoked_by', sa.String(length=100), nullable=True),
    sa.Column('last_used_at', mamori.db.base.UtcText(length=27), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_tokens'))
    )
    op.create_table('staff_credentials',
    sa.Column('handle', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('password_changed_at', mamori.db.base.UtcText(length=27), nullable=True),
    sa.Column('totp_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('totp_pending', sa.LargeBinary(), nullable=True),
    sa.Column('totp_last_step', sa.BigInteger(), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked_until', mamori.db.base.UtcText(length=27), nullable=True),
    sa.ForeignKeyConstraint(['handle'], ['staff_accounts.handle'], name=op.f('fk_staff_credentials_handle_staff_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('handle', name=op.f('pk_staff_credentials'))
    )
    op.create_table('staff_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('handle', sa.String(length=100), nullable=False),
    sa.Column('created_at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.Column('last_seen_at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.Column('expires_at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.Column('revoked_at', mamori.db.base.UtcText(length=27), nullable=True),
    sa.ForeignKeyConstraint(['handle'], ['staff_accounts.handle'], name=op.f('fk_staff_sessions_handle_staff_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_sessions'))
    )
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_staff_sessions_expires_at', ['expires_at'], unique=False)
        batch_op.create_index('ix_staff_sessions_handle', ['handle'], unique=False)

    op.create_table('csrf_used',
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('token_id', sa.String(length=32), nullable=False),
    sa.Column('expires_at', mamori.db.base.UtcText(length=27), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['staff_sessions.id'], name=op.f('fk_csrf_used_session_id_staff_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'token_id', name=op.f('pk_csrf_used'))
    )
    with op.batch_alter_table('csrf_used', schema=None) as batch_op:
        batch_op.create_index('ix_csrf_used_expires_at', ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('csrf_used', schema=None) as batch_op:
        batch_op.drop_index('ix_csrf_used_expires_at')

    op.drop_table('csrf_used')
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_sessions_handle')
        batch_op.drop_index('ix_staff_sessions_expires_at')

    op.drop_table('staff_sessions')
    op.drop_table('staff_credentials')
    op.drop_table('service_tokens')
