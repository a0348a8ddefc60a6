"""Database engine, migrations and the start-up schema check.

SQLite is the embedded default (one file in the data directory, WAL journal,
every transaction `BEGIN IMMEDIATE` so that the agent, the worker and the
admin writing at once wait for each other instead of failing); PostgreSQL is
used when `database.url` names it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from recorder.errors import DatabaseError, DatabaseUnreachable, SchemaOutdated

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def make_engine(url: str, echo: bool = False) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"database.url {url!r} is not a database URL; "
            "use e.g. sqlite:///var/hotline.db or postgresql+psycopg://user:pw@host/db"
        ) from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
        # jit=off: the desk's aggregate queries (the KPIs, the dashboard) are estimated
        # above jit_above_cost and PostgreSQL spent ~1.7 s compiling a query that ran
        # in 0.1 s (EXPLAIN ANALYZE in bench/results/kpi-report.md); a desk gains nothing
        # from JIT. plan_cache_mode=force_custom_plan: psycopg prepares a statement run
        # five times, and PostgreSQL then tried a generic plan for the KPI queries, which
        # took 17-19 s a request instead of 0.6-0.9 s until an ANALYZE threw it away
        # (the running month's KPI XLSX, 100,000 calls, bench/results/kpi-report.md).
        options = "-c jit=off -c plan_cache_mode=force_custom_plan"
        kwargs["connect_args"] = {"connect_timeout": 10, "options": options}
    try:
        engine = create_engine(parsed, **kwargs)
    except NoSuchModuleError:
        raise DatabaseError(f"database.url {redact(url)}: unsupported database") from None
    if engine.dialect.name == "sqlite":
        _sqlite_pragmas(engine)
    return engine


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # 64 MiB of page cache (the default is 2 MiB): the KPI queries read a month's
        # entries, orders and calls and their indexes (bench/kpi_report.py, issue 20).
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")  # WAL: a reader never waits for a writer
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


#: An execution option: the connection only reads (see `reading`).
READ_ONLY = "hotline_read_only"


def reading(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions on the same engine for code that only reads and polls often (the live
    desk): on SQLite their transactions start with a plain BEGIN, so they never take the
    write lock the agents' journal appliers need."""
    engine: Engine = sessions.kw["bind"]
    return sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # Importing the reception log registers its revision hook on every Session;
    # the estates their stamp on new rows and the estate scope of a session's reads.
    import recorder.estates
    import recorder.reception_log  # noqa: F401

    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revisions() -> frozenset[str]:
    """The newest revision of each migration branch (areas add tables independently)."""
    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


def head_revision() -> str:
    return ",".join(sorted(head_revisions()))


def current_revisions(engine: Engine) -> frozenset[str]:
    try:
        with engine.connect() as connection:
            return frozenset(MigrationContext.configure(connection).get_current_heads())
    except OperationalError as exc:
        raise DatabaseUnreachable(_unreachable(engine, exc)) from None
    except DBAPIError as exc:
        raise DatabaseError(f"database {redact(str(engine.url))}: {_first_line(exc)}") from None


def current_revision(engine: Engine) -> str | None:
    return ",".join(sorted(current_revisions(engine))) or None


def upgrade(engine: Engine, revision: str = "heads") -> None:
    current_revision(engine)  # fail early, with a clear line, if unreachable
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    current_revision(engine)
    command.downgrade(alembic_config(engine), revision)


def check_schema(engine: Engine) -> None:
    """Refuse to run against a database that is not at the code's schema."""
    current_set = current_revisions(engine)
    if current_set == head_revisions():
        return
    current, head = current_revision(engine), head_revision()
    where = redact(str(engine.url))
    if current is None:
        raise SchemaOutdated(
            f"database {where} has no hotline schema yet: run `hotline db upgrade`"
        )
    raise SchemaOutdated(
        f"database {where} is at schema {current}, this hotline needs {head}: "
        "run `hotline db upgrade`"
    )


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return (str(original).strip().splitlines() or [type(original).__name__])[0]


def _unreachable(engine: Engine, exc: BaseException) -> str:
    return (
        f"cannot reach database {redact(str(engine.url))}: {_first_line(exc)}; "
        "check database.url and that the server is running"
    )
