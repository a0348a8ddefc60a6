"""The web desk in real headless Chromium (Debian's, driven by Playwright).

Log in, filter the list, open an entry, play and seek by a transcript word,
correct the category and see the history, export a file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import waitress
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select

from recorder import db
from recorder.models import AuditEvent
from tests.browser import desk
from tests.browser.waits import until
from tests.support.processes import free_port, require_tool

pytestmark = [pytest.mark.integration, pytest.mark.browser]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The seeded desk served by waitress on 127.0.0.1, stopped and joined at the end."""
    app = desk.make_app(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}")
    with app.sessions.begin() as session:
        desk.seed(session, tmp_path / "var" / "recordings")
    port = free_port()
    server = waitress.create_server(desk.web(app, TESTING=False), host="127.0.0.1", port=port)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        desk.stop_waitress(server, thread)
        app.engine.dispose()


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium = require_tool("chromium")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", desk.PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("来电记录")


def audited(tmp_path: Path) -> list[str]:
    """The audit's actions so far, read from the served desk's database."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'hotline.db'}")
    try:
        with engine.connect() as connection:
            return list(connection.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all())
    finally:
        engine.dispose()


def test_clerk_workflow_in_chromium(served: str, browser: Browser, tmp_path: Path) -> None:
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, served, "supervisor")

    # Filter the list: repairs only.
    page.select_option("select[name=category]", "repair")
    page.click("#filters button[type=submit]")
    rows = page.locator("table.log tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("3栋2单元501")

    # Open the entry; the waveform is drawn from the server's peaks.
    rows.first.locator("a").click()
    expect(page.locator("h1")).to_contain_text("记录")
    audio = page.locator("audio.player")
    until(
        page.locator("canvas.waveform"),
        "(c) => c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
        ".some((v, i) => i % 4 === 3 && v > 0)",
    )
    # Showing the entry reads no audio (preload="none"): no playback is audited.
    assert audio.evaluate("a => a.readyState") == 0
    assert audited(tmp_path) == ["view_entry", "waveform"]  # opening it is a look (issue 21)

    # Seek by clicking a word: currentTime jumps to the word's start.
    word = page.locator(".transcript .word", has_text="漏水").first
    expect(word).to_have_class("word low")
    start = float(word.get_attribute("data-start") or "nan")
    word.click()
    until(audio, f"(a) => Math.abs(a.currentTime - {start}) < 0.6")
    assert start - 0.05 <= audio.evaluate("a => a.currentTime") <= start + 0.6
    # Chromium fetched the audio in its own ranged requests: one playback, one row.
    until(audio, "(a) => a.played.length > 0")
    audio.evaluate("a => a.pause()")
    assert audited(tmp_path) == ["view_entry", "waveform", "playback"]
    # Only the caller's channel (Web Audio routing), then both again: no script errors.
    page.select_option("select.channel-select", "left")
    page.select_option("select.channel-select", "both")

    # Correct the category: the history shows it and the complaint gets its number.
    page.select_option("select[name=category]", "complaint")
    page.fill(".entry-form input[name=reason]", "住户明确要求投诉")
    page.click(".entry-form button[type=submit]")
    history = page.locator("table.history tbody")
    expect(history).to_contain_text("类别")
    expect(history).to_contain_text("投诉")
    expect(history).to_contain_text("住户明确要求投诉")
    expect(page.locator("p.meta")).to_contain_text("TS-2026-0001")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "entry-page.png"), full_page=True)

    # Export the day's log as CSV: a real download.
    page.goto(f"{served}/exports/")
    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    body = Path(download.path()).read_bytes()
    assert body.startswith(b"\xef\xbb\xbf") and "3栋2单元501" in body.decode("utf-8-sig")
    assert errors == []
    context.close()
