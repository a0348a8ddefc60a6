"""The small HTTP port of the agent and the worker: /healthz, /readyz, /metrics.

/healthz: the process answers (liveness), 200. /readyz: `recorder.health.Readiness`,
200 when ready, 503 when not, JSON either way. /metrics: the process's Prometheus
registry in the text format. Nothing else is served (404), nothing is written.

A stdlib `ThreadingHTTPServer` on a thread of its own, stopped with `shutdown()` and
joined (STYLE.md: every thread joined).
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from recorder.health import Readiness

logger = logging.getLogger(__name__)
JSON = "application/json; charset=utf-8"


def liveness(component: str) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("hotline")
    except PackageNotFoundError:
        release = "unknown"
    return {"component": component, "status": "alive", "version": release}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 10  # a client that sends nothing is dropped, its thread ends

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        readiness = self.server.readiness
        if path == "/healthz":
            self._send(200, JSON, json.dumps(liveness(readiness.component)).encode())
        elif path == "/readyz":
            report = readiness.report()
            status = 200 if report["status"] == "ready" else 503
            self._send(status, JSON, json.dumps(report, ensure_ascii=False).encode())
        elif path == "/metrics":
            self._send(200, CONTENT_TYPE_LATEST, generate_latest(self.server.registry))
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found\n")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("health port: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    readiness: Readiness
    registry: CollectorRegistry


class HealthServer:
    """Serves one component's health and metrics on `listen` (HOST:PORT) until `stop()`."""

    def __init__(self, listen: str, readiness: Readiness, registry: CollectorRegistry) -> None:
        host, _, port = listen.rpartition(":")
        self._server = _Server((host.strip("[]"), int(port)), _Handler)
        self._server.timeout = 1.0
        self._server.readiness = readiness
        self._server.registry = registry
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name=f"health-{readiness.component}",
            daemon=True,
        )

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()  # returns once serve_forever has (within poll_interval)
        self._server.server_close()
        self._thread.join(timeout=5)
