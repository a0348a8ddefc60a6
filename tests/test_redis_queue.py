"""The scale-out queue with a real Redis (queue.backend = "redis", README: Scaling out):
`hotline worker` takes the jobs the agent's call log queues, and a Redis restart that
loses every queued job loses no call (issue 23; the guide's "a database or Redis restart").

What is kept: every call's record (written to the database before its job is queued),
and every call's reception-log entry, exactly once, after Redis comes back: the job that
could not be queued while Redis was away and the one Redis lost are picked up by the
worker's sweep. Nothing is put in the journal's rejected folder (the queue being away
is not the database refusing the call).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline.app import App
from recorder import db
from recorder.models import Call, Disposition, LogEntry
from tests.support.processes import free_port, require_tool, wait_until

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def redis_server(folder: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """redis-server on loopback, without persistence: a restart loses what it held."""
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            require_tool("redis-server"),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _answers(port), 10, "redis-server to answer")
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


def _answers(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def _missed_call(app: App, call_id: str, ended: datetime) -> None:
    """What the agent's call log records for a caller who hung up while it rang."""
    log = app.call_log
    log.call_started(call_id, "13800138000", "8001", ended - timedelta(seconds=8))
    log.call_ringing(call_id, ended - timedelta(seconds=8))
    log.call_ended(call_id, ended, Disposition.MISSED, "caller CANCEL", None)


def _entries(app: App, call_id: str) -> int:
    with app.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(LogEntry)
                .join(Call, LogEntry.call_pk == Call.id)
                .where(Call.call_id == call_id)
            )
            or 0
        )


def test_a_redis_restart_loses_no_call(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "hotline.toml"
    config.write_text(
        f'[paths]\ndata_dir = "{tmp_path / "var"}"\n'
        f'[queue]\nbackend = "redis"\nredis_url = "redis://127.0.0.1:{port}/0"\n',
        encoding="utf-8",
    )
    app = App.from_args(argparse.Namespace(config=str(config), data_dir=None, database_url=None))
    db.upgrade(app.engine)
    app.recover()  # as `hotline agent` starts: the journal's applier runs
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    log = (tmp_path / "worker.log").open("wb")
    worker = None
    try:
        with redis_server(tmp_path / "redis", port) as redis:
            worker = subprocess.Popen(
                [sys.executable, "-m", "hotline", "--config", str(config), "worker"],
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            now = datetime.now(UTC)
            _missed_call(app, "before@test", now)
            wait_until(lambda: _entries(app, "before@test") == 1, 30, "the first call's entry")

            # Redis goes away (killed: what it held is lost). A call ends meanwhile.
            redis.kill()
            redis.wait(timeout=10)
            _missed_call(app, "during@test", now - timedelta(minutes=2))
            assert app.call_log.close()  # the journal applied: the call is in the database
            with app.sessions() as session:
                assert session.scalar(select(Call.id).where(Call.call_id == "during@test"))
        assert not any((tmp_path / "var" / "journal").rglob("rejected*/*"))

        with redis_server(tmp_path / "redis", port):
            # The sweep runs each minute: the call that could not be queued gets its entry.
            wait_until(lambda: _entries(app, "during@test") == 1, 75, "the lost call's entry")
            assert worker.poll() is None, "the worker outlived the Redis restart"
        assert _entries(app, "before@test") == 1  # not made twice by the sweep
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=15)
        log.close()
        app.close()
