"""hotline run: the whole desk on one machine (agent + admin + worker + a demo call).

The embedded defaults need no server: SQLite and recordings under the data
directory, the job queue in SQLite. Each component runs as its own child
process (so one crashing does not take the others down); Ctrl-C stops all.
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import threading
import time
from types import FrameType

from hotline.app import App
from hotline.commands import admin, agent, demo, worker

NAME = "run"
HELP = "run the whole desk: agent + admin + worker, and place a demo call (embedded defaults)"

logger = logging.getLogger(__name__)
COMPONENTS = (agent, admin, worker)
#: How long the children get, together, to stop after Ctrl-C before they are killed.
STOP_S = 8.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-demo", action="store_true", help="do not place the demo call")


def _global_args(args: argparse.Namespace) -> list[str]:
    out: list[str] = []
    for flag in ("config", "data_dir", "database_url"):
        value = getattr(args, flag)
        if value:
            out += [f"--{flag.replace('_', '-')}", str(value)]
    return out


def run(args: argparse.Namespace, app: App) -> int:
    from recorder import db

    settings = app.settings
    if not settings.database.url:
        # The embedded SQLite database is ours to create and migrate.
        db.upgrade(app.engine)
    app.ready_database()
    from hotline.bootstrap import ensure_first_admin

    ensure_first_admin(app)

    children: dict[str, subprocess.Popen[bytes]] = {}
    base = [sys.executable, "-m", "hotline", *_global_args(args)]
    for module in COMPONENTS:
        if not getattr(module, "READY", False):
            print(
                f"hotline run: {module.NAME}: not yet available (`hotline {module.NAME}` says why)"
            )
            continue
        children[module.NAME] = subprocess.Popen([*base, module.NAME])
    if not args.no_demo and getattr(demo, "READY", False) and "agent" in children:
        children["demo"] = subprocess.Popen([*base, "demo", "--use-running-agent"])
    if not children:
        print(
            "hotline run: nothing to run yet; the database is ready at",
            db.redact(str(app.engine.url)),
        )
        return 0

    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    print(f"hotline run: started {', '.join(children)}; press Ctrl-C to stop")
    exit_code = 0
    while not stop.wait(0.5):
        for name, child in list(children.items()):
            code = child.poll()
            if code is None:
                continue
            del children[name]
            if name != "demo" and code != 0:
                logger.error("%s exited with status %s; stopping the others", name, code)
                exit_code = code
                stop.set()
        if not any(name != "demo" for name in children):
            break
    stop_children(children)
    return exit_code


def stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each child still running, then one deadline for all (`STOP_S`), then SIGKILL;
    says which child was slow, so a hang at Ctrl-C is named, not guessed."""
    started = time.monotonic()
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = started + STOP_S
    for name, child in children.items():
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            logger.error("%s did not stop within %.0f s of SIGTERM; killed", name, STOP_S)
            child.kill()
            child.wait(timeout=STOP_S)
    print(f"hotline run: stopped in {time.monotonic() - started:.1f} s", flush=True)
