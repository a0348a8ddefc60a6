"""The supervisor's dashboard on a constructed day, in real headless Chromium (issue 20):
what the supervisor reads (both service-level shares, the counts behind them, the
sentences saying how each is computed, the call-backs waiting, compliance per person)
and the hourly chart Chart.js draws, against figures worked out by hand below.

On failure, the page's screenshot is in test-artifacts/ (dashboard-day.png).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import waitress
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session

from recorder import staff
from recorder.models import (
    AnsweredBy,
    Call,
    ComplianceResult,
    Direction,
    Disposition,
    EntryStatus,
    LogEntry,
    Role,
)
from tests.browser import desk
from tests.browser.test_desk_browser import ARTIFACTS, browser, log_in
from tests.browser.test_supervisor_browser import DRAWN, console_error
from tests.browser.waits import until
from tests.support.processes import free_port

pytestmark = [pytest.mark.integration, pytest.mark.browser]
__all__ = ["browser"]  # the Chromium fixture of test_desk_browser
ZONE = ZoneInfo("Asia/Shanghai")
IN, X = Direction.INBOUND, Direction.IMPORTED
A, M, B, F = Disposition.ANSWERED, Disposition.MISSED, Disposition.ABANDONED, Disposition.FAILED
ANSWERED_BY = {"agent": AnsweredBy.AGENT, "clerk": AnsweredBy.STAFF, "elsewhere": AnsweredBy.STAFF}
ANSWERED_BY = {"agent": AnsweredBy.AGENT, "clerk": AnsweredBy.STAFF, "elsewhere": AnsweredBy.STAFF}
#: desk.TODAY (2026-11-23), local time: (hh:mm, direction, disposition, rings heard,
#: seconds from calling to hanging up, ended_in, who answered, script check passed, entry).
DAY = [
    ("08:05", IN, A, 2, 120, "closing", "agent", True, None),  # within 3 rings
    ("08:10", IN, A, 3, 90, "bridge", "clerk", False, None),  # within, put through: flagged
    ("08:20", IN, A, 1, 60, "elsewhere", "elsewhere", None, None),  # a colleague's phone
    ("08:30", IN, M, 4, 15, "ringing", None, None, EntryStatus.RECEIVED),  # 15 s > 11 s
    ("08:40", IN, M, 1, 3, "ringing", None, None, EntryStatus.RECEIVED),  # short abandon
    ("09:00", IN, A, 5, 100, "closing", "agent", True, None),  # after 5 rings
    ("09:10", IN, B, 2, 9, "menu", None, None, EntryStatus.DONE),  # 9 s: within, called back
    ("09:20", IN, B, 2, 30, "greeting", None, None, EntryStatus.RECEIVED),  # 30 s: not within
    ("09:30", X, A, None, 200, None, None, None, None),  # imported: rings unknown
    ("09:40", IN, F, 0, 1, "ringing", None, None, None),  # could not be connected
]


def constructed_day(session: Session) -> None:
    staff.add_user(session, "supervisor", "李主管", "001", Role.SUPERVISOR, desk.PASSWORD)
    clerk = staff.add_user(session, "clerk", "王芳", "002", Role.CLERK, desk.PASSWORD)
    session.flush()
    for n, (
        hhmm,
        direction,
        disposition,
        rings,
        seconds,
        ended_in,
        by,
        passed,
        status,
    ) in enumerate(DAY):
        hour, minute = map(int, hhmm.split(":"))
        invite = datetime(2026, 11, 23, hour, minute, tzinfo=ZONE)
        call = Call(
            call_id=f"day-{n}@test",
            direction=direction,
            caller_number=f"1390000{n:04d}",
            invite_at=invite,
            ringing_at=invite,
            answered_at=invite + timedelta(seconds=5 * rings)
            if disposition is A and rings
            else None,
            ended_at=invite + timedelta(seconds=seconds),
            ring_count=rings,
            disposition=disposition,
            ended_in=ended_in,
            answered_elsewhere=by == "elsewhere",
            answered_by=ANSWERED_BY.get(by or ""),
            answered_by_user_id=clerk.id if by == "clerk" else None,
        )
        session.add(call)
        session.flush()
        if passed is not None:
            session.add(
                ComplianceResult(
                    call_pk=call.id,
                    answered_by="staff" if by == "clerk" else "agent",
                    user_id=clerk.id if by == "clerk" else None,
                    within_rings=rings is not None and rings <= 3,
                    passed=passed,
                    checks={"greeting": True, "closing": passed},
                )
            )
        if status is not None:
            session.add(
                LogEntry(
                    call_pk=call.id,
                    received_at=invite,
                    caller_number=call.caller_number,
                    summary="未接来电",
                    status=status,
                )
            )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    app = desk.make_app(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}")
    with app.sessions.begin() as session:
        constructed_day(session)
    port = free_port()
    server = waitress.create_server(desk.web(app, TESTING=False), host="127.0.0.1", port=port)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        desk.stop_waitress(server, thread)
        app.engine.dispose()


def test_the_dashboard_of_a_day_worked_by_hand(served: str, browser: Browser) -> None:
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: console_error(msg, errors))
    log_in(page, served, "supervisor")
    page.goto(f"{served}/supervision/?period=today&day=2026-11-23")
    try:
        # By hand: 10 calls. Answered live: 08:05, 08:10, 08:20 (a colleague), 09:00 = 4;
        # within 3 rings the first three: 3 of 4 = 75.0 %.
        expect(page.locator("#calls-total")).to_have_text("10")
        expect(page.locator("#answered-share")).to_have_text("75.0%")
        # Gave up: 08:30 while ringing (15 s), 09:10 in the menu (9 s, within the 11 s of
        # three rings at 1 s on, 4 s off), 09:20 in the greeting (30 s) = 3, 1 of them in
        # time: (3 + 1) ÷ (4 + 3) = 57.1 %. 08:40 (3 s) is a short abandon: left out.
        expect(page.locator("#offered-share")).to_have_text("57.1%")
        offered = page.locator("#how-offered").inner_text()
        assert "(3 + 1) ÷ (4 + 3)" in offered
        answered = [int(n) for n in re.findall(r"\d+", page.locator("#how-answered").inner_text())]
        assert answered == [3, 4, 1, 3, 3]  # n, answered, by a colleague, within, n
        # Left out: 1 short abandon (within 5 s), 1 imported recording, 1 failed call.
        left_out = [int(n) for n in re.findall(r"\d+", page.locator("#how-left-out").inner_text())]
        assert left_out == [1, 5, 1, 1]
        # Call-backs waiting: 08:30, 08:40 and 09:20 (09:10 was called back).
        expect(page.locator("#missed .count")).to_have_text("3")
        expect(page.locator("#missed tr.callback")).to_have_count(3)
        # Compliance: the agent 2 calls, 2 passed, 1 within 3 rings (09:00 took 5);
        # 王芳 1 call (08:10), failed, within. One flagged call.
        agent = page.locator('#compliance tr[data-staff="agent-"]')
        expect(agent.locator(".calls")).to_have_text("2")
        expect(agent.locator(".passed")).to_have_text("2")
        expect(agent.locator(".within")).to_have_text("1")
        clerk = page.locator("#compliance tr[data-staff^='staff-']")
        expect(clerk).to_contain_text("王芳")
        expect(clerk.locator(".passed")).to_have_text("0")
        expect(page.locator("#flagged .count")).to_have_text("1")
        # The chart is drawn, hour by hour: 08 has 3 answered within, 1 missed (the short
        # abandon is left out); 09 has 1 answered later and 2 abandoned; other hours nothing.
        chart = page.locator("#service-chart")
        until(chart, DRAWN)
        series = chart.evaluate("(c) => window.Chart.getChart(c).data.datasets.map(d => d.data)")
        within, later, missed, abandoned = series
        assert (within[8], later[8], missed[8], abandoned[8]) == (3, 0, 1, 0)
        assert (within[9], later[9], missed[9], abandoned[9]) == (0, 1, 0, 2)
        assert sum(within + later + missed + abandoned) == 3 + 1 + 1 + 2
        assert errors == []
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-day.png"), full_page=True)
        context.close()
