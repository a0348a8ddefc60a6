"""Running the `hotline` command as an operator would: a child process in a directory of the
test's own, with none of the HOTLINE_* settings of the environment the tests run in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def hotline_stdout(cwd: Path, *args: str, stdin: str | None = None) -> str:
    """What `hotline ARGS` prints, run in `cwd`; a non-zero exit fails the test."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    out = subprocess.run(
        [sys.executable, "-m", "hotline", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=cwd,
        env=environ,
    )
    return out.stdout
