"""call-back from the desk (issue 19): a clerk's 回电 is an outbound task of its own kind
that names the clerk whose phone is rung first

The task kind's CHECK gains `desk_call_back` (the kind columns are non-native enums: the
constraint is dropped and made again, a table copy on SQLite), and outbound_tasks gains
`clerk_user_id`. The staff's phone is the existing users.extension: no new field.

Revision ID: 0020
Revises: 0017 (the outbound task table as the automatic call-backs left it)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0017"
branch_labels = None
depends_on = None

KINDS = ("follow_up", "letter_confirmation", "call_back")


def _kind(*extra: str) -> sa.Enum:
    return sa.Enum(
        *KINDS,
        *extra,
        name="outbound_kind",
        native_enum=False,
        create_constraint=True,
        length=24,
    )


def upgrade() -> None:
    for table in ("outbound_tasks", "outbound_opt_outs"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "kind", type_=_kind("desk_call_back"), existing_type=_kind(), nullable=False
            )
    with op.batch_alter_table("outbound_tasks") as batch:
        batch.add_column(sa.Column("clerk_user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_outbound_tasks_clerk_user_id", "users", ["clerk_user_id"], ["id"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM outbound_tasks WHERE kind = 'desk_call_back'")
    with op.batch_alter_table("outbound_tasks") as batch:
        batch.drop_constraint("fk_outbound_tasks_clerk_user_id", type_="foreignkey")
        batch.drop_column("clerk_user_id")
    for table in ("outbound_tasks", "outbound_opt_outs"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "kind", type_=_kind(), existing_type=_kind("desk_call_back"), nullable=False
            )
