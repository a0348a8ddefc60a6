"""A repair from call to close in real headless Chromium (issue 21): the clerk dispatches a
numbered work order to a named technician from the entry page, the technician returns it
from the order's page on a phone-sized screen, the clerk records the follow-up, and a
supervisor approves the closing; the entry's timeline shows each step.

On failure, the page's screenshot so far is in test-artifacts/ (matter-*.png).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import waitress
from playwright.sync_api import Browser, Page, expect

from recorder.models import FieldSource, Urgency
from recorder.reception_log import new_entry
from tests.browser import desk
from tests.browser.test_desk_browser import ARTIFACTS, browser, log_in
from tests.browser.test_supervisor_browser import console_error
from tests.support.processes import free_port

pytestmark = [pytest.mark.integration, pytest.mark.browser]
__all__ = ["browser"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int]]:
    app = desk.make_app(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}")
    with app.sessions.begin() as session:
        seeded = desk.seed(session, tmp_path / "var" / "recordings")
        entry = new_entry(
            session,
            {
                "received_at": desk.NOW - timedelta(minutes=3),
                "category": "repair",
                "urgency": Urgency.LEAK,
                "surname": "王",
                "unit": "3栋2单元501",
                "summary": "卫生间水管漏水",
                "responsible_user_id": seeded.clerk,
            },
            FieldSource.AUTO,
        )
        session.flush()
        entry_id = entry.id
    port = free_port()
    server = waitress.create_server(desk.web(app, TESTING=False), host="127.0.0.1", port=port)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", entry_id
    finally:
        desk.stop_waitress(server, thread)
        app.engine.dispose()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"matter-{name}.png"), full_page=True)


def test_a_repair_from_call_to_close_in_chromium(served: tuple[str, int], browser: Browser) -> None:
    base, entry_id = served
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: console_error(msg, errors))
    log_in(page, base, "clerk")
    page.goto(f"{base}/entries/{entry_id}")
    # The clerk's work order, from the entry page.
    page.select_option("#new-order select[name=department]", "工程部")
    page.fill("#new-order input[name=technician]", "李师傅")
    page.click("#new-order button")
    expect(page.locator("p.flash")).to_contain_text("PG-2026-0001")
    expect(page.locator("#orders")).to_contain_text("李师傅")
    expect(page.locator(".matter h2")).to_contain_text("已派单")
    shot(page, "dispatched")

    # The technician, on a phone: their open orders, the order, the return.
    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 800})
    mobile = phone.new_page()
    mobile.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(mobile, base, "clerk")
    mobile.goto(f"{base}/orders/?technician=李师傅")
    mobile.click("#open-orders a >> text=PG-2026-0001")
    expect(mobile.locator("#work-order")).to_contain_text("3栋2单元501")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone
    mobile.fill("#return-form input[name=parts]", "水管接头")
    mobile.click("#return-form button")
    expect(mobile.locator("p.flash")).to_contain_text("PG-2026-0001")
    phone.close()

    # Back at the desk: done; the follow-up; the follow-up date from the completion.
    page.reload()
    expect(page.locator(".matter h2")).to_contain_text("已完成")
    expect(page.locator("#follow-up-due")).to_have_text("2026-11-26")  # leak: 3 days
    page.select_option("#follow-up select[name=reached]", "yes")
    page.select_option("#follow-up select[name=satisfied]", "yes")
    page.fill("#follow-up textarea[name=notes]", "已修好, 业主满意")
    page.click("#follow-up button")
    expect(page.locator(".matter h2")).to_contain_text("已回访")
    expect(page.locator("#close")).to_have_count(0)  # a clerk does not close

    # A supervisor approves the closing.
    page.click("header form.inline:has-text('退出') button, header form.inline button >> nth=-1")
    log_in(page, base, "supervisor")
    page.goto(f"{base}/entries/{entry_id}")
    page.click("#close button")
    expect(page.locator(".matter h2")).to_contain_text("已结案")
    timeline = page.locator("#timeline")
    for step in ("PG-2026-0001", "李师傅", "水管接头", "已修好, 业主满意", "已结案"):
        expect(timeline).to_contain_text(step)
    shot(page, "closed")
    assert errors == []
    context.close()
