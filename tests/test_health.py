"""Health and metrics for the IT team (issue 23): the desk's /healthz, /readyz and
/metrics, the readiness checks against real databases (SQLite removed, PostgreSQL
stopped) and a real Redis queue (stopped), the worker's metrics on a real huey and its
health port in a real worker process, and `hotline status` exit codes
against the real health port.

What is kept: a probe changes nothing — a removed SQLite file is reported, not made
again empty; the bodies carry no caller's number.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from huey import MemoryHuey
from prometheus_client import CollectorRegistry

from hotline.cli import main
from hotline.settings import load_settings
from recorder import db
from recorder.health import Check, Readiness, database_check, disk_check, model_check, queue_check
from recorder.health_http import HealthServer
from recorder.queue import make_huey
from recorder.queue_metrics import WorkerMetrics
from tests.browser import desk
from tests.support.postgres import PostgresCluster
from tests.support.processes import free_port, require_tool, running
from tests.test_admin import Desk, build

#: A mobile number standing alone, not digits inside a number such as a float timestamp
#: (prometheus' `_created` series: 1.7966814877174838e+09 holds "14877174838").
PHONE = re.compile(r"(?<![\d.])1\d{10}(?!\d)")


@pytest.fixture(name="web")
def web_fixture(tmp_path: Path) -> Iterator[Desk]:
    yield from build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}")


def test_healthz_answers_without_a_login(web: Desk) -> None:
    response = web.client.get("/healthz")
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["component"] == "admin" and response.json["status"] == "alive"


def test_readyz_with_the_database_up_then_its_file_removed(web: Desk, tmp_path: Path) -> None:
    response = web.client.get("/readyz")
    assert response.status_code == 200, response.text
    report = response.json
    assert report is not None and report["status"] == "ready"
    checks = report["checks"]
    assert checks["database"] == {"ok": True, "detail": "sqlite, at the code's schema"}
    assert checks["disk"]["ok"] and checks["disk"]["detail"].endswith("MB free")
    # No model: said, and still ready (calls are answered and recorded without one).
    assert checks["model"]["ok"] and "no speech model configured" in checks["model"]["detail"]
    assert not PHONE.search(response.text)  # the seeded caller 13812345678 is not in it

    web.app.engine.dispose()
    (tmp_path / "hotline.db").unlink()
    response = web.client.get("/readyz")
    assert response.status_code == 503
    assert response.json is not None and response.json["status"] == "not ready"
    assert response.json["checks"]["database"] == {
        "ok": False,
        "detail": "the SQLite database file is missing",
    }
    assert not (tmp_path / "hotline.db").exists()  # reported, not created again empty
    assert web.client.get("/healthz").status_code == 200  # alive all the same


def test_metrics_only_to_allowed_clients_and_counting_refused_logins(web: Desk) -> None:
    assert web.login("clerk", "wrong password") == 401
    assert web.login("nobody", "wrong password") == 401
    response = web.client.get("/metrics")
    assert response.status_code == 200
    assert 'hotline_admin_login_failures_total{reason="refused"} 2.0' in response.text
    assert not PHONE.search(response.text)
    outsider = web.flask.test_client()
    outsider.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert outsider.get("/metrics").status_code == 403
    assert outsider.get("/healthz").status_code == 200  # liveness is for anyone


def test_metrics_allowed_to_a_configured_network(tmp_path: Path) -> None:
    for web in build(
        tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}", metrics_allow=["192.0.2.0/24"]
    ):
        prometheus = web.flask.test_client()
        prometheus.environ_base["REMOTE_ADDR"] = "192.0.2.7"
        assert prometheus.get("/metrics").status_code == 200
        assert web.client.get("/metrics").status_code == 403  # loopback is no longer listed


def test_postgresql_stopped_is_unreachable_then_ready_again(
    stoppable_pg: PostgresCluster,
) -> None:
    engine = db.make_engine(stoppable_pg.url())
    db.upgrade(engine)
    check = database_check(engine)
    try:
        assert check().ok and check().detail == "postgresql, at the code's schema"
        stoppable_pg.stop()
        try:
            assert (check().ok, check().detail) == (False, "unreachable")
        finally:
            stoppable_pg.start()
        assert check().ok
    finally:
        engine.dispose()


def test_disk_below_the_threshold_is_not_ready_a_model_is_said_either_way(
    tmp_path: Path,
) -> None:
    full = disk_check(tmp_path, 10**12)()  # an exabyte free: no machine has it
    assert not full.ok and full.detail.endswith(f"below {10**12} MB")
    assert disk_check(tmp_path, 0)().ok
    assert model_check("")().ok
    assert model_check(str(tmp_path))().detail == "speech model configured"
    missing = model_check(str(tmp_path / "none"))()
    assert missing.ok and "missing" in missing.detail


def test_worker_metrics_count_jobs_depth_and_real_time_factor() -> None:
    registry = CollectorRegistry()
    queued = MemoryHuey("queued", immediate=False)
    WorkerMetrics(registry, queued)

    @queued.task(name="process_call")
    def process_call(call_id: str) -> str:
        return call_id

    process_call("a")
    process_call("b")
    assert registry.get_sample_value("hotline_worker_queue_depth") == 2.0
    assert queue_check(queued.pending_count)().detail == "2 jobs waiting"

    immediate = MemoryHuey("immediate", immediate=True)
    registry = CollectorRegistry()
    metrics = WorkerMetrics(registry, immediate)

    @immediate.task(name="process_call")
    def run_call(call_id: str) -> str:
        return call_id

    run_call("c")
    done = {"outcome": "done"}
    assert registry.get_sample_value("hotline_worker_job_seconds_count", done) == 1.0
    metrics.transcribed(10.0, 2.0)
    rtf = "hotline_worker_transcription_real_time_factor"
    assert registry.get_sample_value(f"{rtf}_sum") == pytest.approx(0.2)
    assert registry.get_sample_value("hotline_worker_transcribed_audio_seconds_total") == 10.0


def test_a_redis_queue_ready_then_stopped(tmp_path: Path) -> None:
    port = free_port()
    queue = {"backend": ("redis", "--"), "redis_url": (f"redis://127.0.0.1:{port}/0", "--")}
    huey = make_huey(load_settings(None, {"queue": queue}, environ={}).settings)
    # Every connection given up after 5 s: a probe never hangs on a silent Redis.
    assert huey.storage.conn.connection_pool.connection_kwargs["socket_connect_timeout"] == 5
    check = queue_check(huey.pending_count)
    server = [require_tool("redis-server"), "--port", str(port), "--bind", "127.0.0.1"]
    server += ["--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    with running(server, ready=lambda: _answers(port), timeout=20):
        assert check() == Check(True, "0 jobs waiting")
    result = check()  # stopped: connection refused
    assert (result.ok, result.detail) == (False, "unreachable (ConnectionError)")


def _answers(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _config(tmp_path: Path, agent: str, worker: str) -> Path:
    config = tmp_path / "hotline.toml"
    config.write_text(
        f'[paths]\ndata_dir = "{tmp_path / "var"}"\n'
        f'[agent]\nhealth_listen = "{agent}"\n[queue]\nhealth_listen = "{worker}"\n',
        encoding="utf-8",
    )
    return config


def test_status_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = desk.make_app(tmp_path, f"sqlite:///{tmp_path / 'var' / 'hotline.db'}")
    ready = Readiness("agent", {"database": database_check(app.engine)})
    closed = f"127.0.0.1:{free_port()}"  # nothing listens there
    server = HealthServer("127.0.0.1:0", ready, CollectorRegistry()).start()
    try:
        config = str(_config(tmp_path, server.address, closed))
        assert main(["--config", config, "status", "agent"]) == 0
        out = capsys.readouterr().out
        assert f"agent   ready      http://{server.address}/readyz" in out
        assert "database  ok    sqlite, at the code's schema" in out

        assert main(["--config", config, "status", "agent", "worker"]) == 1
        assert "worker  down: Connection refused" in capsys.readouterr().out

        app.engine.dispose()
        (tmp_path / "var" / "hotline.db").unlink()
        assert main(["--config", config, "status", "agent"]) == 1
        out = capsys.readouterr().out
        assert "agent   not ready" in out
        assert "database  FAIL  the SQLite database file is missing" in out
    finally:
        server.stop()
    assert main(["--config", config, "status", "agent"]) == 1  # stopped: down
    assert "agent   down: Connection refused" in capsys.readouterr().out


def test_the_worker_serves_its_health_port_and_stops_cleanly(tmp_path: Path) -> None:
    health = f"127.0.0.1:{free_port()}"
    config = _config(tmp_path, "", health)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    base = [sys.executable, "-m", "hotline", "--config", str(config)]
    subprocess.run([*base, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)
    log = tmp_path / "worker.log"
    started = lambda: "/metrics on" in log.read_text(errors="replace")  # noqa: E731
    with running([*base, "worker"], ready=started, timeout=60, log=log, env=env) as proc:
        with urllib.request.urlopen(f"http://{health}/readyz", timeout=5) as response:
            report = json.loads(response.read())
        assert report["component"] == "worker" and report["status"] == "ready", report
        # The sweep (a periodic job) may be waiting already.
        assert re.fullmatch(r"\d+ jobs? waiting", report["checks"]["queue"]["detail"]), report
        with urllib.request.urlopen(f"http://{health}/metrics", timeout=5) as response:
            text = response.read().decode()
        assert re.search(r"^hotline_worker_queue_depth \d+\.0$", text, re.M), text
        assert "process_cpu_seconds_total" in text
        proc.send_signal(signal.SIGINT)  # a graceful stop: jobs finish, the port closes
        assert proc.wait(timeout=20) == 0
    assert "worker: stopped" in log.read_text()
