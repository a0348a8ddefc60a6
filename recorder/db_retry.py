"""Retrying while the database is unreachable: which errors mean "try again later" (as
opposed to an event the database refuses), and the back-off between attempts. The
journal's applier (recorder/journal.py) and `hotline ingest` use it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from recorder.errors import DatabaseUnreachable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """Waits between attempts while the database is unreachable: first, doubled, at most."""

    first_s: float = 0.2
    max_s: float = 10.0


def is_unreachable(exc: BaseException) -> bool:
    """A connection problem (try again later), as opposed to an event the database refuses."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc,
        OperationalError
        | InterfaceError
        | DisconnectionError
        | PoolTimeout
        | DatabaseUnreachable
        | ConnectionError,
    )


def retry_while_unreachable(
    attempt: Callable[[], None], backoff: Backoff, halt: threading.Event
) -> bool:
    """Call `attempt` until it succeeds, waiting with back-off while the database is
    unreachable; False if `halt` is set meanwhile. Any other error is raised."""
    delay, waited = backoff.first_s, False
    while True:
        try:
            attempt()
        except Exception as exc:
            if not is_unreachable(exc):
                raise
            if not waited:
                logger.warning(
                    "database unreachable (%s): call events wait in the journal, "
                    "retrying with back-off",
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                )
            waited = True
            if halt.wait(delay):
                return False
            delay = min(delay * 2, backoff.max_s)
        else:
            if waited:
                logger.warning("database reachable again: applying the journal")
            return True
