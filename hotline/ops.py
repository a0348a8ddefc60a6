"""Operations wiring of each long-running component: its readiness checks, its metrics
registry and its small health port (README: Running as a service)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hotline.app import App

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from recorder.health import Readiness
    from recorder.health_http import HealthServer

logger = logging.getLogger(__name__)


def readiness(app: App, component: str) -> Readiness:
    """Database, queue, disk and speech model, as every component sees them."""
    from recorder.health import (
        Readiness,
        database_check,
        disk_check,
        model_check,
        queue_check,
    )

    settings = app.settings
    return Readiness(
        component,
        {
            "database": database_check(app.engine),
            "queue": queue_check(lambda: app.call_queue.pending()),  # noqa: PLW0108 (built on first use)
            "disk": disk_check(settings.paths.data_dir, settings.paths.min_free_mb),
            "model": model_check(settings.transcription.model_path),
        },
    )


def health_server(
    app: App, component: str, listen: str, registry: CollectorRegistry
) -> HealthServer | None:
    """The component's health port, started; None when `listen` is empty or taken (a
    warning then: the port is for monitoring, the component works without it)."""
    from recorder.health_http import HealthServer

    if not listen:
        return None
    try:
        server = HealthServer(listen, readiness(app, component), registry).start()
    except OSError as exc:
        logger.warning("%s: no health port on %s: %s", component, listen, exc.strerror)
        return None
    logger.info("%s: /healthz, /readyz and /metrics on http://%s/", component, server.address)
    return server
