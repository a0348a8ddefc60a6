"""the resident directory (业主档案, issue 19): households, residents, their phone numbers
and the history of every change; log entries say where their unit came from (the
directory or speech), the unit the call is about when it is not the caller's home, a
unit said that the estate does not have (for a clerk), and the households sharing the
caller's number

Revision ID: 0011
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ENTRY_COLUMNS = (
    ("unit_source", sa.String(16)),
    ("subject_unit", sa.String(64)),
    ("unverified_unit", sa.String(64)),
    ("households", sa.JSON()),
)


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("address", sa.String(64), nullable=False, unique=True),
        sa.Column("building", sa.String(32), nullable=False, index=True),
        sa.Column("unit_no", sa.String(16)),
        sa.Column("room", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "residents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "household_id", sa.Integer(), sa.ForeignKey("households.id"), nullable=False, index=True
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("relation", sa.String(8)),
        sa.Column("notes", sa.Text()),
        sa.Column("priority", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("household_id", "name", name="uq_resident_name"),
    )
    op.create_table(
        "resident_phones",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "resident_id", sa.Integer(), sa.ForeignKey("residents.id"), nullable=False, index=True
        ),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("local", sa.String(32), nullable=False),
        sa.UniqueConstraint("resident_id", "number", name="uq_resident_phone"),
    )
    op.create_index("ix_resident_phones_local", "resident_phones", ["local"])
    op.create_table(
        "directory_revisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "household_id", sa.Integer(), sa.ForeignKey("households.id"), nullable=False, index=True
        ),
        sa.Column("resident_id", sa.Integer(), sa.ForeignKey("residents.id"), index=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("old_value", sa.Text()),
        sa.Column("new_value", sa.Text()),
    )
    with op.batch_alter_table("log_entries") as batch:
        for name, kind in ENTRY_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("log_entries") as batch:
        for name, _ in reversed(ENTRY_COLUMNS):
            batch.drop_column(name)
    op.drop_table("directory_revisions")
    op.drop_index("ix_resident_phones_local", "resident_phones")
    op.drop_table("resident_phones")
    op.drop_table("residents")
    op.drop_table("households")
