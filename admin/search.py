"""Full-text search over entries and transcripts that works for Chinese substrings.

The index (migration 0003) is FTS5 trigram on SQLite and pg_trgm on PostgreSQL.
Every term is matched as literal text: quotes, %, _ and the like mean nothing.
"""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    column,
    exists,
    literal_column,
    select,
    table,
    true,
)
from sqlalchemy.orm import Session

from recorder.models import LogEntry

MAX_TERMS = 8
_SQLITE = table("entry_search", column("rowid", Integer), column("body"))
_PG = table("entry_search", column("entry_id", Integer), column("body"))


def terms(query: str) -> list[str]:
    return [term for term in query.split() if term][:MAX_TERMS]


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _sqlite_term(term: str) -> ColumnElement[bool]:
    if len(term) >= 3:
        # An FTS5 phrase: double quotes inside are doubled, nothing else is syntax.
        phrase = '"' + term.replace('"', '""') + '"'
        hits = select(_SQLITE.c.rowid).where(literal_column("entry_search").op("MATCH")(phrase))
    else:
        # Shorter than a trigram: a scan. The ESCAPE clause also keeps FTS5 from
        # taking the LIKE itself (SQLite 3.40 answers it with no rows when < 3 chars).
        hits = select(_SQLITE.c.rowid).where(_SQLITE.c.body.like(_like_pattern(term), escape="\\"))
    return LogEntry.id.in_(hits)


def _pg_term(term: str) -> ColumnElement[bool]:
    # Correlated, so the planner may walk the newest entries and stop at a page's worth
    # when a term is common (and shorter than a trigram, which the index cannot take),
    # or take the trigram index first when it is rare.
    return exists().where(
        _PG.c.entry_id == LogEntry.id,
        _PG.c.body.ilike(_like_pattern(term), escape="\\"),
    )


def condition(session: Session, query: str) -> ColumnElement[bool]:
    """A WHERE clause: entries whose fields or transcripts contain every term."""
    words = terms(query)
    if not words:
        return true()
    dialect = session.get_bind().dialect.name
    build = _pg_term if dialect == "postgresql" else _sqlite_term
    return and_(*(build(word) for word in words))
