"""The reception log as CSV (for Excel) and XLSX, and a printable daily log page."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue

from admin import audit, present, queries
from admin.db import get_session, local_today, zone
from admin.security import requires
from recorder.models import ENTRY_FIELDS, LogEntry, Role

bp = Blueprint("exports", __name__, url_prefix="/exports")
MAX_DAYS = 366


def _range() -> tuple[date, date]:
    today = local_today()
    try:
        first = date.fromisoformat(request.args.get("date_from") or today.isoformat())
        last = date.fromisoformat(request.args.get("date_to") or first.isoformat())
    except ValueError:
        abort(400)
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
    writer.writerow([present.FIELD_HEADERS[n] for n in ENTRY_FIELDS])
    for entry in entries:
        writer.writerow([_csv_safe(cell) for cell in row(entry)])
    # UTF-8 with a byte-order mark, so Excel reads the Chinese correctly.
    return _download(buffer.getvalue().encode("utf-8-sig"), name, "text/csv")


def _csv_safe(cell: Any) -> Any:
    """Neutralise spreadsheet formulas in resident-supplied text."""
    text = str(cell)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not text[1:2].isdigit() else text


@bp.get("/log.xlsx")
@requires(Role.SUPERVISOR)
def log_xlsx() -> ResponseReturnValue:
    from openpyxl import Workbook

    name, entries = _entries("xlsx")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "电话接待记录本"
    sheet.append([present.FIELD_HEADERS[n] for n in ENTRY_FIELDS])
    for entry in entries:
        sheet.append([_csv_safe(cell) for cell in row(entry)])
    buffer = io.BytesIO()
    book.save(buffer)
    mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(buffer.getvalue(), name, mimetype)


@bp.get("/daily")
@requires(Role.CLERK)
def daily() -> ResponseReturnValue:
    """The day's page of the log book, for printing."""
    day_arg = request.args.get("day") or local_today().isoformat()
    try:
        day = date.fromisoformat(day_arg)
    except ValueError:
        abort(400)
    session = get_session()
    entries = queries.in_range(session, day, day, zone())
    audit.record(session, "export", f"daily:{day}", format="print", rows=len(entries))
    session.commit()
    headers = [present.FIELD_HEADERS[n] for n in ENTRY_FIELDS]
    return render_template(
        "exports/daily.html", day=day, headers=headers, rows=[row(e) for e in entries]
    )
