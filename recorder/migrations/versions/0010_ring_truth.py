"""calls: answered elsewhere in a ring group (RFC 3326 CANCEL); rings unknown for imports

A call whose ringing leg the PBX CANCELled with "call completed elsewhere" was answered
by a clerk's phone: `answered_elsewhere` says so. `ring_count` becomes nullable: an
imported recording says nothing about how long it rang, so its rings are unknown (NULL),
not zero; the imported rows written before this revision are set to NULL.

Revision ID: 0010
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(
            sa.Column("answered_elsewhere", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.alter_column("ring_count", existing_type=sa.Integer(), nullable=True)
    op.execute("UPDATE calls SET ring_count = NULL WHERE direction = 'imported'")


def downgrade() -> None:
    op.execute("UPDATE calls SET ring_count = 0 WHERE ring_count IS NULL")
    with op.batch_alter_table("calls") as batch:
        batch.alter_column("ring_count", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("answered_elsewhere")
