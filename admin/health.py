"""The desk's /healthz, /readyz and /metrics: no login, no personal data.

/healthz: the desk answers. /readyz: the readiness checks (recorder/health.py) the
composition root gave (`extensions["readiness"]`: database, queue, disk, model), or
the desk's own (database, disk, model); 503 when not ready. /metrics: Prometheus text,
only to clients in `admin.metrics_allow` (loopback by default; behind a trusted proxy
the client is the address it forwarded for, admin/proxies.py), else 403.
"""

from __future__ import annotations

import ipaddress
import json

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    ProcessCollector,
    generate_latest,
)

from admin.db import settings
from recorder.health import Readiness, database_check, disk_check, model_check
from recorder.health_http import liveness

bp = Blueprint("health", __name__)


class AdminMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        ProcessCollector(registry=registry)  # CPU, memory, open files of this process
        self.login_failures = Counter(
            "login_failures",
            "Logins refused: a wrong name or password, or throttled (too many failures)",
            ["reason"],
            namespace="hotline_admin",
            registry=registry,
        )


def init_app(web: Flask) -> None:
    web.extensions["metrics"] = AdminMetrics(CollectorRegistry())
    web.register_blueprint(bp)


def metrics() -> AdminMetrics:
    found: AdminMetrics = current_app.extensions["metrics"]
    return found


def _readiness() -> Readiness:
    given: Readiness | None = current_app.extensions.get("readiness")
    if given is not None:
        return given
    desk = settings()
    engine = current_app.extensions["hotline_sessions"].kw["bind"]
    return Readiness(
        "admin",
        {
            "database": database_check(engine),
            "disk": disk_check(desk.paths.data_dir, desk.paths.min_free_mb),
            "model": model_check(desk.transcription.model_path),
        },
    )


def _json(body: object, status: int) -> Response:
    text = json.dumps(body, ensure_ascii=False)
    response = Response(text, status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> Response:
    return _json(liveness("admin"), 200)


@bp.get("/readyz")
def readyz() -> Response:
    report = _readiness().report()
    return _json(report, 200 if report["status"] == "ready" else 503)


@bp.get("/metrics")
def metrics_text() -> Response:
    client = ipaddress.ip_address((request.remote_addr or "0.0.0.0").strip("[]"))  # noqa: S104
    allowed = settings().admin.metrics_allow
    if not any(client in ipaddress.ip_network(net, strict=False) for net in allowed):
        abort(403)
    return Response(generate_latest(metrics().registry), mimetype=CONTENT_TYPE_LATEST)
