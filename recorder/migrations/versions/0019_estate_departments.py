"""estates: the departments an estate's work orders go to (issue 23)

An estate may have departments of its own (和谐花园工程部, its own cleaning contractor);
NULL, as every estate before this revision: the company's ([departments] of
config/rules/categories.toml).

Revision ID: 0019
Revises: 0016 (the estates table)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("estates") as batch:
        batch.add_column(sa.Column("departments", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("estates") as batch:
        batch.drop_column("departments")
