"""A real PostgreSQL server on loopback, in a temporary data directory."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import free_port, require_tool, running, wait_until


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _accepts(port: int) -> bool:
    """An open port is not enough: "the database system is starting up" comes first."""
    import psycopg

    if not _port_open(port):
        return False
    try:
        psycopg.connect(
            host="127.0.0.1", port=port, user="hotline", dbname="postgres", connect_timeout=2
        ).close()
    except psycopg.OperationalError:
        return False
    return True


@contextmanager
def postgres_server(logs: Path) -> Iterator[tuple[str, int]]:
    """Yield (host, port) of a fresh PostgreSQL cluster with trust auth on 127.0.0.1.

    Its data directory is outside pytest's tmp tree (mode 700, root's), since the
    server runs as the unprivileged `postgres` user when the tests run as root.
    """
    initdb = require_tool("initdb")
    postgres = require_tool("postgres")
    user = None
    base = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
    base.chmod(0o755)
    datadir = base / "pgdata"
    if os.geteuid() == 0:  # postgres refuses to run as root
        user = "postgres"
        entry = pwd.getpwnam(user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    cmd = [initdb, "-D", str(datadir), "-U", "hotline", "-A", "trust", "-E", "UTF8", "--no-sync"]
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
    subprocess.run(cmd, check=True, capture_output=True)
    port = free_port()
    sockdir = base / "sock"
    sockdir.mkdir()
    if user:
        shutil.chown(sockdir, user, user)
    argv = [
        postgres,
        "-D",
        str(datadir),
        "-p",
        str(port),
        "-h",
        "127.0.0.1",
        "-k",
        str(sockdir),
        "-c",
        "fsync=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "max_connections=200",
    ]
    try:
        with running(
            argv, ready=lambda: _accepts(port), timeout=30, log=logs / "postgres.log", user=user
        ):
            yield "127.0.0.1", port
    finally:
        shutil.rmtree(base, ignore_errors=True)


class PostgresCluster:
    """A PostgreSQL cluster a test may stop and start again (same data, same port).

    `stop()` is a fast shutdown (SIGINT: sessions are cut off, open
    transactions roll back), as when an operator restarts the server.
    """

    def __init__(self, logs: Path) -> None:
        self._initdb = require_tool("initdb")
        self._postgres = require_tool("postgres")
        self._logs = logs
        self._user: str | None = "postgres" if os.geteuid() == 0 else None
        self._base = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        self._base.chmod(0o755)
        if self._user:  # postgres refuses to run as root
            entry = pwd.getpwnam(self._user)
            os.chown(self._base, entry.pw_uid, entry.pw_gid)
        self._datadir = self._base / "pgdata"
        cmd = [self._initdb, "-D", str(self._datadir), "-U", "hotline", "-A", "trust"]
        cmd += ["-E", "UTF8", "--no-sync"]
        if self._user:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        self._sockdir = self._base / "sock"
        self._sockdir.mkdir()
        if self._user:
            shutil.chown(self._sockdir, self._user, self._user)
        self.host, self.port = "127.0.0.1", free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._starts = 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://hotline@{self.host}:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 30) -> None:
        argv = [self._postgres, "-D", str(self._datadir), "-p", str(self.port)]
        argv += ["-h", self.host, "-k", str(self._sockdir), "-c", "fsync=off"]
        argv += ["-c", "full_page_writes=off", "-c", "max_connections=100"]
        if self._user:
            argv = ["runuser", "-u", self._user, "--", *argv]
        self._starts += 1
        log = (self._logs / f"postgres-{self._starts}.log").open("wb")
        self._proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        proc = self._proc

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {proc.returncode} while starting")
            return _accepts(self.port)

        wait_until(ready, timeout, "postgres to accept connections")

    def stop(self, timeout: float = 30) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        wait_until(lambda: not _port_open(self.port), 10, "postgres to close its port")

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self._base, ignore_errors=True)


@contextmanager
def postgres_cluster(logs: Path) -> Iterator[PostgresCluster]:
    """A started PostgresCluster, stopped and removed afterwards."""
    cluster = PostgresCluster(logs)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()
