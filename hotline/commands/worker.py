"""hotline worker: the job pipeline (transcription and log filling)."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from hotline.app import App

if TYPE_CHECKING:
    from recorder.health_http import HealthServer

READY = True
NAME = "worker"
HELP = "run the transcription and log-filling workers"

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers", type=int, metavar="N", help="worker threads (default from settings)"
    )


def run(args: argparse.Namespace, app: App) -> int:
    app.ready_database()
    queue = app.call_queue
    workers = args.workers or app.settings.queue.workers
    # Calls whose job was lost (a killed worker) or that wait for a model.
    due = app.pipeline.sweep(queue.enqueue)
    logger.info("worker: %d workers, %d calls picked up at start", workers, len(due))
    # Poll an idle queue at most once a second (huey's default backs off to 10 s).
    consumer = queue.huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=True,
        initial_delay=0.1,
        backoff=1.15,
        max_delay=1.0,
        # Every wait bounded: a graceful stop waits this long for a running job.
        shutdown_timeout=app.settings.queue.stop_timeout_s,
    )
    health = _health(app)
    try:
        consumer.run()  # returns on SIGINT (running jobs finish, bounded) or SIGTERM (at once)
    finally:
        if health is not None:
            health.stop()
    logger.info("worker: stopped")
    return 0


def _health(app: App) -> HealthServer | None:
    """The worker's metrics (queue depth, job times, real-time factor) and health port."""
    from prometheus_client import CollectorRegistry

    from hotline.ops import health_server
    from recorder.queue_metrics import WorkerMetrics

    metrics = WorkerMetrics(CollectorRegistry(), app.call_queue.huey)
    app.pipeline.on_transcribed = metrics.transcribed
    return health_server(app, "worker", app.settings.queue.health_listen, metrics.registry)
