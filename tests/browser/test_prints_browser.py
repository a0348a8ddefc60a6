"""Prints fit for filing, in real headless Chromium's PDF at A4 (issue 21): the day's log
book (landscape, the paper book's columns with who answered and their 工号, the follow-up
result and the check signature, no column so narrow it wraps one character per line), the
complaint handling notice and the work order (portrait, letterhead, deadline, signature
lines), each read back from the PDF for its fields.

On failure, the PDFs are in test-artifacts/ (print-*.pdf).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from unicodedata import normalize

import pytest
import waitress
from playwright.sync_api import Browser, Page
from pypdf import PdfReader

from recorder import complaints, dispatch
from recorder.models import AnsweredBy, Call, LogEntry, Role
from recorder.reception_log import register_complaint
from tests.browser import desk
from tests.browser.test_desk_browser import ARTIFACTS, browser, log_in
from tests.support.processes import free_port

pytestmark = [pytest.mark.integration, pytest.mark.browser]
__all__ = ["browser"]
#: A4 in PDF points, portrait (width, height).
A4 = (595.3, 841.9)
FOLD = str.maketrans({"⻔": "门", "⻅": "见", "戶": "户", "⻓": "长", "⻋": "车"})


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int, int]]:
    """The supervisor's seeded desk with a complaint, a technician's order and a signed-off day."""
    app = desk.make_app(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}")
    with app.sessions.begin() as session:
        seeded = desk.seed(session, tmp_path / "var" / "recordings")
        desk.seed_supervision(session, seeded)
        entry = session.get_one(LogEntry, seeded.entry)
        call = session.get_one(Call, entry.call_pk)
        call.answered_by_user_id = seeded.clerk
        call.answered_by = AnsweredBy.STAFF
        complaint = register_complaint(session, entry)
        complaints.record(
            session, complaint, seeded.supervisor, result="已换水管", measures="每周巡检厨房水管"
        )
        order = dispatch.dispatch(
            session,
            entry,
            "工程部",
            ["工程部"],
            seeded.clerk,
            desk.NOW,
            technician="李师傅",
            due_at=desk.NOW.replace(hour=10),
            role=Role.CLERK,
        )
        dispatch.sign_off(session, desk.TODAY, seeded.supervisor, "记录规范")
        ids = (complaint.id, order.id)
    port = free_port()
    server = waitress.create_server(desk.web(app, TESTING=False), host="127.0.0.1", port=port)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", *ids
    finally:
        desk.stop_waitress(server, thread)
        app.engine.dispose()


def _pdf(page: Page, name: str) -> tuple[tuple[float, float], str]:
    """The page as Chromium prints it (its CSS @page size), its first page's size and all text."""
    body = page.pdf(prefer_css_page_size=True, print_background=True)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"print-{name}.pdf").write_bytes(body)
    reader = PdfReader(io.BytesIO(body))
    box = reader.pages[0].mediabox
    text = "".join(p.extract_text() or "" for p in reader.pages)
    # Text extraction reads some glyphs back as the radicals or variants that share them
    # (⼼ for 心, ⻔ for 门, 戶 for 户): NFKC and FOLD undo that; the print itself is right.
    text = normalize("NFKC", text).translate(FOLD)
    return (float(box.width), float(box.height)), "".join(text.split())


def _near(size: tuple[float, float], expected: tuple[float, float]) -> bool:
    return all(abs(a - b) < 2 for a, b in zip(size, expected, strict=True))


def test_the_daily_log_book_prints_on_a4_landscape(
    browser: Browser, served: tuple[str, int, int]
) -> None:
    base, _, _ = served
    page = browser.new_page(locale="zh-CN")
    log_in(page, base, "supervisor")
    page.goto(f"{base}/exports/daily?day={desk.TODAY}")
    page.emulate_media(media="print")
    assert not page.locator("#print").is_visible()  # the button is not printed
    # No column so narrow that its header or cells wrap one character per line: every
    # cell is at least three characters of its font wide at A4 landscape's width.
    page.set_viewport_size({"width": 1123, "height": 794})  # 297 × 210 mm at 96 dpi
    narrow = page.evaluate(
        """() => [...document.querySelectorAll('#daily-log th, #daily-log td')]
             .filter(c => c.colSpan === 1)
             .map(c => [c.textContent.trim(), c.clientWidth,
                        parseFloat(getComputedStyle(c).fontSize)])
             .filter(([text, width, size]) => text.length > 1 && width < 3 * size)"""
    )
    assert narrow == []
    page.screenshot(path=str(ARTIFACTS / "print-daily-log.png"), full_page=True)
    size, text = _pdf(page, "daily-log")
    assert _near(size, (A4[1], A4[0])), size  # landscape
    for shown in (
        "幸福家园物业服务中心",
        "电话接待记录本",
        "接听人(工号)",
        "回访情况",
        "王芳(000)",  # who answered, with the 工号
        "PG-2026-0005工程部·李师傅",
        "检查人(签字)",
        "李主管(001)",  # the day's check, signed
        "记录规范",
        "1/1",  # the page number
    ):
        assert shown in text, shown


def test_the_complaint_notice_and_work_order_print_on_a4(
    browser: Browser, served: tuple[str, int, int]
) -> None:
    base, complaint_id, order_id = served
    page = browser.new_page(locale="zh-CN")
    log_in(page, base, "clerk")
    page.goto(f"{base}/complaints/{complaint_id}/notice")
    assert page.locator("#print").is_visible()
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "print-complaint-notice.png"), full_page=True)
    size, text = _pdf(page, "complaint-notice")
    assert _near(size, A4), size  # portrait
    for shown in (
        "幸福家园物业服务中心",
        "客户投诉处理通知单",
        "TS-2026-0001",
        "答复期限2026-11-2317:30",  # 8 hours (1.4.4.3)
        "补救期限2026-11-2609:30",  # three days
        "纠正措施",
        "每周巡检厨房水管",
        "处理人(签字)",
        "部门负责人(签字)",
        "业主确认(签字)",
        "138****5678",
        "1/1",
    ):
        assert shown in text, shown
    page.emulate_media(media="screen")
    page.goto(f"{base}/orders/{order_id}")
    page.emulate_media(media="print")
    size, text = _pdf(page, "work-order")
    assert _near(size, A4), size
    for shown in (
        "幸福家园物业服务中心",
        "PG-2026-0005",
        "李师傅",
        "维修人签字",
        "业主签字",
        "2026-11-2310:00",
    ):
        assert shown in text, shown
