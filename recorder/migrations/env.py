"""Alembic environment: the engine comes from hotline's settings, never from an ini file."""

from __future__ import annotations

from alembic import context

from recorder.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # pragma: no cover - alembic run by hand
    raise SystemExit("run migrations with `hotline db upgrade`, which knows the database URL")

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite alters a table by copying it to a new one and dropping the old (alembic's
        # batch mode); with foreign keys enforced, DROP TABLE calls fails once entries and
        # recordings point at it, so every site with data could not upgrade. SQLite's own
        # procedure (https://sqlite.org/lang_altertable.html, section 7): foreign keys off
        # outside the transaction, alter, `PRAGMA foreign_key_check`, commit, on again.
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    try:
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        connection.commit()
    finally:
        if sqlite:
            raw.execute("PRAGMA foreign_keys=ON")
