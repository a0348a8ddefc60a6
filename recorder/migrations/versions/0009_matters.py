"""matters carried to their close (issue 21): work orders to a named technician with a
deadline, returns with parts and a paid-service fee, re-dispatch; complaints with their
channel, simple or major, escalation, corrective measures and closing decision; a
revision row for every change of a complaint or a work order

Revision ID: 0009
Revises: 0004 (it changes 0004's work_orders; a branch from 0001 with depends_on 0004 leaves
alembic_version without 0004 while the script still counts it a head)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ORDER_COLUMNS = (
    ("technician", sa.String(64)),
    ("due_at", TS),
    ("parts", sa.Text()),
    ("fee_fen", sa.Integer()),
    ("returned_by", sa.Integer()),
    ("previous_id", sa.Integer()),
)
COMPLAINT_COLUMNS = (
    ("escalated_at", TS),
    ("escalated_by", sa.Integer()),
    ("reported_at", TS),
    ("measures", sa.Text()),
    ("decision", sa.Text()),
    ("closed_by", sa.Integer()),
    ("cause", sa.String(16)),
    ("staff_user_id", sa.Integer()),
    ("explanation", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        for name, kind in ORDER_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
        batch.add_column(sa.Column("paid", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_foreign_key("fk_work_orders_returned_by", "users", ["returned_by"], ["id"])
        batch.create_foreign_key("fk_work_orders_previous", "work_orders", ["previous_id"], ["id"])
    with op.batch_alter_table("complaints") as batch:
        for name, kind in COMPLAINT_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
        batch.add_column(
            sa.Column("channel", sa.String(16), nullable=False, server_default="phone")
        )
        batch.add_column(
            sa.Column("severity", sa.String(16), nullable=False, server_default="simple")
        )
        batch.add_column(
            sa.Column("internal", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_foreign_key("fk_complaints_staff", "users", ["staff_user_id"], ["id"])
        batch.create_foreign_key("fk_complaints_escalated_by", "users", ["escalated_by"], ["id"])
        batch.create_foreign_key("fk_complaints_closed_by", "users", ["closed_by"], ["id"])
        batch.create_check_constraint(
            "ck_complaint_channel", "channel IN ('phone', 'letter', 'fax', 'visit')"
        )
        batch.create_check_constraint("ck_complaint_severity", "severity IN ('simple', 'major')")
    op.create_index("ix_complaints_staff_user_id", "complaints", ["staff_user_id"])
    op.create_table(
        "matter_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_matter_revisions_row", "matter_revisions", ["kind", "row_id"])
    _letters_and_handovers()


def _letters_and_handovers() -> None:
    op.create_table(
        "reply_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), sa.ForeignKey("complaints.id"), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("involves_property", sa.Boolean(), nullable=False),
        sa.Column("involves_law", sa.Boolean(), nullable=False),
        sa.Column("drafted_at", TS, nullable=False),
        sa.Column("drafted_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("approver", sa.String(100), nullable=True),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("approved_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("mailed_at", TS, nullable=True),
        sa.Column("mail_number", sa.String(64), nullable=True),
        sa.Column("confirm_due", TS, nullable=True),
        sa.Column("confirmed_at", TS, nullable=True),
        sa.Column("confirmed_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("confirm_note", sa.Text(), nullable=True),
        sa.Column("archived_at", TS, nullable=True),
        sa.Column("archived_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reply_letters_complaint_id", "reply_letters", ["complaint_id"])
    op.create_table(
        "letter_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), sa.ForeignKey("reply_letters.id"), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("reviewer", sa.String(100), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_letter_reviews_letter_id", "letter_reviews", ["letter_id"])
    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("by_user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("matters", sa.JSON(), nullable=False),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handovers_at", "handovers", ["at"])
    op.create_table(
        "check_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("log_entries.id"), nullable=False),
        sa.Column("work_order_id", sa.Integer(), sa.ForeignKey("work_orders.id"), nullable=True),
        sa.Column("sampled_at", TS, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("checked_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("checked_at", TS, nullable=True),
        sa.Column("returned_to", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("corrected_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "period", "entry_id", name="uq_check_mark"),
    )
    op.create_index("ix_check_marks_period", "check_marks", ["kind", "period"])


def downgrade() -> None:
    op.drop_index("ix_check_marks_period", table_name="check_marks")
    op.drop_table("check_marks")
    op.drop_index("ix_handovers_at", table_name="handovers")
    op.drop_table("handovers")
    op.drop_index("ix_letter_reviews_letter_id", table_name="letter_reviews")
    op.drop_table("letter_reviews")
    op.drop_index("ix_reply_letters_complaint_id", table_name="reply_letters")
    op.drop_table("reply_letters")
    op.drop_index("ix_matter_revisions_row", table_name="matter_revisions")
    op.drop_table("matter_revisions")
    op.drop_index("ix_complaints_staff_user_id", table_name="complaints")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_constraint("ck_complaint_severity", type_="check")
        batch.drop_constraint("ck_complaint_channel", type_="check")
        batch.drop_constraint("fk_complaints_closed_by", type_="foreignkey")
        batch.drop_constraint("fk_complaints_escalated_by", type_="foreignkey")
        batch.drop_constraint("fk_complaints_staff", type_="foreignkey")
        for name in ("internal", "severity", "channel", *(n for n, _ in reversed(COMPLAINT_COLUMNS))):
            batch.drop_column(name)
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_constraint("fk_work_orders_previous", type_="foreignkey")
        batch.drop_constraint("fk_work_orders_returned_by", type_="foreignkey")
        for name in ("paid", *(n for n, _ in reversed(ORDER_COLUMNS))):
            batch.drop_column(name)
