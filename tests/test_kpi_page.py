"""The KPI page and its XLSX export (admin/kpi.py) on the seeded desk plus the
hand-worked November of tests/test_kpi.py: the page shows recorder/kpi.py's figures
beside the configured targets, and the workbook has real dates, per-cent numbers,
filters, a frozen header and widths that fit."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from admin import kpi as kpi_page
from recorder.kpi import FIGURES
from tests.test_admin import build
from tests.test_kpi import november


def test_the_page_and_the_workbook(tmp_path: Path) -> None:
    for web in build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}"):
        with web.app.sessions.begin() as s:
            november(s)
        web.login("supervisor")
        page = web.client.get("/supervision/kpi/?month=2026-11")
        assert page.status_code == 200
        with web.flask.test_request_context("/supervision/kpi/?month=2026-11"):
            from admin.db import get_session

            expected = kpi_page.report(datetime(2026, 11, 1).date())
            get_session().close()
        desk = re.search(r'<table id="kpi-desk-table">(.*?)</table>', page.text, re.S)
        assert desk
        for key, _higher in FIGURES:
            row = re.search(rf'<tr data-key="{key}" data-value="([^"]*)"', desk.group(1))
            assert row, key
            value = expected.desk[key].value
            assert (row.group(1) == "") if value is None else float(row.group(1)) == value
        # The seeds' targets by default: 报修及时率 ≥ 98 %, 返修率 ≤ 5 %, follow-up ≥ 50 %.
        assert re.search(r'data-key="repair_timely".*?class="target">≥ 98', desk.group(1), re.S)
        assert re.search(r'data-key="rework".*?class="target">≤ 5', desk.group(1), re.S)
        chart = re.search(r"id=\"kpi-chart\"[^>]*data-chart='([^']*)'", page.text)
        assert chart and '"data": [98.0, 5.0, 50.0' in chart.group(1).replace("&#34;", '"')

        got = web.client.get("/supervision/kpi/kpi.xlsx?month=2026-11")
        assert got.status_code == 200 and got.mimetype.endswith("spreadsheetml.sheet")
        sheet = load_workbook(io.BytesIO(got.data)).active
        assert sheet is not None
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:I")
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        first = sheet.cell(2, 1)
        assert isinstance(first.value, datetime) and first.value.date().isoformat() == "2026-11-01"
        assert first.number_format == "yyyy-mm" and sheet.cell(2, 7).number_format == "0.0%"
        timely = rows[0]  # the desk's figures first, in FIGURES order, in the user's language
        assert timely[1:4] == ("客服中心", "客服中心", "报修及时率")
        assert timely[4:8] == (
            expected.desk["repair_timely"].counted,
            expected.desk["repair_timely"].met,
            pytest.approx(expected.desk["repair_timely"].value),
            0.98,
        )
        # Widths fit the longest text: the figure names are wider than the default 8.43.
        assert sheet.column_dimensions["D"].width > 20
        assert web.client.get("/supervision/kpi/?month=nonsense").status_code == 400
        web.login("clerk")
        assert web.client.get("/supervision/kpi/kpi.xlsx?month=2026-11").status_code in (302, 403)


def test_a_typed_name_never_runs_as_a_formula_in_the_workbook(tmp_path: Path) -> None:
    """What is kept: the staff member's name exactly as typed, as text, in the month's and
    the year's workbooks (openpyxl would store it as a formula)."""
    from sqlalchemy import update

    from recorder.models import User

    payload = '=HYPERLINK("http://evil.example/","王芳")'
    for web in build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}"):
        with web.app.sessions.begin() as s:
            november(s)
            s.execute(update(User).values(display_name=payload))
        web.login("supervisor")
        for url in (
            "/supervision/kpi/kpi.xlsx?month=2026-11",
            "/supervision/kpi/kpi-year.xlsx?year=2026",
        ):
            got = web.client.get(url)
            assert got.status_code == 200, url
            sheet = load_workbook(io.BytesIO(got.data)).active
            assert sheet is not None
            cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
            assert all(c.data_type != "f" for c in cells), url
            if "year" not in url:
                assert any(c.value == payload for c in cells), url


def test_a_closed_month_is_counted_again_after_a_new_row_or_a_correction(
    tmp_path: Path,
) -> None:
    """November is closed (it ended before today), so its figures are kept once counted
    (recorder/kpi_cache.py); a follow-up recorded later, and r4's work order reported
    done (a correction with its revision row), each change the page at once."""
    from sqlalchemy import select

    from recorder.models import FollowUp, LogEntry, WorkOrder
    from recorder.work_orders import complete
    from tests.test_kpi import at

    def desk(key: str) -> str:
        page = web.client.get("/supervision/kpi/?month=2026-11").text
        row = re.search(rf'<tr data-key="{key}" data-value="([^"]*)"', page)
        assert row, key
        return row.group(1)

    for web in build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}"):
        with web.app.sessions.begin() as s:
            november(s)
        web.flask.config["CLOCK"] = lambda: datetime(2026, 12, 10, 2, tzinfo=UTC)
        web.login("supervisor")
        assert desk("follow_up") == "0.5" and desk("follow_up") == "0.5"  # r1, r3 of 4
        kept = web.flask.extensions["kpi_months"]
        assert (kept.misses, kept.hits) == (1, 1)  # the second time from the store
        with web.app.sessions.begin() as s:  # r2's resident reached on a second try
            r2 = s.scalars(
                select(LogEntry).where(LogEntry.unit == "2-202", LogEntry.category == "repair")
            ).one()
            s.add(FollowUp(entry_id=r2.id, at=at(12, 1, 10), reached=True, satisfied=True))
        assert desk("follow_up") == "0.75"  # 3 of 4, counted again
        assert desk("rework") == "0.5"  # r1 and r5 of the 4 completed
        with web.app.sessions.begin() as s:  # r4 reported done on 11-21: 5 completed
            r4 = s.scalars(select(WorkOrder).where(WorkOrder.completed.is_(None))).one()
            complete(s, r4, True, None, now=at(11, 21, 9))
        assert desk("rework") == "0.4"  # 2 of 5: the correction is counted
        assert kept.misses == 3
