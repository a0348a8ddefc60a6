"""The README's first command, as written, is a test: what a newcomer runs must work.

From a clean copy of the repository (the files git knows, nothing built), with
the default configuration and its relative `data_dir = "var"`, the test runs
the command README.md shows first (`scripts/run`): system packages, the
virtual environment, then the whole desk with its demo call. Then, as the
newcomer would, headless Chromium logs in with the password the command
printed, opens the demo's entry and plays its recording. Ctrl-C (SIGINT to
the foreground process group, as a terminal sends it) must stop every
process within 10 s.

What the user would notice is asserted: the recording plays (HTTP 200 with
WAV audio, the player reaches a duration > 0 and advances), the desk says
plainly that no speech model is configured, and the entry's summary is empty
and marked as awaiting transcription instead of holding a placeholder.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser.test_desk_browser import CHROMIUM_ARGS
from tests.browser.waits import until
from tests.support.processes import require_tool

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
#: The README's defaults: the web desk and the agent's SIP port.
DESK = "http://127.0.0.1:8080"
DESK_PORT, SIP_PORT = 8080, 5062
#: A cold first run installs the virtual environment from PyPI before the desk starts.
FIRST_RUN_S = 600
STOP_S = 10


def readme_commands() -> list[str]:
    """The commands of README.md's "The two commands" block, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The two commands", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]


def test_the_readme_shows_two_commands_and_ci_runs_the_second() -> None:
    run, test = readme_commands()
    assert (run, test) == ("scripts/run", "scripts/test")
    ci = [
        line.strip()
        for line in (ROOT / ".ci/run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci == [test]


def clean_copy(target: Path) -> Path:
    """The files of the repository as a fresh clone has them (tracked, plus new files not
    ignored, so an uncommitted change is tested too); nothing built, no .venv, no var/."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / os.fsdecode(name)
        if not source.is_file():  # deleted in the working tree
            continue
        dest = target / os.fsdecode(name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
    return target


def port_taken(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@dataclass
class Output:
    """What the command prints, read by a thread so the pipe never fills."""

    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self, stream: Iterator[str]) -> None:
        for line in stream:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float, process: subprocess.Popen[str]) -> str:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = regex.search(self.text())
            if found:
                return found.group(1)
            if process.poll() is not None:
                break
            time.sleep(0.5)
        tail = "\n".join(self.text().splitlines()[-60:])
        raise AssertionError(f"`scripts/run` never printed /{pattern}/; its output ends:\n{tail}")


def group_alive(pgid: int) -> list[str]:
    """The processes of `pgid` still running (zombies waiting for their parent excluded)."""
    alive = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        command, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1].split()
        state, pgrp = rest[0], int(rest[2])
        if pgrp == pgid and state != "Z":
            alive.append(f"{name} ({command})")
    return alive


def test_the_readme_first_command_runs_the_desk_and_the_demo_recording_plays(
    tmp_path: Path,
) -> None:
    chromium = require_tool("chromium")
    for port, kind, what in ((DESK_PORT, socket.SOCK_STREAM, "web desk"),
                             (SIP_PORT, socket.SOCK_DGRAM, "agent")):  # fmt: skip
        assert not port_taken(port, kind), (
            f"port {port} (the README's {what}) is in use: stop what holds it and run again"
        )
    clone = clean_copy(tmp_path / "hotline")
    run, _test = readme_commands()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    process = subprocess.Popen(
        [str(clone / run)],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    output = Output()
    assert process.stdout is not None
    reader = threading.Thread(target=output.read, args=(process.stdout,), name="run-output")
    reader.start()
    try:
        password = output.wait_for(
            r"created user 'admin' with password (\S+)", FIRST_RUN_S, process
        )
        entry_id = output.wait_for(r"demo: log entry: \{'id': (\d+)", 300, process)
        # The data stays where the README says, whatever folder a process resolves from.
        recordings = list((clone / "var" / "recordings").rglob("*.wav"))
        assert len(recordings) == 1, output.text()[-3000:]

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(locale="zh-CN")
                context.set_default_timeout(20_000)
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.goto(f"{DESK}/login")
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", password)
                page.click("button[type=submit]")
                expect(page.locator("h1")).to_have_text("来电记录")
                # No model on this machine: every page says so, and how to install one.
                expect(page.locator("#no-speech-model")).to_contain_text("尚未配置语音识别模型")

                page.goto(f"{DESK}/entries/{entry_id}")
                expect(page.locator("#awaiting-transcription")).to_have_text("等待语音识别")
                summary = page.locator("textarea[name=summary]")
                assert summary.input_value() == ""  # no placeholder saved as the summary
                audio = page.locator("audio.player")
                src = audio.get_attribute("src") or ""
                response = page.request.get(f"{DESK}{src.split('#')[0]}")
                assert response.status == 200, response.text()[:500]
                assert response.headers["content-type"].startswith("audio/wav")
                body = response.body()
                assert body[:4] == b"RIFF" and len(body) > 8000 * 2 * 2, len(body)
                # The player loads nothing until played (a page view is not a playback).
                audio.evaluate("(a) => a.play()")
                until(audio, "(a) => a.duration > 1 && a.currentTime > 0.3")
                assert not errors, errors
            finally:
                browser.close()
    finally:
        left = stop_like_ctrl_c(process)
        reader.join(timeout=10)
    assert not left, f"still running {STOP_S} s after Ctrl-C: {left}\n{output.text()[-4000:]}"


def stop_like_ctrl_c(process: subprocess.Popen[str]) -> list[str]:
    """SIGINT to the process group, as a terminal's Ctrl-C; the processes still running
    after `STOP_S` (then killed, so nothing outlives the test)."""
    pgid = process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGINT)
    deadline = time.monotonic() + STOP_S
    left = group_alive(pgid)
    while time.monotonic() < deadline:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.2)
        left = group_alive(pgid)
        if not left and process.poll() is not None:
            return []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait(timeout=10)
    return left or [f"{pgid} (scripts/run)"]
