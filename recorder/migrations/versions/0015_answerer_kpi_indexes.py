"""calls: who answered elsewhere in the ring group; indexes the month's KPIs read by

`answered_elsewhere_by` keeps the party a site-named header of the CANCEL or its Reason
text gave (ivr/cancel_reason.answerer); NULL: answered by "a colleague" (issue 20).

The indexes let the KPI queries (recorder/kpi_counts.py) read only the rows they count,
each from an index that holds what the test needs (bench/kpi_report.py, 100,000 calls;
figures in bench/results/kpi-report.md): a month's repairs and messages by category,
a repair reported again by unit and category in a bounded time range, a completed work
order, a person's action on an entry, a follow-up that reached someone, and the month's
missed and abandoned calls.

Revision ID: 0015
Revises: 0010 (calls), 0012 (the KPI indexes of 0004's tables)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = ("0010", "0012")
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_log_entries_category_received_at", "log_entries", ["category", "received_at"]),
    ("ix_log_entries_unit_category_received_at", "log_entries",
     ["unit", "category", "received_at"]),  # fmt: skip
    ("ix_work_orders_entry_done", "work_orders", ["entry_id", "completed", "completed_at"]),
    ("ix_entry_revisions_entry_acted", "entry_revisions",
     ["entry_id", "field", "user_id", "changed_at"]),  # fmt: skip
    ("ix_follow_ups_entry_reached", "follow_ups", ["entry_id", "reached", "at"]),
    ("ix_calls_disposition_invite_at", "calls", ["disposition", "invite_at"]),
]


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("answered_elsewhere_by", sa.String(100), nullable=True))
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("answered_elsewhere_by")
