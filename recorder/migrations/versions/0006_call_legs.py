"""call_legs: each clerk's phone rung for a call, its ring time and how it ended

Revision ID: 0006
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_legs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "call_pk",
            sa.Integer(),
            sa.ForeignKey("calls.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("extension", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("rang_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ring_seconds", sa.Float(), nullable=False),
        sa.Column(
            "result",
            sa.Enum(
                "answered",
                "busy",
                "no_answer",
                "failed",
                name="leg_result",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_pk", "seq", name="uq_call_leg_seq"),
    )
    with op.batch_alter_table("call_legs") as batch:
        batch.create_index(batch.f("ix_call_legs_call_pk"), ["call_pk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_legs") as batch:
        batch.drop_index(batch.f("ix_call_legs_call_pk"))
    op.drop_table("call_legs")
