"""indexes from the KPI queries' plans: 返修率's "same thing"; who answered elsewhere

- `ix_log_entries_rework (unit, category, urgency, received_at, dispatch_department, id)`:
  a repair reported again is the same unit's repair of the same kind (urgency: safety,
  leak or other, the kinds seed 000 1.4.3.6.2 names) received within the window after
  the completion, of the same department where both name one (recorder/kpi_counts.py
  completed_repairs). Every column the lookup tests is in the index, so it is read from
  the index alone (PostgreSQL: an index-only scan once the table is vacuumed).
- `ix_calls_answered_elsewhere (disposition, invite_at, answered_by_user_id,
  answered_elsewhere_by, answered_elsewhere) WHERE answered_elsewhere`: the dashboard's list of who answered
  elsewhere in the ring group (recorder/service_level.py answered_elsewhere_by) read
  the period's calls from the table (PostgreSQL: a sequential scan of all 100,000 to
  keep 13,859); the partial index holds only the calls answered elsewhere, with every
  column the list reads (the condition's too: SQLite then reads the index alone). Its condition is written as each database's query has it
  (SQLite uses a partial index only when the query's WHERE has the same term).

Revision ID: 0022
Revises: 0015 (its KPI indexes and calls.answered_elsewhere_by)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0015"
branch_labels = None
depends_on = None

REWORK = ["unit", "category", "urgency", "received_at", "dispatch_department", "id"]
ELSEWHERE = ["disposition", "invite_at", "answered_by_user_id", "answered_elsewhere_by",
             "answered_elsewhere"]  # fmt: skip


def upgrade() -> None:
    op.create_index("ix_log_entries_rework", "log_entries", REWORK)
    op.create_index(
        "ix_calls_answered_elsewhere",
        "calls",
        ELSEWHERE,
        postgresql_where=sa.text("answered_elsewhere"),
        sqlite_where=sa.text("answered_elsewhere = 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_calls_answered_elsewhere", table_name="calls")
    op.drop_index("ix_log_entries_rework", table_name="log_entries")
