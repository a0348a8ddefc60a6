"""The durable job queue behind the pipeline (huey; docs/job-queue.md says why).

Embedded default: SqliteHuey in data_dir/queue.db, no server. Several
machines: RedisHuey (queue.backend = "redis") with one PostgreSQL database.
Tests: MemoryHuey in immediate mode. Tasks are registered on the instance
built here, in the composition root; there is no module-level queue. What a job
does is the handler the composition root injects (transcripts.pipeline.Pipeline):
this module knows only the `JobHandler` protocol.

A job that fails is retried with exponential back-off (retry_delay_s, then
twice that, ...) up to queue.retries times, then marked failed; the
periodic sweep (every minute) picks up failed jobs an hour later, jobs that
wait for a speech model, and calls whose job was lost with a killed worker.
Each night (transcription.retrain_at) the category model is trained again from
clerks' corrections when there are new ones (transcripts/learned.py).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.exceptions import RetryTask
from redis.exceptions import RedisError

from recorder.errors import CallNotReady
from recorder.settings import OrganizationSettings, PathSettings, QueueSettings

logger = logging.getLogger(__name__)


class _Retraining(Protocol):
    @property
    def retrain_at(self) -> str: ...


class WorkerSettings(Protocol):
    """The sections the queue reads ([transcription] only for `retrain_at`)."""

    @property
    def organization(self) -> OrganizationSettings: ...
    @property
    def paths(self) -> PathSettings: ...
    @property
    def queue(self) -> QueueSettings: ...
    @property
    def transcription(self) -> _Retraining: ...


class JobHandler(Protocol):
    """What a worker does with a call's job; raises CallNotReady to be tried later."""

    def process_call(self, call_id: str) -> object: ...
    def failed(self, call_id: str, error: str, final: bool) -> int: ...
    def sweep(self, enqueue: Callable[[str], object]) -> list[str]: ...
    def retrain_categories(self) -> object: ...


#: What a queue that is away raises on enqueue (Redis down or restarting; SQLite locked).
QUEUE_ERRORS = (RedisError, sqlite3.Error, OSError)


def make_huey(settings: WorkerSettings) -> Huey:
    queue = settings.queue
    if queue.backend == "redis":
        # A Redis that does not answer a connection is given up after 5 s (readiness
        # probes and enqueues wait no longer); reads keep huey's own timeouts.
        from redis import ConnectionPool

        pool = ConnectionPool.from_url(queue.redis_url, socket_connect_timeout=5)
        return RedisHuey("hotline", connection_pool=pool, results=False)
    if queue.backend == "memory":
        return MemoryHuey("hotline", immediate=True, results=False)
    path = settings.paths.data_dir / "queue.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("hotline", filename=str(path), results=False, timeout=30)


def _utc_clock(local: str, settings: WorkerSettings) -> tuple[str, str]:
    """HH:MM in the organisation's time zone as huey's crontab hour and minute (huey keeps
    UTC), at today's offset."""
    hour, minute = (int(part) for part in local.split(":"))
    zone = ZoneInfo(settings.organization.timezone)
    today = datetime.now(zone).replace(hour=hour, minute=minute, second=0, microsecond=0)
    at = today.astimezone(UTC)
    return str(at.hour), str(at.minute)


class CallQueue:
    """`enqueue(call_id)` from the agent (DatabaseCallLog's on_ended); tasks run in `hotline worker`."""

    def __init__(
        self, huey: Huey, settings: WorkerSettings, pipeline: Callable[[], JobHandler]
    ) -> None:
        self.huey = huey
        retries, base_delay = settings.queue.retries, settings.queue.retry_delay_s

        @huey.task(name="process_call", retries=0)
        def process_call(call_id: str) -> None:
            work = pipeline()
            try:
                work.process_call(call_id)
            except CallNotReady:
                raise RetryTask(delay=base_delay) from None
            except Exception as exc:
                attempts = work.failed(call_id, f"{type(exc).__name__}: {exc}", final=False)
                if attempts > retries:
                    work.failed(call_id, f"{type(exc).__name__}: {exc}", final=True)
                    logger.exception(
                        "call %s failed %d times; the sweep retries it later", call_id, attempts
                    )
                    return
                logger.warning("call %s failed (attempt %d): %s", call_id, attempts, exc)
                raise RetryTask(delay=base_delay * 2 ** (attempts - 1)) from exc

        @huey.periodic_task(crontab(minute="*"), name="sweep")
        def sweep() -> None:
            due = pipeline().sweep(self.enqueue)
            if due:
                logger.info("sweep: %d calls enqueued again", len(due))

        if settings.transcription.retrain_at:
            hour, minute = _utc_clock(settings.transcription.retrain_at, settings)

            @huey.periodic_task(crontab(minute=minute, hour=hour), name="retrain_categories")
            def retrain_categories() -> None:
                pipeline().retrain_categories()

            self.retrain_categories: Any = retrain_categories

        self._process_call: Any = process_call
        self.sweep: Any = sweep

    def enqueue(self, call_id: str) -> None:
        """Queue the call's job. With the queue away (Redis restarting, the SQLite queue
        locked past its timeout) the call is not lost: its record is in the database, and
        a worker's sweep queues it once it has waited `recorder.jobs.LOST_AFTER`; the
        caller (the agent's call log) goes on."""
        try:
            self._process_call(call_id)
        except QUEUE_ERRORS as exc:
            logger.warning(
                "[%s] job queue unreachable (%s: %s): a worker's sweep queues the call "
                "when the queue is back",
                call_id,
                type(exc).__name__,
                str(exc).strip().splitlines()[0] if str(exc).strip() else "",
            )

    def pending(self) -> int:
        return int(self.huey.pending_count())
