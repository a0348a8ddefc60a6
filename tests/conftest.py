"""Shared fixtures: settings in a temporary directory, and databases (SQLite and a
real PostgreSQL server) migrated to the newest schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from recorder import db
from tests.support.postgres import PostgresCluster, postgres_cluster, postgres_server


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    with postgres_server(tmp_path_factory.mktemp("postgres")) as address:
        yield address


@pytest.fixture(scope="module")
def stoppable_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of the test module's own, which its tests stop and start
    again (a restart must not disturb the session's shared server)."""
    with postgres_cluster(tmp_path_factory.mktemp("stoppable-pg")) as cluster:
        yield cluster


def new_pg_database(server: tuple[str, int]) -> str:
    host, port = server
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        f"postgresql+psycopg://hotline@{host}:{port}/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql+psycopg://hotline@{host}:{port}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind; tests using it run twice."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hotline.db'}"
    return new_pg_database(request.getfixturevalue("pg_server"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = db.make_engine(database_url)
    db.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return db.session_factory(engine)


@pytest.fixture
def sqlite_sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Only SQLite, for tests that need a database but not both kinds."""
    eng = db.make_engine(f"sqlite:///{tmp_path / 'hotline.db'}")
    db.upgrade(eng)
    yield db.session_factory(eng)
    eng.dispose()
