"""Alembic environment: the engine comes from hotline's settings, never from an ini file."""

from __future__ import annotations

from alembic import context

from recorder.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # pragma: no cover - alembic run by hand
    raise SystemExit("run migrations with `hotline db upgrade`, which knows the database URL")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
