"""Start real peers (PostgreSQL, Kamailio, baresip, ...) for tests, and always end them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path


def require_tool(name: str) -> str:
    """The path of a tool the test command installs; fail loudly (never skip) without it."""
    path = shutil.which(name) or next(
        (
            str(p)
            for p in (Path("/usr/lib/postgresql/15/bin") / name, Path("/usr/sbin") / name)
            if p.exists()
        ),
        None,
    )
    if path is None:
        raise RuntimeError(
            f"{name} is not installed: run scripts/install-system-deps (scripts/test does)"
        )
    return path


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (the agent's RTP sender process), by the parent
    pid in /proc/N/stat: /proc/N/task/T/children would race with threads ending."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(name))
    return found


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


@contextmanager
def running(
    argv: Sequence[str],
    *,
    ready: Callable[[], bool] | None = None,
    timeout: float = 20,
    log: Path | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a process for the duration of a with-block; kill it by PID afterwards."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    cmd = list(argv)
    if user and os.geteuid() == 0:
        cmd = ["runuser", "-u", user, "--", *cmd]
    proc = subprocess.Popen(
        cmd,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        if ready is not None:

            def _check() -> bool:
                if proc.poll() is not None:
                    tail = log.read_text(errors="replace")[-2000:] if log else ""
                    raise RuntimeError(
                        f"{argv[0]} exited with {proc.returncode} while starting\n{tail}"
                    )
                return ready()

            wait_until(_check, timeout, f"{argv[0]} to be ready")
        yield proc
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=5)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if log:
            out.close()  # type: ignore[union-attr]
