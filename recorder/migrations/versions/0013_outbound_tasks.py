"""calls the agent places (issue 22): outbound call tasks, and the numbers that asked
not to be called (press 9)

A partial unique index on the number of the tasks being called (state 'calling') keeps
two agents from ringing one number at once, on SQLite as on PostgreSQL.

Revision ID: 0013
Revises: 0009 (its tasks name work orders and reply letters, which 0009's branch holds)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _kind() -> sa.Enum:
    return sa.Enum(
        "follow_up",
        "letter_confirmation",
        "call_back",
        name="outbound_kind",
        native_enum=False,
        create_constraint=True,
        length=24,
    )


def upgrade() -> None:
    op.create_table(
        "outbound_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _kind(), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("letter_id", sa.Integer(), nullable=True),
        sa.Column("not_before", TS, nullable=False),
        sa.Column("not_after", TS, nullable=True),
        sa.Column("attempts_left", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "due",
                "calling",
                "done",
                "gave_up",
                "cancelled",
                name="outbound_state",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("last_attempt", sa.String(24), nullable=True),
        sa.Column("result", sa.String(24), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["log_entries.id"]),
        sa.ForeignKeyConstraint(["work_order_id"], ["work_orders.id"]),
        sa.ForeignKeyConstraint(["letter_id"], ["reply_letters.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "work_order_id", name="uq_outbound_task_order"),
        sa.UniqueConstraint("kind", "letter_id", name="uq_outbound_task_letter"),
    )
    op.create_index("ix_outbound_tasks_entry_id", "outbound_tasks", ["entry_id"])
    op.create_index("ix_outbound_tasks_due", "outbound_tasks", ["state", "not_before"])
    op.create_index(
        "uq_outbound_calling_number",
        "outbound_tasks",
        ["number"],
        unique=True,
        sqlite_where=sa.text("state = 'calling'"),
        postgresql_where=sa.text("state = 'calling'"),
    )
    op.create_table(
        "outbound_opt_outs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("kind", _kind(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("call_id", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number", "kind", name="uq_outbound_opt_out"),
    )


def downgrade() -> None:
    op.drop_table("outbound_opt_outs")
    op.drop_index("uq_outbound_calling_number", table_name="outbound_tasks")
    op.drop_index("ix_outbound_tasks_due", table_name="outbound_tasks")
    op.drop_index("ix_outbound_tasks_entry_id", table_name="outbound_tasks")
    op.drop_table("outbound_tasks")
