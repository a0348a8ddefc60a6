"""deploy/ as an IT team installs it (issue 23): the systemd units pass
`systemd-analyze verify` without a warning and its offline security review at
"OK" or better, the agent's unit lets the RTP sender take real-time priority while
the others may not, and nginx accepts the reverse-proxy example.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import require_tool

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = ("hotline-agent.service", "hotline-worker.service", "hotline-admin.service")
#: systemd-analyze security's exposure, 0-100 (10.0 printed): below 4.0 is "OK".
EXPOSURE_AT_MOST = 40


def _installed(tmp_path: Path, name: str) -> Path:
    """The unit as installed here: /opt/hotline/.venv/bin/hotline is this venv's."""
    hotline = Path(sys.executable).parent / "hotline"
    assert hotline.is_file(), "scripts/bootstrap installs the hotline command into the venv"
    text = (DEPLOY / "systemd" / name).read_text(encoding="utf-8")
    path = tmp_path / name
    path.write_text(text.replace("/opt/hotline/.venv/bin/hotline", str(hotline)), "utf-8")
    return path


def _settings(name: str) -> dict[str, str]:
    lines = (DEPLOY / "systemd" / name).read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


@pytest.mark.parametrize("name", UNITS)
def test_the_unit_verifies_without_a_warning(tmp_path: Path, name: str) -> None:
    analyze = require_tool("systemd-analyze")
    unit = _installed(tmp_path, name)
    out = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # verify exits 0 on unknown keys and bad values, warning on stderr: both count here.
    assert (out.returncode, out.stderr) == (0, ""), out.stderr
    review = subprocess.run(
        [
            analyze,
            "security",
            "--offline=yes",
            f"--threshold={EXPOSURE_AT_MOST}",
            "--no-pager",
            str(unit),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert review.returncode == 0, review.stdout[-1500:]


@pytest.mark.parametrize("name", UNITS)
def test_each_unit_restarts_runs_as_hotline_and_writes_only_its_data(name: str) -> None:
    unit = _settings(name)
    assert unit["Restart"] == "on-failure" and unit["User"] == unit["Group"] == "hotline"
    assert unit["NoNewPrivileges"] == "yes" and unit["PrivateTmp"] == "yes"
    assert unit["ProtectSystem"] == "strict" and unit["ReadWritePaths"] == "/var/lib/hotline"
    assert unit["ExecStart"].endswith(name.removeprefix("hotline-").removesuffix(".service"))


def test_only_the_agent_may_take_real_time_priority() -> None:
    agent = _settings("hotline-agent.service")
    assert agent["AmbientCapabilities"] == "CAP_SYS_NICE" and agent["LimitRTPRIO"] == "10"
    assert "RestrictRealtime" not in agent  # it would refuse the sender's SCHED_RR
    for name in ("hotline-worker.service", "hotline-admin.service"):
        unit = _settings(name)
        assert unit["RestrictRealtime"] == "yes" and unit["CapabilityBoundingSet"] == ""


def test_nginx_accepts_the_reverse_proxy_example(tmp_path: Path) -> None:
    nginx = require_tool("nginx")
    key, cert = tmp_path / "desk.key", tmp_path / "desk.pem"
    subprocess.run(
        [
            require_tool("openssl"),
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=desk",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    site = (DEPLOY / "nginx" / "hotline.conf").read_text(encoding="utf-8")
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site
    site = site.replace("/etc/ssl/certs/desk.example.internal.pem", str(cert))
    site = site.replace("/etc/ssl/private/desk.example.internal.key", str(key))
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\n"
        f"events {{}}\nhttp {{\n    include {tmp_path / 'site.conf'};\n}}\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [nginx, "-t", "-c", str(main), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0 and "test is successful" in out.stderr, out.stderr


def test_the_grafana_dashboard_shows_metrics_the_components_export() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "hotline.json").read_text(encoding="utf-8"))
    exprs = " ".join(
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    )
    for metric in (
        "hotline_agent_calls_in_progress",
        "hotline_agent_calls_total",
        "hotline_agent_answer_seconds_bucket",
        "hotline_agent_rings_bucket",
        "hotline_agent_rtp_lost_packets_total",
        "hotline_agent_sip_refused_messages_total",
        "hotline_worker_queue_depth",
        "hotline_worker_job_seconds_bucket",
        "hotline_worker_transcription_real_time_factor_bucket",
        "hotline_admin_login_failures_total",
    ):
        assert metric in exprs, metric
