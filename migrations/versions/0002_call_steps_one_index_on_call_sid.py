"""call_steps: drop the index on call_sid alone

The unique (call_sid, request_key) index already serves lookups by call_sid (its leading
column); the second index only cost every shipped step one more insertion.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_steps_call_sid"))


def downgrade() -> None:
    with op.batch_alter_table("call_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_steps_call_sid"), ["call_sid"], unique=False)
