"""calls: who answered elsewhere in the ring group, when the PBX's CANCEL names them

`answered_elsewhere_by` keeps the party a site-named header of the CANCEL or its Reason
text gave (ivr/cancel_reason.answerer); NULL: answered by "a colleague" (issue 20).

Revision ID: 0015
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("answered_elsewhere_by", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("answered_elsewhere_by")
