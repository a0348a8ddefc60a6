"""Starting the RTP sender process without copying the agent (fix 28)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time


class _Child:
    """The sender process, started with posix_spawn: glibc starts it with vfork semantics,
    so the agent (150 MB, ~70 threads mid-call) is not copied page table by page table
    as fork() does; a restart with subprocess.Popen stalled every thread's audio for
    150-180 ms. Only the control socket is inherited (every other descriptor Python opens
    is close-on-exec); standard input is /dev/null."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._status: int | None = None

    @classmethod
    def spawn(cls, argv: list[str], keep_fd: int) -> _Child:
        os.set_inheritable(keep_fd, True)
        try:
            pid = os.posix_spawn(
                argv[0],
                argv,
                dict(os.environ),
                file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)],
            )
        finally:
            os.set_inheritable(keep_fd, False)
        return cls(pid)

    def poll(self) -> int | None:
        if self._status is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self._status = -1
                return self._status
            if pid:
                self._status = os.waitstatus_to_exitcode(status)
        return self._status

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while (code := self.poll()) is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.005)
        return code

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
