"""the live desk (issue 19): a progress row per call in progress (its stage in the flow),
and each staff member's desk notification switches

Revision ID: 0014
Revises: 0011 (the live desk shows the caller's household from the directory)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "live_calls",
        sa.Column(
            "call_pk",
            sa.Integer(),
            sa.ForeignKey("calls.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON()),
        sa.Column("changed_at", TS, nullable=False),
    )
    op.create_table(
        "desk_alerts",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("sound", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("browser", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    op.drop_table("desk_alerts")
    op.drop_table("live_calls")
