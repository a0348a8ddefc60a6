"""The supervisor's pages in real headless Chromium: the dashboard's chart drawn by
the vendored Chart.js under the desk's CSP, the day's sign-off, a flagged call
played from its finding, a follow-up recorded, the monthly charts and CSV.

On failure, the page's screenshot so far is in test-artifacts/ (supervisor-*.png).
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import waitress
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.browser import desk
from tests.browser.test_desk_browser import ARTIFACTS, browser, log_in
from tests.browser.waits import until
from tests.support.processes import free_port

pytestmark = [pytest.mark.integration, pytest.mark.browser]
__all__ = ["browser"]  # the Chromium fixture of test_desk_browser
#: A canvas Chart.js has drawn on: a chart is attached and some pixel is not transparent.
DRAWN = (
    "(c) => !!window.Chart && !!window.Chart.getChart(c) && "
    "c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
    ".some((v, i) => i % 4 === 3 && v > 0)"
)
#: The player started playing at the finding's second (2.3 s), not at 0.
PLAYED_FROM_FINDING = "(a) => a.played.length > 0 && Math.abs(a.played.start(0) - 2.3) < 0.3"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, desk.SupervisionSeeded]]:
    """The desk with the supervisor's data, served by waitress on 127.0.0.1, joined at the end."""
    app = desk.make_app(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}")
    with app.sessions.begin() as session:
        extra = desk.seed_supervision(session, desk.seed(session, tmp_path / "var" / "recordings"))
    port = free_port()
    server = waitress.create_server(desk.web(app, TESTING=False), host="127.0.0.1", port=port)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", extra
    finally:
        desk.stop_waitress(server, thread)
        app.engine.dispose()


def console_error(message: ConsoleMessage, errors: list[str]) -> None:
    """Keep console errors (a CSP refusal is one), but not the favicon the desk does not have."""
    where = message.location.get("url", "")
    if message.type == "error" and not where.endswith("/favicon.ico"):
        errors.append(f"{message.text} at {where}")


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"supervisor-{name}.png"), full_page=True)


def test_supervisor_flow_in_chromium(
    served: tuple[str, desk.SupervisionSeeded], browser: Browser
) -> None:
    base, extra = served
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A CSP refusal (an inline style or script) shows up as a console error.
    page.on("console", lambda msg: console_error(msg, errors))
    log_in(page, base, "supervisor")

    # The dashboard from the nav: the service chart is drawn by Chart.js.
    page.click("#nav-supervision")
    expect(page.locator("h1")).to_contain_text("督导")
    until(page.locator("#service-chart"), DRAWN)
    expect(page.locator("#answered-share")).to_have_text("66.7%")
    expect(page.locator("#reminder")).to_be_visible()
    shot(page, "dashboard")

    # Sign off the day: once; the form gives way to who signed and when.
    page.fill("#sign-off textarea[name=notes]", "记录完整")
    page.click("#sign-off-button")
    expect(page.locator("#signed-off")).to_contain_text("李主管")
    expect(page.locator("#sign-off-button")).to_have_count(0)

    # One click on the flagged call's finding: the entry's player starts at 2.3 s.
    page.click("#flagged a.play")
    expect(page.locator("h1")).to_contain_text(f"记录 {extra.flagged_entry}")
    until(page.locator("audio.player"), PLAYED_FROM_FINDING)

    # Overdue: record a follow-up on the seeded entry past its due date.
    page.goto(f"{base}/supervision/overdue")
    row = page.locator(f"#entry-{extra.flagged_entry}")
    row.locator("select[name=satisfied]").select_option("yes")
    row.locator("textarea[name=notes]").fill("已联系, 维修中")
    row.locator("form.follow-up button").click()
    expect(page.locator("p.flash")).to_contain_text("回访已登记")
    # Followed up: no longer overdue (issue 21), and the follow-up is on the entry's timeline.
    expect(page.locator(f"#entry-{extra.flagged_entry}")).to_have_count(0)
    page.goto(f"{base}/entries/{extra.flagged_entry}")
    expect(page.locator("#timeline")).to_contain_text("已联系, 维修中")
    page.goto(f"{base}/supervision/overdue")

    # The monthly report: six charts drawn, and the figures as a CSV download.
    page.click("nav.tabs >> text=月度报表")
    charts = page.locator("canvas.chart")
    expect(charts).to_have_count(6)
    for index in range(6):
        charts.nth(index).scroll_into_view_if_needed()
        until(charts.nth(index), DRAWN)
    shot(page, "monthly")
    with page.expect_download() as info:
        page.click("#monthly-csv")
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text("utf-8-sig"))))
    assert rows[0] == ["栏目", "键", "名称", "数值"]
    assert ["category", "repair", "报修", "5"] in rows
    assert errors == []
    context.close()
