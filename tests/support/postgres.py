"""A real PostgreSQL server on loopback, in a temporary data directory."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import free_port, require_tool, running


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


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
            argv, ready=lambda: _port_open(port), timeout=30, log=logs / "postgres.log", user=user
        ):
            yield "127.0.0.1", port
    finally:
        shutil.rmtree(base, ignore_errors=True)
