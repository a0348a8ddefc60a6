"""The KPI report as an XLSX workbook (openpyxl): one row per figure and group, the
month as a real date, shares as numbers formatted as per cent, an autofilter, a
frozen header and columns wide enough for their text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from recorder import kpi, kpi_year

PERCENT = "0.0%"


def workbook(
    report: kpi.Report,
    month: date,
    labels: Mapping[str, Any],
    dimensions: Mapping[str, Any],
    group_label: Callable[[str, str], str],
    zone: ZoneInfo,
) -> Workbook:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "KPI"
    header = [
        _("Month"),
        _("Grouped by"),
        _("Group"),
        _("Figure"),
        _("Counted"),
        _("Met"),
        _("Share"),
        _("Target"),
        _("On target"),
    ]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    groups: list[tuple[str, str, dict[str, kpi.Figure]]] = [("", _("Desk"), report.desk)]
    for dimension, by_key in report.by.items():
        for key in sorted(by_key):
            groups.append((str(dimensions[dimension]), group_label(dimension, key), by_key[key]))
    for dimension_label, group, found in groups:
        for key, _higher in kpi.FIGURES:
            figure = found[key]
            met = figure.on_target
            sheet.append(
                [
                    month,
                    dimension_label or _("Desk"),
                    group,
                    str(labels[key]),
                    figure.counted,
                    figure.met,
                    figure.value,
                    figure.target,
                    "" if met is None else (_("Yes") if met else _("No")),
                ]
            )
    last = sheet.max_row
    for row in range(2, last + 1):
        sheet.cell(row, 1).number_format = "yyyy-mm"
        sheet.cell(row, 7).number_format = PERCENT
        sheet.cell(row, 8).number_format = PERCENT
    if report.complaint_hours is not None:
        sheet.append([])
        sheet.append([month, _("Desk"), _("Desk"), _("Mean hours to close a complaint"), None,
                      None, round(report.complaint_hours, 1)])  # fmt: skip
        sheet.cell(sheet.max_row, 1).number_format = "yyyy-mm"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{last}"
    sheet.freeze_panes = "A2"
    _inert(sheet)
    _fit(sheet, len(header))
    return book


def _width(value: object) -> int:
    """Display width: CJK characters take two columns."""
    if value is None:
        return 0
    if isinstance(value, date):
        return 8
    text = f"{value:.1%}" if isinstance(value, float) else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def year_workbook(
    found: kpi_year.YearReport, labels: Mapping[str, Any], zone: ZoneInfo
) -> Workbook:
    """The desk's figures month by month, then the year's total: one row per month and
    figure (the month a real date; the total's rows say "Year")."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"KPI {found.year}"
    header = [_("Month"), _("Figure"), _("Counted"), _("Met"), _("Share"), _("Target"),
              _("On target")]  # fmt: skip
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    periods: list[tuple[Any, kpi.Report]] = [
        (report.start.astimezone(zone).date(), report) for report in found.months
    ]
    periods.append((_("The year %(year)d", year=found.year), found.total))
    for period, report in periods:
        for key, _higher in kpi.FIGURES:
            figure = report.desk[key]
            met = figure.on_target
            sheet.append(
                [
                    period,
                    str(labels[key]),
                    figure.counted,
                    figure.met,
                    figure.value,
                    figure.target,
                    "" if met is None else (_("Yes") if met else _("No")),
                ]
            )
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row, 1).number_format = "yyyy-mm"
        sheet.cell(row, 5).number_format = PERCENT
        sheet.cell(row, 6).number_format = PERCENT
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{sheet.max_row}"
    sheet.freeze_panes = "A2"
    _inert(sheet)
    _fit(sheet, len(header))
    return book


def _inert(sheet: Any) -> None:
    """Group names are typed by people (staff, departments): openpyxl stores a text that
    starts with "=" as a live formula, so every such cell is made text, kept as typed."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
                cell.quotePrefix = True


def _fit(sheet: Any, columns: int) -> None:
    for index in range(1, columns + 1):
        letter = get_column_letter(index)
        width = max(_width(cell.value) for cell in sheet[letter])
        sheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)
