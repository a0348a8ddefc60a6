"""Real SIP peers on loopback: the agent as `hotline agent`, Kamailio, SIPp.

`agent(...)` starts the agent in a subprocess on free ports with a
temporary data directory and SQLite, and a short phone script (a copy of
config/ with a shorter greeting, so calls are quick); it yields a Site with
the agent's address and a session factory on its database. The
robustness tests (torture messages, scans) reuse it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from hotline.settings import CONFIG_DIR
from recorder import db
from recorder.stored_paths import resolve
from tests.support.processes import free_port, require_tool, running

HERE = Path(__file__).parent
SHORT_GREETING = "您好，幸福家园，8001号为您服务，请问有什么可以帮您？"
SHORT_CLOSING = "谢谢您的来电，再见。"


@dataclass
class Site:
    root: Path
    port: int
    sessions: sessionmaker[Session]
    log: Path
    pid: int = 0
    """The agent process (for /proc/<pid>/fd and /proc/<pid>/task)."""

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def file(self, stored: str) -> str:
        """A recording's file from its row (kept relative to the agent's data directory),
        as text for `wave.open`."""
        return str(resolve(self.root / "var", stored))


def prompt_cache(config_dir: Path) -> str:
    """The session's prompt cache, beside its config copy: prompts are keyed by words,
    voice and rate, so every agent of the session shares them (paths.prompt_cache_dir)
    instead of each synthesising thirty prompts at start (test_readme still does)."""
    return str(config_dir.parent / "prompts")


def udp_port() -> int:
    return free_port(socket.SOCK_DGRAM)


@pytest.fixture(scope="session")
def short_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("config") / "config"
    shutil.copytree(CONFIG_DIR, target)
    script = target / "scripts" / "zh-CN.toml"
    text = script.read_text(encoding="utf-8")
    replacements = {
        "greeting = ": f'greeting = "{SHORT_GREETING}"',
        "default = ": f'default = "{SHORT_CLOSING}"',
    }
    lines = [
        next((new for start, new in replacements.items() if line.startswith(start)), line)
        for line in text.splitlines()
    ]
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


@pytest.fixture
def agent(tmp_path: Path, short_config: Path) -> Callable[..., AbstractContextManager[Site]]:
    @contextmanager
    def start(*flags: str, **settings: str) -> Iterator[Site]:
        port = udp_port()
        rtp = free_port() // 10 * 10 % 40000 + 20000
        sections = {
            "paths": {
                "data_dir": f'"{tmp_path / "var"}"',
                "prompt_cache_dir": f'"{prompt_cache(short_config)}"',
            },
            "sip": {
                "listen": f'"127.0.0.1:{port}"',
                "rtp_port_low": str(rtp),
                "rtp_port_high": str(rtp + 200),
            },
            "ringing": {"answer_after_rings": "1", "ring_on_s": "0.5", "ring_off_s": "0.5"},
            # The plain script (greeting, record, closing); test_flow_calls uses the flow.
            "agent": {"mode": '"message"', "record_seconds": "2.0"},
        }
        for key, value in settings.items():
            section, _, name = key.partition("__")
            sections.setdefault(section, {})[name] = value
        toml = "".join(
            f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
            for name, values in sections.items()
        )
        config = tmp_path / "hotline.toml"
        config.write_text(toml, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        env["HOTLINE_CONFIG_DIR"] = str(short_config)
        base = [sys.executable, "-m", "hotline", "--config", str(config)]
        subprocess.run(
            [*base, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60
        )
        log = tmp_path / "agent.log"
        ready = lambda: "agent ready" in log.read_text(errors="replace")  # noqa: E731
        with running([*base, "agent", *flags], ready=ready, timeout=90, log=log, env=env) as proc:
            engine = db.make_engine(f"sqlite:///{tmp_path / 'var' / 'hotline.db'}")
            try:
                yield Site(tmp_path, port, db.session_factory(engine), log, proc.pid)
            finally:
                engine.dispose()

    return start


@contextmanager
def _kamailio(
    tmp_path: Path, config: str, port: int | None = None, log_name: str = "kamailio.log"
) -> Iterator[int]:
    """Kamailio with `config` on `port` (a free one if None), logging to tmp_path/log_name."""
    port = port or udp_port()
    cfg = tmp_path / config
    cfg.write_text((HERE / config).read_text().replace("KAMAILIO_PORT", str(port)))
    log = tmp_path / log_name
    with running(
        [require_tool("kamailio"), "-f", str(cfg), "-DD", "-E", "-w", str(tmp_path)],
        ready=lambda: log.stat().st_size > 0,
        timeout=20,
        log=log,
    ):
        yield port


@pytest.fixture
def kamailio(tmp_path: Path) -> Iterator[int]:
    """A Kamailio registrar/proxy on a free loopback port (no authentication)."""
    with _kamailio(tmp_path, "kamailio.cfg") as port:
        yield port


@pytest.fixture
def kamailio_rr(tmp_path: Path) -> Iterator[int]:
    """A Kamailio that record-routes and routes in-dialog requests only by Route headers;
    registrations last 10 s at most (kamailio-rr.cfg)."""
    with _kamailio(tmp_path, "kamailio-rr.cfg") as port:
        yield port


@pytest.fixture
def kamailio_auth(tmp_path: Path) -> Iterator[int]:
    """The same with digest authentication on REGISTER (password s3cret for every user)."""
    with _kamailio(tmp_path, "kamailio-auth.cfg") as port:
        yield port


@pytest.fixture
def kamailio_from_auth(tmp_path: Path) -> Iterator[int]:
    """A Kamailio that asks the agent's INVITEs for credentials (s3cret) and refuses one
    whose From user is not the user authenticated (kamailio-from-auth.cfg)."""
    with _kamailio(tmp_path, "kamailio-from-auth.cfg") as port:
        yield port


def sipp(
    target: str, *args: str, cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:

    return subprocess.run(
        [
            require_tool("sipp"),
            target,
            "-i",
            "127.0.0.1",
            "-p",
            str(udp_port()),
            "-m",
            "1",
            "-timeout",
            str(int(timeout - 5)),
            "-timeout_error",
            "-trace_err",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
