"""automatic call-backs of missed calls (issue 22): one call-back task per missed entry

A partial unique index on the entry of the call-back tasks keeps two agents sweeping at
once from making two tasks for one missed call, on SQLite as on PostgreSQL.

Revision ID: 0017
Revises: 0013 (the outbound task table)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "uq_outbound_call_back_entry",
        "outbound_tasks",
        ["entry_id"],
        unique=True,
        sqlite_where=sa.text("kind = 'call_back'"),
        postgresql_where=sa.text("kind = 'call_back'"),
    )


def downgrade() -> None:
    op.drop_index("uq_outbound_call_back_entry", table_name="outbound_tasks")
