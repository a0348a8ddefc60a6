"""hotline worker: the job pipeline (transcription and log filling)."""

from __future__ import annotations

import argparse
import logging

from hotline.app import App

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
    consumer.run()  # returns on SIGINT (running jobs finish, bounded) or SIGTERM (at once)
    logger.info("worker: stopped")
    return 0
