"""estates as data (issue 23): estates, the numbers that reach them, the staff of each;
calls, entries, complaints and work orders belong to an estate

An existing single-organisation database becomes one estate, code "main" with an empty
name (the company's name, `[organization] name`, is said and printed for it), its hours
the company's; every call, entry, complaint and work order already there is that
estate's. Nothing else changes: no row is removed or rewritten but for its estate.

Revision ID: 0016
Revises: 0009 (work orders and the complaint register of 0004/0009)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0009"
branch_labels = None
depends_on = None

#: The tables whose rows belong to an estate.
OWNED = ("calls", "log_entries", "complaints", "work_orders")
#: The numbered registers and their constraints' names.
NUMBERED = (("complaints", "complaint"), ("work_orders", "work_order"))


def upgrade() -> None:
    op.create_table(
        "estates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("opening_hours", sa.String(16), nullable=True),
        sa.Column("working_days", sa.JSON(), nullable=True),
        sa.Column("holidays", sa.JSON(), nullable=True),
        sa.Column("script", sa.String(200), nullable=True),
        sa.Column("numbering", sa.String(8), nullable=False, server_default="company"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "estate_numbers",
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column(
            "estate_id",
            sa.Integer(),
            sa.ForeignKey("estates.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "estate_sequences",
        sa.Column("kind", sa.String(4), nullable=False),
        sa.Column(
            "estate_id",
            sa.Integer(),
            sa.ForeignKey("estates.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "estate_id", "year"),
    )
    op.create_table(
        "staff_estates",
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "estate_id",
            sa.Integer(),
            sa.ForeignKey("estates.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("user_id", "estate_id"),
    )
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    for table in OWNED:
        # Not batch mode: rebuilding log_entries on SQLite trips the search triggers of
        # 0003. SQLite keeps the column without a REFERENCES clause, so that it can be
        # dropped again (ALTER TABLE DROP COLUMN refuses a foreign key's column).
        op.add_column(table, sa.Column("estate_id", sa.Integer(), nullable=True))
        if postgresql:
            op.create_foreign_key(f"fk_{table}_estate_id", table, "estates", ["estate_id"], ["id"])
        op.create_index(f"ix_{table}_estate_id", table, ["estate_id"])
    # An estate's own numbers (TS-HX-2026-0001) restart at 1: unique within the estate.
    for table, name in NUMBERED:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{name}_year_seq", type_="unique")
            batch.create_unique_constraint(
                f"uq_{name}_estate_year_seq", ["estate_id", "year", "seq"]
            )
    if any(bind.execute(sa.text(f"SELECT 1 FROM {t} LIMIT 1")).first() for t in OWNED):
        op.execute("INSERT INTO estates (id, code, name) VALUES (1, 'main', '')")
        if postgresql:
            op.execute("SELECT setval('estates_id_seq', 1)")
            # The estate is no part of an entry's search text (0003's trigger, if 0003 ran
            # first): no refresh per row.
            op.execute("ALTER TABLE log_entries DISABLE TRIGGER USER")
        for table in OWNED:
            op.execute(f"UPDATE {table} SET estate_id = 1")  # noqa: S608 (constant names)
        if postgresql:
            op.execute("ALTER TABLE log_entries ENABLE TRIGGER USER")


def downgrade() -> None:
    """Refused once an estate numbers its own (its numbers would clash company-wide)."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, name in NUMBERED:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{name}_estate_year_seq", type_="unique")
            batch.create_unique_constraint(f"uq_{name}_year_seq", ["year", "seq"])
    for table in OWNED:
        op.drop_index(f"ix_{table}_estate_id", table)
        if postgresql:
            op.drop_constraint(f"fk_{table}_estate_id", table, type_="foreignkey")
        op.drop_column(table, "estate_id")
    op.drop_table("staff_estates")
    op.drop_table("estate_sequences")
    op.drop_table("estate_numbers")
    op.drop_table("estates")
