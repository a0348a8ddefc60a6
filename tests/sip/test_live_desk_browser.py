"""The live desk end to end: a real SIPp call to the real agent (`hotline agent`, the call
log through its journal into SQLite) shows in a clerk's headless Chromium within a
second, with the caller's directory card, moves on to the greeting, and leaves at
hang-up (issue 19).

What the clerk notices: the card with the household (3栋2单元501, 王建国, 独居 marked as a
priority resident) and the masked number; the call gone when the caller hangs up.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import waitress
from playwright.sync_api import Browser, expect

from recorder import residents, staff
from recorder.models import Role
from recorder.residents import Address, Change
from tests.browser import desk
from tests.browser.test_desk_browser import ARTIFACTS, browser, log_in
from tests.browser.waits import until
from tests.sip.conftest import HERE, Site, udp_port
from tests.support.processes import free_port, require_tool

pytestmark = [pytest.mark.integration, pytest.mark.browser]
__all__ = ["browser"]  # the Chromium fixture of test_desk_browser
AgentFactory = Callable[..., AbstractContextManager[Site]]
CALLER = "13800138000"  # uac_audio.xml's From
TALK_MS = 3000
GREETING = "问候语"  # the stage as a Chinese clerk reads it


@contextmanager
def desk_on(site: Site) -> Iterator[str]:
    """The web desk over the agent's own database, a clerk and the caller's household in it."""
    app = desk.make_app(site.root, f"sqlite:///{site.root / 'var' / 'hotline.db'}")
    with app.sessions.begin() as session:
        staff.add_user(session, "clerk", "王芳", "001", Role.CLERK, desk.PASSWORD)
        key = residents.phone_key(CALLER)
        assert key is not None
        home = Address("3栋", "2", "501")
        residents.save(session, Change(home, "王建国", [key], "业主", "独居", True), "erp.csv")
    port = free_port()
    server = waitress.create_server(desk.web(app, TESTING=False), host="127.0.0.1", port=port)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        desk.stop_waitress(server, thread)
        app.engine.dispose()


def caller(site: Site, tmp_path: Path) -> subprocess.Popen[str]:
    """SIPp calls, sends 2 s of PCMU silence and hangs up after TALK_MS."""
    audio = tmp_path / "silence.pcmu"
    audio.write_bytes(b"\xff" * 16000)
    text = (HERE / "scenarios" / "uac_audio.xml").read_text()
    for key, value in {"AUDIO_FILE": str(audio), "PAUSE_MS": str(TALK_MS), "PTIME": "20",
                       "PAYLOAD": "0", "CODEC": "PCMU"}.items():  # fmt: skip
        text = text.replace(key, value)
    scenario = tmp_path / "uac_live.xml"
    scenario.write_text(text)
    return subprocess.Popen(
        [require_tool("sipp"), site.address, "-i", "127.0.0.1", "-p", str(udp_port()),
         "-m", "1", "-timeout", "30", "-timeout_error", "-sf", str(scenario), "-s", "agent"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_a_call_shows_on_the_live_desk_with_its_card_and_leaves_at_hang_up(
    agent: AgentFactory, browser: Browser, tmp_path: Path
) -> None:
    with agent(agent__record_seconds="20.0") as site, desk_on(site) as base:
        page = browser.new_page()
        try:
            log_in(page, base, "clerk")
            page.click("#nav-live")
            live = page.locator("#live")
            until(live, "(s) => s.dataset.connected === 'yes'", 10_000)
            expect(page.locator("#live-empty")).to_be_visible()
            started = time.monotonic()
            call = caller(site, tmp_path)
            try:
                card = page.locator("#live-calls article.live-call")
                until(page.locator("#live-calls"), "(l) => l.children.length === 1", 3_000)
                shown_after = time.monotonic() - started  # SIPp's start-up included
                assert shown_after <= 1.0, f"the call showed {shown_after:.2f} s after dialling"
                expect(card.locator(".caller")).to_have_text("138****8000")
                expect(card.locator(".household")).to_contain_text("3栋2单元501")
                expect(card.locator(".directory-card")).to_contain_text("王建国")
                expect(card.locator(".priority-resident").first).to_be_visible()
                # Ringing, then answered: the greeting plays (longer than the caller stays).
                expect(card).to_have_attribute("data-stage", "greeting", timeout=3_000)
                expect(card.locator(".stage")).to_have_text(GREETING)
                out, _ = call.communicate(timeout=30)
                assert call.returncode == 0, out[-2000:]
            finally:
                if call.poll() is None:
                    call.kill()
                    call.wait(timeout=10)
            hung_up = time.monotonic()
            until(page.locator("#live-calls"), "(l) => l.children.length === 0", 5_000)
            assert time.monotonic() - hung_up <= 2.0
            expect(page.locator("#live-empty")).to_be_visible()
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "live-desk.png"), full_page=True)
            raise
        finally:
            page.close()
