"""The KPI report (issue 20): the month's figures of recorder/kpi.py against their
targets, for the desk and per category, department and staff member, charted, and
exported to XLSX (real dates, column widths, filters, frozen header); and the year's
(recorder/kpi_year.py): each month's desk figures and the year's total (the annual
summary, seed 001 篇3; seed 002 plan 三.3)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from admin import audit, params, present
from admin import supervision_figures as figures
from admin.db import get_session, local_today, settings, zone
from admin.security import requires
from recorder import kpi, kpi_cache, kpi_year
from recorder.models import Role, User

bp = Blueprint("kpi", __name__, url_prefix="/supervision/kpi")

LABELS = {
    "repair_timely": _l("Repairs on time (报修及时率)"),
    "rework": _l("Repairs reported again (返修率)"),
    "follow_up": _l("Repairs followed up by phone"),
    "satisfaction": _l("Satisfied in follow-ups"),
    "complaints_handled": _l("Complaints handled"),
    "relay_on_time": _l("Messages relayed on time (转告)"),
    "callback_same_day": _l("Missed calls called back the same day"),
}
DIMENSIONS = {
    "category": _l("By category"),
    "department": _l("By department"),
    "staff": _l("By staff member"),
}


def _month() -> date:
    raw = request.args.get("month") or local_today().strftime("%Y-%m")
    try:
        first = datetime.strptime(raw, "%Y-%m").date()
    except ValueError:
        abort(400)
    if not params.in_range(first):
        abort(400)
    return first


def targets() -> kpi.Targets:
    org = settings().organization
    return kpi.Targets(
        repair_timely=org.kpi_repair_timely,
        rework=org.kpi_rework_max,
        follow_up=org.kpi_follow_up,
        satisfaction=org.kpi_satisfaction or None,
        complaints_handled=org.kpi_complaints_handled,
        relay_on_time=org.kpi_relay_on_time,
        callback_same_day=org.kpi_callback_same_day,
        repair_limit_hours=org.kpi_repair_limit_hours,
        repair_limit_hours_by_department=tuple(
            sorted(org.kpi_repair_limit_hours_by_department.items())
        ),
        rework_days=org.kpi_rework_days,
        rework_same=tuple(org.kpi_rework_same),
    )


def _counter() -> Callable[[datetime, datetime], kpi.Report]:
    """monthly_kpis over [start, end) with the desk's category rules, names and targets;
    a month that ended before today is counted once for the data as they stand
    (recorder/kpi_cache.py: a new row or a correction anywhere counts it again)."""
    session = get_session()
    rules = present.content().categories
    by_key = {c.key: c for c in rules.category}
    other = by_key["other"]
    names = {uid: name for uid, name in session.execute(select(User.id, User.display_name))}
    goals = targets()
    today = datetime.combine(local_today(), time.min, zone())
    kept: kpi_cache.Kept = current_app.extensions.setdefault("kpi_months", kpi_cache.Kept())
    rules_key = tuple((c.key, c.reply_within_minutes, c.department) for c in rules.category)
    names_key = tuple(sorted(names.items()))
    stamps: list[tuple[int, ...]] = []

    def fresh(start: datetime, end: datetime) -> kpi.Report:
        return kpi.monthly_kpis(
            session,
            start,
            end,
            zone(),
            reply_minutes=lambda key: by_key.get(key, other).reply_within_minutes,
            category_department=lambda key: by_key.get(key, other).department,
            staff_name=lambda uid: names.get(uid, str(uid)),
            targets=goals,
        )

    def count(start: datetime, end: datetime) -> kpi.Report:
        if end > today:  # the month still running: always afresh
            return fresh(start, end)
        if not stamps:
            stamps.append(kpi_cache.stamp(session))
        key = (start, end, zone().key, goals, rules_key, names_key, stamps[0])
        return kept.get(key, lambda: fresh(start, end))

    return count


def report(first: date) -> kpi.Report:
    return _counter()(*figures.month_bounds(first, zone()))


def year_report(year: int) -> kpi_year.YearReport:
    bounds = [figures.month_bounds(date(year, month, 1), zone()) for month in range(1, 13)]
    return kpi_year.yearly_kpis(year, bounds, _counter())


def group_label(dimension: str, key: str) -> str:
    return present.category_label(key) if dimension == "category" else key


def chart(found: kpi.Report) -> dict[str, Any]:
    """The desk's figures beside their targets, in per cent (Chart.js bars)."""
    keys = [key for key, _higher in kpi.FIGURES]

    def pct(value: float | None) -> float | None:
        return None if value is None else round(value * 100, 1)

    return {
        "decimals": True,
        "labels": [str(LABELS[key]) for key in keys],
        "datasets": [
            {"label": _("This month (%)"), "data": [pct(found.desk[k].value) for k in keys]},
            {"label": _("Target (%)"), "data": [pct(found.desk[k].target) for k in keys]},
        ],
    }


@bp.get("/")
@requires(Role.SUPERVISOR)
def page() -> ResponseReturnValue:
    first = _month()
    found = report(first)
    return render_template(
        "supervision/kpi.html",
        month=first.strftime("%Y-%m"),
        report=found,
        labels=LABELS,
        dimensions=DIMENSIONS,
        group_label=group_label,
        chart=chart(found),
        share=figures.share,
    )


@bp.get("/kpi.xlsx")
@requires(Role.SUPERVISOR)
def xlsx() -> ResponseReturnValue:
    from admin.kpi_xlsx import workbook

    first, session = _month(), get_session()
    found = report(first)
    name = first.strftime("%Y-%m")
    data = io.BytesIO()
    workbook(found, first, LABELS, DIMENSIONS, group_label, zone()).save(data)
    audit.record(session, "export", f"kpi:{name}", format="xlsx")
    session.commit()
    return _xlsx(data.getvalue(), f"kpi-{name}.xlsx")


def year_chart(found: kpi_year.YearReport) -> dict[str, Any]:
    """Each figure month by month, in per cent (grouped bars: one colour per figure)."""

    def pct(value: float | None) -> float | None:
        return None if value is None else round(value * 100, 1)

    return {
        "decimals": True,
        "labels": [month.start.astimezone(zone()).strftime("%Y-%m") for month in found.months],
        "datasets": [
            {"label": str(LABELS[key]), "data": [pct(m.desk[key].value) for m in found.months]}
            for key, _higher in kpi.FIGURES
        ],
    }


@bp.get("/year")
@requires(Role.SUPERVISOR)
def year_page() -> ResponseReturnValue:
    year = params.year_arg("year", local_today().year)
    found = year_report(year)
    return render_template(
        "supervision/kpi_year.html",
        year=year,
        found=found,
        month_of=lambda report: report.start.astimezone(zone()).strftime("%Y-%m"),
        labels=LABELS,
        chart=chart(found.total),
        months_chart=year_chart(found),
        share=figures.share,
    )


@bp.get("/kpi-year.xlsx")
@requires(Role.SUPERVISOR)
def year_xlsx() -> ResponseReturnValue:
    from admin.kpi_xlsx import year_workbook

    year, session = params.year_arg("year", local_today().year), get_session()
    data = io.BytesIO()
    year_workbook(year_report(year), LABELS, zone()).save(data)
    audit.record(session, "export", f"kpi:{year}", format="xlsx")
    session.commit()
    return _xlsx(data.getvalue(), f"kpi-{year}.xlsx")


def _xlsx(body: bytes, filename: str) -> Response:
    response = Response(
        body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
