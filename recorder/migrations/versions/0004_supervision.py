"""supervision: work orders, follow-ups, daily log checks, compliance results

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "work_order_sequences",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("log_entries.id"), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("dispatched_at", TS, nullable=False),
        sa.Column("dispatched_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("completed", sa.Boolean(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("year", "seq", name="uq_work_order_year_seq"),
    )
    op.create_index("ix_work_orders_entry_id", "work_orders", ["entry_id"])
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("log_entries.id"), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("by_user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("reached", sa.Boolean(), nullable=False),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_follow_ups_entry_id", "follow_ups", ["entry_id"])
    op.create_table(
        "log_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("checked_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("checked_at", TS, nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day"),
    )
    op.create_table(
        "compliance_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_pk", sa.Integer(), sa.ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
        sa.Column("answered_by", sa.String(16), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("within_rings", sa.Boolean(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("forbidden", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("checked_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_pk"),
    )
    op.create_index("ix_compliance_results_user_id", "compliance_results", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_compliance_results_user_id", "compliance_results")
    op.drop_table("compliance_results")
    op.drop_table("log_checks")
    op.drop_index("ix_follow_ups_entry_id", "follow_ups")
    op.drop_table("follow_ups")
    op.drop_index("ix_work_orders_entry_id", "work_orders")
    op.drop_table("work_orders")
    op.drop_table("work_order_sequences")
