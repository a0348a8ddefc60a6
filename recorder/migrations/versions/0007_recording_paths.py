"""recordings.path relative to the data directory; no placeholder stored as a summary

Rows written before this revision hold the path as the agent saw it
(``var/recordings/2026/12/07/….wav`` relative to the folder `hotline run`
started in, or an absolute path). They become ``recordings/2026/12/07/….wav``
so every process resolves them against its own data directory
(recorder/stored_paths.py). Rows with no recognisable form are kept as they are.

Revision ID: 0007
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from recorder.stored_paths import migrated

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None

_recordings = sa.table("recordings", sa.column("id", sa.Integer), sa.column("path", sa.String))
_entries = sa.table("log_entries", sa.column("summary", sa.Text))
#: What earlier versions stored as the summary of an entry still waiting for its words.
_PLACEHOLDER = "（录音已保存，等待语音识别）"


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_recordings.c.id, _recordings.c.path)).all()
    for row_id, path in rows:
        new = migrated(path)
        if new is not None and new != path:
            bind.execute(
                _recordings.update().where(_recordings.c.id == row_id).values(path=new)
            )
    # The placeholder was never the caller's words: an empty summary, and the desk
    # shows "awaiting transcription" from the call's job instead.
    bind.execute(_entries.update().where(_entries.c.summary == _PLACEHOLDER).values(summary=""))


def downgrade() -> None:
    """Not reversible: the folder older versions resolved paths against is not known
    here, so the rows stay relative to the data directory."""
