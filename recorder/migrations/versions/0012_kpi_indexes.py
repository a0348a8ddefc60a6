"""indexes the KPI report reads by (issue 20): a unit's repairs in time order, an entry's
first work order, and the month's completions, follow-ups and complaints

Measured with bench/kpi_report.py (100,000 calls in a month): without the first two the
month's KPIs took seconds (a repair reported again is looked up by unit; an entry's
department is its first work order's); bench/results/kpi-2026-12.md has the figures.

Revision ID: 0012
Revises: 0004 (work_orders and follow_ups are 0004's tables)
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_log_entries_unit_received_at", "log_entries", ["unit", "received_at"]),
    ("ix_work_orders_entry_first", "work_orders", ["entry_id", "dispatched_at", "id", "department"]),
    ("ix_work_orders_completed_at", "work_orders", ["completed_at"]),
    ("ix_follow_ups_at", "follow_ups", ["at"]),
    ("ix_complaints_registered_at", "complaints", ["registered_at"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
