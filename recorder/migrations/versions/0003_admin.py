"""admin: full-text search over log entries and their transcripts

SQLite: an FTS5 table with the trigram tokenizer (Chinese substrings of three
or more characters use the index; shorter ones scan it with LIKE).
PostgreSQL: a plain table with a pg_trgm GIN index for ILIKE '%...%'.
Both are kept in sync by triggers on log_entries and transcripts.

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

_BODY = (
    "coalesce(e.caller_number, '') || ' ' || coalesce(e.phone, '') || ' ' || "
    "coalesce(e.surname, '') || ' ' || coalesce(e.unit, '') || ' ' || "
    "coalesce(e.summary, '') || ' ' || coalesce(e.handling, '') || ' ' || "
    "coalesce(e.dispatch_department, '') || ' ' || "
    "coalesce((SELECT {agg} FROM transcripts t WHERE t.call_pk = e.call_pk), '')"
)
SQLITE_BODY = _BODY.format(agg="group_concat(t.text, ' ')")
PG_BODY = _BODY.format(agg="string_agg(t.text, ' ' ORDER BY t.id)")


def _sqlite_upgrade() -> None:
    op.execute("CREATE VIRTUAL TABLE entry_search USING fts5(body, tokenize='trigram')")
    refresh_entry = (
        "DELETE FROM entry_search WHERE rowid = new.id; "
        f"INSERT INTO entry_search(rowid, body) SELECT e.id, {SQLITE_BODY} "
        "FROM log_entries e WHERE e.id = new.id;"
    )
    refresh_call = (
        "DELETE FROM entry_search WHERE rowid IN "
        "(SELECT id FROM log_entries WHERE call_pk = new.call_pk); "
        f"INSERT INTO entry_search(rowid, body) SELECT e.id, {SQLITE_BODY} "
        "FROM log_entries e WHERE e.call_pk = new.call_pk;"
    )
    op.execute(f"CREATE TRIGGER entry_search_ai AFTER INSERT ON log_entries BEGIN {refresh_entry} END")
    op.execute(f"CREATE TRIGGER entry_search_au AFTER UPDATE ON log_entries BEGIN {refresh_entry} END")
    op.execute(f"CREATE TRIGGER entry_search_tai AFTER INSERT ON transcripts BEGIN {refresh_call} END")
    op.execute(
        f"CREATE TRIGGER entry_search_tau AFTER UPDATE OF text ON transcripts BEGIN {refresh_call} END"
    )
    op.execute(f"INSERT INTO entry_search(rowid, body) SELECT e.id, {SQLITE_BODY} FROM log_entries e")


def _pg_upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE TABLE entry_search (entry_id integer PRIMARY KEY "
        "REFERENCES log_entries(id) ON DELETE CASCADE, body text NOT NULL)"
    )
    op.execute("CREATE INDEX ix_entry_search_body ON entry_search USING gin (body gin_trgm_ops)")
    op.execute(
        "CREATE FUNCTION hotline_entry_search_refresh(eid integer) RETURNS void AS $$ "
        f"INSERT INTO entry_search(entry_id, body) SELECT e.id, {PG_BODY} "
        "FROM log_entries e WHERE e.id = eid "
        "ON CONFLICT (entry_id) DO UPDATE SET body = EXCLUDED.body $$ LANGUAGE sql"
    )
    op.execute(
        "CREATE FUNCTION hotline_entry_search_entry() RETURNS trigger AS $$ BEGIN "
        "PERFORM hotline_entry_search_refresh(NEW.id); RETURN NULL; END $$ LANGUAGE plpgsql"
    )
    op.execute(
        "CREATE FUNCTION hotline_entry_search_transcript() RETURNS trigger AS $$ BEGIN "
        "PERFORM hotline_entry_search_refresh(e.id) FROM log_entries e "
        "WHERE e.call_pk = NEW.call_pk; RETURN NULL; END $$ LANGUAGE plpgsql"
    )
    op.execute(
        "CREATE TRIGGER entry_search_entry AFTER INSERT OR UPDATE ON log_entries "
        "FOR EACH ROW EXECUTE FUNCTION hotline_entry_search_entry()"
    )
    op.execute(
        "CREATE TRIGGER entry_search_transcript AFTER INSERT OR UPDATE OF text ON transcripts "
        "FOR EACH ROW EXECUTE FUNCTION hotline_entry_search_transcript()"
    )
    op.execute("SELECT hotline_entry_search_refresh(id) FROM log_entries")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER entry_search_transcript ON transcripts")
        op.execute("DROP TRIGGER entry_search_entry ON log_entries")
        op.execute("DROP FUNCTION hotline_entry_search_transcript()")
        op.execute("DROP FUNCTION hotline_entry_search_entry()")
        op.execute("DROP FUNCTION hotline_entry_search_refresh(integer)")
        op.execute("DROP TABLE entry_search")
        # pg_trgm stays: other schemas in this database may use it.
        return
    for name in ("entry_search_tau", "entry_search_tai", "entry_search_au", "entry_search_ai"):
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP TABLE entry_search")
