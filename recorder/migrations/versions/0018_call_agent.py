"""calls: which agent took the call, so one agent's start-up recovery leaves others' calls alone

With several agents on one database (README: Scaling out), an agent starting after a crash
took every call still open in the database for its own interrupted call: it "repaired" the
recording another agent was writing and ended that live call. Each call now carries the
name of the agent that took it (`agent.name`; NULL for a site's single unnamed agent and for
every call made before this revision), and recovery touches only its own.

Revision ID: 0018
Revises: 0010 (calls as ring truth left them)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("agent", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("agent")
