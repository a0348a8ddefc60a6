"""Is this process ready to do its work? The checks behind every component's /readyz.

Each check answers in a line an operator can act on, with no personal data and no
secrets (no database URL, no caller): the database reachable at the code's schema,
the job queue reachable, the data directory's disk with room, and whether a speech
model is configured. A missing model does not make a component unready: calls are
answered and recorded without one, and transcription waits for it (README).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from recorder.errors import DatabaseError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


@dataclass
class Readiness:
    """The checks of one component; `report()` runs them, each bounded by its library's
    own timeouts (database connect_timeout, the queue's socket timeout)."""

    component: str
    checks: dict[str, Callable[[], Check]] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        results = {name: _run(name, check) for name, check in self.checks.items()}
        ready = all(result.ok for result in results.values())
        return {
            "component": self.component,
            "status": "ready" if ready else "not ready",
            "checks": {name: {"ok": r.ok, "detail": r.detail} for name, r in results.items()},
        }


def _run(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:  # a probe never takes the component down; it says why
        logger.warning("readiness check %s failed: %s", name, exc)
        return Check(False, f"check failed: {type(exc).__name__}")


def database_check(engine: Engine) -> Callable[[], Check]:
    """Reachable and at the code's schema. A missing SQLite file is reported, not created."""
    from recorder.db import check_schema
    from recorder.errors import DatabaseUnreachable, SchemaOutdated

    def check() -> Check:
        url = make_url(str(engine.url))
        file = url.database if url.get_backend_name() == "sqlite" else None
        if file not in (None, "", ":memory:") and not Path(str(file)).is_file():
            return Check(False, "the SQLite database file is missing")
        try:
            check_schema(engine)
        except SchemaOutdated:
            return Check(False, "not at this hotline's schema: run `hotline db upgrade`")
        except DatabaseUnreachable:
            return Check(False, "unreachable")
        except DatabaseError as exc:
            return Check(False, f"error: {type(exc).__name__}")
        return Check(True, f"{url.get_backend_name()}, at the code's schema")

    return check


def queue_check(pending: Callable[[], int]) -> Callable[[], Check]:
    """The job queue answers (huey's pending count: a read on SQLite or Redis)."""

    def check() -> Check:
        try:
            count = pending()
        except Exception as exc:  # redis.ConnectionError, sqlite3.OperationalError, ...
            return Check(False, f"unreachable ({type(exc).__name__})")
        return Check(True, f"{count} job{'' if count == 1 else 's'} waiting")

    return check


def disk_check(data_dir: Path, min_free_mb: int) -> Callable[[], Check]:
    """The data directory's disk has at least `min_free_mb` free (recordings go there)."""

    def check() -> Check:
        try:
            free_mb = shutil.disk_usage(data_dir).free // (1024 * 1024)
        except OSError as exc:
            return Check(False, f"data directory unreadable ({exc.strerror})")
        ok = free_mb >= min_free_mb
        return Check(ok, f"{free_mb} MB free{'' if ok else f', below {min_free_mb} MB'}")

    return check


def model_check(model_path: str) -> Callable[[], Check]:
    """Configured or not, said either way; never unready for it."""

    def check() -> Check:
        if not model_path:
            return Check(True, "no speech model configured: calls are recorded, not transcribed")
        if not Path(model_path).is_dir():
            return Check(True, "speech model configured but its directory is missing")
        return Check(True, "speech model configured")

    return check
