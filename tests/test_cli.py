"""The `hotline` command as a user runs it: one clear line per mistake, non-zero exit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.cli import COMMANDS
from tests.conftest import new_pg_database
from tests.support.processes import free_port


def hotline(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    environ.update(env or {})
    environ["HOME"] = str(cwd)
    return subprocess.run(
        [sys.executable, "-m", "hotline", *args],
        cwd=cwd,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_every_subcommand(tmp_path: Path) -> None:
    out = hotline("--help", cwd=tmp_path)
    assert out.returncode == 0
    for name in (
        "agent",
        "admin",
        "worker",
        "demo",
        "ingest",
        "classify",
        "check-greeting",
        "models",
        "db",
        "users",
        "run",
        "recordings",
        "matters",
    ):
        assert f"    {name} " in out.stdout


def test_an_unknown_subcommand_is_one_line(tmp_path: Path) -> None:
    out = hotline("agnet", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "invalid choice: 'agnet'" in out.stderr and "hotline --help" in out.stderr


def test_a_malformed_config_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "hotline.toml").write_text("[sip]\nmax_calls = 'x'\n")
    out = hotline("db", "current", cwd=tmp_path)
    assert out.returncode == 78
    assert out.stderr == (
        "hotline db: invalid configuration: sip.max_calls in hotline.toml: "
        "Input should be a valid integer, unable to parse string as an integer (got 'x')\n"
    )


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    out = hotline(
        "--database-url", "postgresql://u:pw@127.0.0.1:9/x", "db", "upgrade", cwd=tmp_path
    )
    assert out.returncode == 69
    assert out.stderr.startswith(
        "hotline db: cannot reach database postgresql+psycopg://u:***@127.0.0.1:9/x"
    )
    assert out.stderr.count("\n") == 1 and "pw" not in out.stderr


def test_upgrade_then_users_then_an_outdated_schema(tmp_path: Path) -> None:
    assert hotline("db", "upgrade", cwd=tmp_path).returncode == 0
    assert (tmp_path / "var" / "hotline.db").exists()
    out = hotline(
        "users",
        "add",
        "wangfang",
        "--name",
        "王芳",
        "--job-number",
        "1023",
        "--extension",
        "801",
        "--password-stdin",
        cwd=tmp_path,
        stdin="correct horse battery\n",
    )
    assert out.returncode == 0, out.stderr
    assert "added clerk wangfang (王芳, 工号 1023)" in out.stdout
    out = hotline(
        "users",
        "add",
        "xiaoli",
        "--name",
        "小李",
        "--job-number",
        "1024",
        "--not-independent",
        "--password-stdin",
        cwd=tmp_path,
        stdin="short\n",
    )
    assert out.returncode == 1 and "password too short" in out.stderr
    listing = hotline("users", "list", cwd=tmp_path).stdout
    assert "wangfang" in listing and "801" in listing

    assert hotline("db", "downgrade", "base", cwd=tmp_path).returncode == 0
    out = hotline("users", "list", cwd=tmp_path)
    assert out.returncode == 69
    assert "has no hotline schema yet: run `hotline db upgrade`" in out.stderr


NOT_READY = [m.NAME for m in COMMANDS if not getattr(m, "READY", True)]
ARGS = {"models": ["list"], "recordings": ["purge"], "classify": ["x"], "check-greeting": ["x"]}


@pytest.mark.parametrize("name", NOT_READY or ["(all ready)"])
def test_subcommands_not_yet_built_say_so(tmp_path: Path, name: str) -> None:
    if name == "(all ready)":
        return  # every subcommand's issue is done
    out = hotline(name, *ARGS.get(name, []), cwd=tmp_path)
    assert out.returncode == 3
    assert "not available yet" in out.stderr and "issue #" in out.stderr


def test_db_upgrade_on_postgresql(tmp_path: Path, pg_server: tuple[str, int]) -> None:
    url = new_pg_database(pg_server)
    out = hotline("--database-url", url, "db", "upgrade", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert hotline("--database-url", url, "db", "current", cwd=tmp_path).stdout.endswith(
        "(up to date)\n"
    )


def test_run_starts_what_exists_on_embedded_defaults(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    environ["HOME"] = str(tmp_path)
    # Private ports, so the test never collides with a desk running on this machine.
    environ["HOTLINE_ADMIN_LISTEN"] = f"127.0.0.1:{free_port()}"
    environ["HOTLINE_SIP_LISTEN"] = f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotline", "run", "--no-demo"],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "nothing to run yet" in line or "press Ctrl-C" in line:
                break
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = "".join(lines)
    assert "created user 'admin'" in output, output
    assert (tmp_path / "var" / "admin-password.txt").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "var" / "hotline.db").exists()
