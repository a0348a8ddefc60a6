"""The year's KPIs (recorder/kpi_year.py; the annual summary, seed 001 篇3, seed 002 plan
三.3) on a small constructed year, every figure worked out by hand in the comments;
and the year's page and XLSX (admin/kpi.py) showing them. Times are Shanghai local."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from recorder.kpi import monthly_kpis
from recorder.kpi_year import YearReport, yearly_kpis
from recorder.models import Complaint
from tests.test_admin import build
from tests.test_kpi import DEPARTMENT, REPLY, ZONE, Month

BOUNDS = [
    (datetime(2026, m, 1, tzinfo=ZONE), datetime(2026 + m // 12, m % 12 + 1, 1, tzinfo=ZONE))
    for m in range(1, 13)
]


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE)


def constructed_year(s: Session) -> Month:
    m = Month(s)
    # January: two repairs, both dispatched within 10 min and done within 72 h: 2 of 2.
    for day in (5, 6):
        r = m.entry("repair", at(1, day, 9), f"1-{day}01", m.a)
        m.order(r, at(1, day, 9, 5), at(1, day, 15))
    # March: one timely repair (A), one never dispatched (B): 1 of 2.
    r = m.entry("repair", at(3, 2, 9), "2-201", m.a)
    m.order(r, at(3, 2, 9, 5), at(3, 2, 12))
    m.entry("repair", at(3, 3, 9), "2-202", m.b)
    # June: 转告 (120 min): one acted on after 60 min, one never: 1 of 2.
    m.acted(m.entry("message", at(6, 1, 10), None, m.a), at(6, 1, 11))
    m.entry("message", at(6, 2, 10), None, m.b)
    # Complaints: March two closed after 10 h and 20 h; December one after 60 h, one open.
    complaints = [(3, 4, 10), (3, 5, 20), (12, 1, 60), (12, 2, None)]
    for n, (month, day, hours) in enumerate(complaints, 1):
        registered = at(month, day, 8)
        entry = m.entry("complaint", registered, "5-505", m.a)
        closed = None if hours is None else registered + timedelta(hours=hours)
        s.add(
            Complaint(
                number=f"TS-2026-{n:04d}",
                year=2026,
                seq=n,
                entry_id=entry.id,
                registered_at=registered,
                closed_at=closed,
            )
        )
    return m


def year_of(s: Session) -> YearReport:
    def month(start: datetime, end: datetime) -> object:
        return monthly_kpis(
            s,
            start,
            end,
            ZONE,
            reply_minutes=lambda key: REPLY.get(key, 60),
            category_department=lambda key: DEPARTMENT.get(key, "客服部"),
        )

    return yearly_kpis(2026, BOUNDS, month)  # type: ignore[arg-type]


def test_a_year_worked_by_hand(sqlite_sessions: sessionmaker[Session]) -> None:
    with sqlite_sessions.begin() as s:
        m = constructed_year(s)
    with sqlite_sessions() as s:
        year = year_of(s)
    months = {r.start.astimezone(ZONE).month: r for r in year.months}
    assert len(year.months) == 12 and sorted(months) == list(range(1, 13))
    timely = [(r.desk["repair_timely"].met, r.desk["repair_timely"].counted) for r in year.months]
    assert timely == [(2, 2), (0, 0), (1, 2)] + [(0, 0)] * 9
    assert months[2].desk["repair_timely"].value is None  # nothing to count: no figure
    # The year: (2 + 1) of (2 + 2) repairs timely = 75 %, not the mean of 100 % and 50 %.
    assert year.total.desk["repair_timely"].counted == 4
    assert year.total.desk["repair_timely"].value == pytest.approx(0.75)
    assert year.total.desk["repair_timely"].on_target is False  # target 98 %
    assert year.total.desk["relay_on_time"].value == pytest.approx(0.5)
    # Complaints: 3 closed of 4 = 75 %; the mean hours weighted by the complaints closed:
    # (10 + 20 + 60) / 3 = 30, not the mean of March's 15 and December's 60 (37.5).
    handled = year.total.desk["complaints_handled"]
    assert (handled.met, handled.counted) == (3, 4)
    assert months[3].complaint_hours == pytest.approx(15)
    assert months[12].complaint_hours == pytest.approx(60)
    assert year.total.complaint_hours == pytest.approx(30)
    assert year.total.complaint_hours_by == {"客服部": pytest.approx(30)}
    # Per staff member: the first clerk had both January repairs and March's timely one
    # (3 of 3); the second, March's undispatched one (0 of 1).
    by_staff = year.total.by["staff"]
    assert by_staff[str(m.a)]["repair_timely"].value == pytest.approx(1.0)
    assert (
        by_staff[str(m.b)]["repair_timely"].met,
        by_staff[str(m.b)]["repair_timely"].counted,
    ) == (0, 1)
    assert year.total.start == BOUNDS[0][0] and year.total.end == BOUNDS[-1][1]


def test_the_years_page_and_workbook(tmp_path: Path) -> None:
    for web in build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}"):
        with web.app.sessions.begin() as s:
            constructed_year(s)
        web.login("supervisor")
        page = web.client.get("/supervision/kpi/year?year=2026")
        assert page.status_code == 200
        text = page.text
        assert 'id="kpi-year-chart"' in text and 'id="kpi-months-chart"' in text
        # January 2 of 2 (100 %), March 1 of 2 (50 %); the seeded desk adds November's
        # leak (received 2026-11-23, no work order yet: not timely, 0 of 1); the year
        # 3 of 5 = 60 %, off its 98 % target.
        assert '<tr data-month="2026-01">' in text and '<tr data-month="year"' in text
        november = text[text.index('<tr data-month="2026-11">') :]
        assert 'data-key="repair_timely" data-value="0.0" class="off-target"' in november
        year_row = text[text.index('<tr data-month="year"') :]
        assert 'data-key="repair_timely" data-value="0.6" class="off-target"' in year_row
        assert "60.0%" in year_row and "3/5" in year_row
        march = text[text.index('<tr data-month="2026-03">') :]
        assert 'data-key="repair_timely" data-value="0.5"' in march
        got = web.client.get("/supervision/kpi/kpi-year.xlsx?year=2026")
        assert got.status_code == 200 and got.mimetype.endswith("spreadsheetml.sheet")
        sheet = load_workbook(io.BytesIO(got.data)).active
        assert sheet is not None and sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref.startswith("A1:G")
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        assert len(rows) == 13 * 7  # twelve months and the year, seven figures each
        january = rows[0]
        assert isinstance(january[0], datetime) and january[0].date() == date(2026, 1, 1)
        assert january[2:5] == (2, 2, 1.0)
        total = rows[12 * 7]
        assert total[0] == "2026 全年"
        assert total[2:5] == (5, 3, 0.6)
        assert sheet.cell(2, 5).number_format == "0.0%"
        assert web.client.get("/supervision/kpi/year?year=nonsense").status_code == 400
        web.login("clerk")
        assert web.client.get("/supervision/kpi/year?year=2026").status_code in (302, 403)
