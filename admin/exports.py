"""The reception log as CSV (for Excel) and XLSX, and a printable daily log page."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from admin import audit, params, present, queries
from admin.db import get_session, local_today, zone
from admin.security import requires
from recorder.models import ENTRY_FIELDS, LogEntry, Role

bp = Blueprint("exports", __name__, url_prefix="/exports")
MAX_DAYS = 366


def _range() -> tuple[date, date]:
    first = params.day_arg("date_from", local_today())
    last = params.day_arg("date_to", first)
    if last < first or (last - first) > timedelta(days=MAX_DAYS):
        abort(400)
    return first, last


def row(entry: LogEntry) -> list[Any]:
    """One line of the paper book, in ENTRY_FIELDS order, as text."""
    cells: list[Any] = []
    for name in ENTRY_FIELDS:
        value = getattr(entry, name)
        if name in ("caller_number", "phone"):
            cells.append(present.phone(value))
        elif name in ("summary", "handling"):
            cells.append(present.masked_text(value))
        elif name == "category":
            cells.append(present.category_label(value))
        elif name == "urgency":
            cells.append(str(present.URGENCY_LABELS[value]))
        elif name == "status":
            cells.append(str(present.STATUS_LABELS[value]))
        elif name == "responsible_user_id":
            cells.append(entry.responsible.display_name if entry.responsible else "")
        elif isinstance(value, date):
            cells.append(present.when(value))
        else:
            cells.append("" if value is None else str(value))
    return cells


def _entries(kind: str) -> tuple[str, list[LogEntry]]:
    first, last = _range()
    session = get_session()
    entries = queries.in_range(session, first, last, zone())
    audit.record(session, "export", f"log:{first}..{last}", format=kind, rows=len(entries))
    session.commit()
    return f"reception-log-{first}-{last}.{kind}", entries


def _download(body: bytes, name: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/")
@requires(Role.SUPERVISOR)
def index() -> ResponseReturnValue:
    today = local_today().isoformat()
    return render_template("exports/index.html", today=today)


@bp.get("/log.csv")
@requires(Role.SUPERVISOR)
def log_csv() -> ResponseReturnValue:
    name, entries = _entries("csv")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(present.FIELD_HEADERS[n]) for n in ENTRY_FIELDS])
    for entry in entries:
        writer.writerow([inert_text(cell) for cell in row(entry)])
    # UTF-8 with a byte-order mark, so Excel reads the Chinese correctly.
    return _download(buffer.getvalue().encode("utf-8-sig"), name, "text/csv")


#: What makes a spreadsheet read a cell as a formula (OWASP "CSV injection"): these
#: first characters, also after leading spaces, which Excel and LibreOffice skip.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def is_formula_like(text: str) -> bool:
    if text.strip(" ") == "-":  # a lone dash (the reports' "none") is text to every spreadsheet
        return False
    return text.lstrip(" ")[:1] in FORMULA_TRIGGERS or text[:1] in FORMULA_TRIGGERS


def inert_text(cell: Any) -> str:
    """A CSV cell no spreadsheet evaluates: a formula-like text gets a leading apostrophe,
    the text prefix spreadsheets hide; the rest of the text is kept as it was.

    Callers control some fields (a SIP From of `=0+1` becomes the caller number),
    so every cell is treated as hostile, numbers-looking or not (`+1+1`, `-2+3+cmd|...`).
    """
    text = str(cell)
    return "'" + text if is_formula_like(text) else text


@bp.get("/log.xlsx")
@requires(Role.SUPERVISOR)
def log_xlsx() -> ResponseReturnValue:
    from openpyxl import Workbook

    name, entries = _entries("xlsx")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Phone reception log")
    sheet.append([str(present.FIELD_HEADERS[n]) for n in ENTRY_FIELDS])
    for entry in entries:
        sheet.append([_xlsx_text(cell) for cell in row(entry)])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            # Every cell is text: openpyxl would store "=..." as a live formula.
            # quotePrefix keeps it text when a clerk edits the cell in Excel too.
            cell.data_type = "s"
            cell.quotePrefix = is_formula_like(str(cell.value or ""))
    _xlsx_dates(sheet, entries)
    _xlsx_layout(sheet)
    buffer = io.BytesIO()
    book.save(buffer)
    mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(buffer.getvalue(), name, mimetype)


#: Columns written as real dates (issue 21: sortable and filterable in Excel), and formats.
DATE_COLUMNS = {
    "received_at": "yyyy-mm-dd hh:mm",
    "promised_reply_at": "yyyy-mm-dd hh:mm",
    "follow_up_due": "yyyy-mm-dd",
}
#: Column widths in characters, in ENTRY_FIELDS order.
WIDTHS = (17, 14, 8, 14, 14, 10, 10, 40, 30, 10, 17, 12, 10, 12)


def _xlsx_dates(sheet: Any, entries: list[LogEntry]) -> None:
    """The date columns as Excel dates in the desk's local time (a date is never a formula)."""
    for index, name in enumerate(ENTRY_FIELDS):
        if name not in DATE_COLUMNS:
            continue
        for entry, cell in zip(
            entries, sheet.iter_rows(min_row=2, min_col=index + 1, max_col=index + 1), strict=True
        ):
            value = getattr(entry, name)
            target = cell[0]
            if value is None:
                target.value = None
                continue
            if isinstance(value, datetime):
                value = value.astimezone(zone()).replace(tzinfo=None)
            target.value = value
            target.number_format = DATE_COLUMNS[name]
            target.quotePrefix = False


def _xlsx_layout(sheet: Any) -> None:
    """Widths, the header row frozen, and filters on every column."""
    from openpyxl.utils import get_column_letter

    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def _xlsx_text(cell: Any) -> str:
    """The text as shown, less the control characters XLSX cannot hold (openpyxl refuses them)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return str(ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", str(cell)))


@bp.get("/daily")
@requires(Role.CLERK)
def daily() -> ResponseReturnValue:
    """The day's page of the log book, for printing on A4 landscape and filing."""
    from admin import logbook
    from recorder import dispatch
    from recorder.models import User

    day = params.day_arg("day", local_today())
    session = get_session()
    entries = queries.in_range(session, day, day, zone())
    audit.record(session, "export", f"daily:{day}", format="print", rows=len(entries))
    session.commit()
    check = dispatch.log_check(session, day)
    checker = session.get(User, check.checked_by) if check else None
    return render_template(
        "exports/daily.html",
        day=day,
        columns=logbook.COLUMNS,
        lines=logbook.lines(session, entries),
        organization=present.organization_name(),
        check=check,
        checker=checker,
    )
