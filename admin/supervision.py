"""The supervisor's desk (issue 9): the day's figures and sign-off, overdue
follow-ups and work orders, the 18:00 completion report, the monthly report.

Figures come from recorder/supervision.py and recorder/dispatch.py; every
write goes through recorder/dispatch.py, whose status changes leave entry
revisions, and adds an audit row saying who did it. Supervisors and admins only.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from admin import audit, clocks, params, present
from admin import supervision_figures as figures
from admin.db import get_session, local, local_today, now, settings, zone
from admin.exports import inert_text
from admin.security import requires
from admin.supervision_forms import (
    CHECK_LABELS,
    CompleteForm,
    DispatchForm,
    FollowUpForm,
    SignOffForm,
)
from recorder import dispatch, service_level, supervision
from recorder.dispatch import DAILY_CHECK_AT, DispatchError
from recorder.errors import HotlineError
from recorder.estates import Estate
from recorder.models import LogEntry, Role, User, WorkOrder

logger = logging.getLogger(__name__)
bp = Blueprint("supervision", __name__, url_prefix="/supervision")
#: Rows shown of the missed-call and flagged-call lists (their totals are always shown).
LIST_LIMIT = 50


def _day_arg() -> date:
    return params.day_arg("day", local_today())


def _month_arg() -> date:
    raw = request.args.get("month") or local_today().strftime("%Y-%m")
    try:
        first = datetime.strptime(raw, "%Y-%m").date()
    except ValueError:
        abort(400)
    if not params.in_range(first):
        abort(400)
    return first


def _timezone() -> str:
    return settings().organization.timezone


def _max_rings() -> int:
    return present.content().compliance.max_rings


def _threshold() -> supervision.Threshold:
    """The service level's threshold: max_rings at the configured cadence (issue 20)."""
    ringing = settings().ringing
    return supervision.Threshold(
        _max_rings(), ringing.ring_on_s, ringing.ring_off_s, ringing.short_abandon_s
    )


def _departments() -> list[str]:
    """The company's departments, then those of estates with their own (issue 23): the
    overdue page's one form serves every estate's entries; dispatching an entry to
    another estate's department is refused (dispatch_entry checks the entry's own)."""
    names = list(present.content().categories.departments.names)
    for own in get_session().scalars(select(Estate.departments).order_by(Estate.code)):
        names += [str(n) for n in own or () if str(n) not in names]
    return names


def _name(user_id: int) -> str:
    user = get_session().get(User, user_id)
    return user.display_name if user else str(user_id)


def _entry(entry_id: int) -> LogEntry:
    entry = get_session().get(LogEntry, entry_id)
    if entry is None:
        abort(404)
    return entry


def _entries_of(orders: list[WorkOrder]) -> dict[int, LogEntry]:
    ids = [o.entry_id for o in orders]
    if not ids:
        return {}
    return {e.id: e for e in get_session().scalars(select(LogEntry).where(LogEntry.id.in_(ids)))}


@bp.get("/")
@requires(Role.SUPERVISOR)
def dashboard() -> ResponseReturnValue:
    day = _day_arg()
    try:
        period = figures.period_of(request.args.get("period", "today"), day, zone())
    except ValueError:
        abort(400)
    session, rings = get_session(), _max_rings()
    start, end = period.start, period.end
    missed_total, missed = supervision.missed_not_called_back_page(session, start, end, LIST_LIMIT)
    staff = supervision.compliance_by_staff(session, start, end)
    check = dispatch.log_check(session, day)
    # The period's figures are its chart's buckets added up: the calls are counted once.
    buckets = supervision.service_level_by_bucket(session, period.bounds, _threshold())
    return render_template(
        "supervision/dashboard.html",
        period=period,
        day=day,
        max_rings=rings,
        level=service_level.total(buckets),
        elsewhere_by=service_level.answered_elsewhere_by(session, start, end),
        threshold=_threshold(),
        chart=figures.service_chart(session, period, _threshold(), buckets),
        missed_total=missed_total,
        missed=missed,
        staff=staff,
        flagged_total=sum(row["calls"] - row["passed"] for row in staff),
        flagged=supervision.flagged_queue(session, start, end, LIST_LIMIT),
        check_labels=CHECK_LABELS,
        check=check,
        checked_by=_name(check.checked_by) if check else "",
        sign_off=SignOffForm(data={"day": day}),
        overdue_entries=dispatch.overdue_count(session, local_today()),
        overdue_orders=dispatch.overdue_work_order_count(session, now(), _timezone()),
        share=figures.share,
    )


@bp.post("/sign-off")
@requires(Role.SUPERVISOR)
def sign_off() -> ResponseReturnValue:
    """每天对日常电话接待记录本作检查 (检查作业指导书 3.2): once per day, by a supervisor."""
    form = SignOffForm()
    if not form.validate_on_submit() or form.day.data is None or form.day.data > local_today():
        abort(400)
    if not params.in_range(form.day.data):
        abort(400)
    day = form.day.data
    session = get_session()
    back = redirect(url_for("supervision.dashboard", day=day.isoformat()))
    try:
        check = dispatch.sign_off(session, day, current_user.id, (form.notes.data or "").strip())
        check.checked_at = now()  # the desk's clock, like every other time it writes
        audit.record(session, "sign_off", f"log:{day}")
        session.commit()
    except (DispatchError, IntegrityError):
        # Two supervisors at once: the unique day refuses the second at commit.
        session.rollback()
        flash(_("The log of %(day)s is already signed off.", day=day.isoformat()), "error")
        return back
    logger.info("log of %s signed off by %s", day, current_user.username)
    flash(_("The log of %(day)s is signed off.", day=day.isoformat()), "info")
    return back


def _overdue_page(status: int = 200, **forms: Any) -> ResponseReturnValue:
    session, zone_name = get_session(), _timezone()
    entries = dispatch.overdue(session, local_today())
    ids = [e.id for e in entries]
    orders = dispatch.overdue_work_orders(session, now(), zone_name)
    page = render_template(
        "supervision/overdue.html",
        entries=entries,
        open_orders=dispatch.open_work_orders(session, ids),
        follow_ups=dispatch.last_follow_ups(session, ids),
        orders=orders,
        order_entries=_entries_of(orders),
        deadline=lambda o: local(dispatch.work_order_deadline(o, zone_name)),
        can_dispatch=lambda e: any(s.value == "dispatched" for s in dispatch.ALLOWED[e.status]),
        open_items=supervision.open_items_by_staff(session),
        dispatch_form=forms.get("dispatch") or DispatchForm.with_departments(_departments()),
        complete_form=forms.get("complete") or CompleteForm(),
        follow_up_form=forms.get("follow_up") or FollowUpForm(),
        failed_entry=forms.get("entry_id"),
    )
    return page, status


@bp.get("/overdue")
@requires(Role.SUPERVISOR)
def overdue() -> ResponseReturnValue:
    return _overdue_page()


def _refused(exc: HotlineError, entry: LogEntry) -> ResponseReturnValue:
    get_session().rollback()
    logger.info("supervision: refused for entry %s: %s", entry.id, exc)
    flash(_("Not possible for entry %(id)d in its current state.", id=entry.id), "error")
    return _overdue_page(409)


@bp.post("/entries/<int:entry_id>/dispatch")
@requires(Role.SUPERVISOR)
def dispatch_entry(entry_id: int) -> ResponseReturnValue:
    """派工: a numbered work order for a configured department."""
    entry = _entry(entry_id)
    names = present.departments(entry.estate_id)  # its estate's own, else the company's
    form = DispatchForm.with_departments(names)
    if not form.validate_on_submit():
        return _overdue_page(400, dispatch=form, entry_id=entry_id)
    session, department = get_session(), form.department.data or ""
    try:
        at = now()
        order = dispatch.dispatch(
            session,
            entry,
            department,
            names,
            current_user.id,
            now=at,
            due_at=clocks.order_due(entry, at),
            role=current_user.role,
        )
    except HotlineError as exc:
        return _refused(exc, entry)
    audit.record(session, "dispatch", f"entry:{entry.id}", work_order=order.number)
    session.commit()
    message = _(
        "Work order %(number)s sent to %(department)s.", number=order.number, department=department
    )
    flash(message, "info")
    return redirect(url_for("supervision.overdue"))


@bp.post("/entries/<int:entry_id>/complete")
@requires(Role.SUPERVISOR)
def complete(entry_id: int) -> ResponseReturnValue:
    """The department's report on a work order: done, or not done with a reason."""
    entry = _entry(entry_id)
    form = CompleteForm()
    if not form.validate_on_submit():
        return _overdue_page(400, complete=form, entry_id=entry_id)
    session = get_session()
    order = session.get(WorkOrder, form.order_id.data)
    if order is None or order.entry_id != entry.id:
        abort(404)
    done = form.outcome.data == "done"
    reason = (form.reason.data or "").strip() or None
    try:
        at = now()
        dispatch.complete(
            session, order, done, current_user.id, reason, now=at, role=current_user.role
        )
        if done:
            clocks.restart_follow_up(session, entry, at)
    except HotlineError as exc:
        return _refused(exc, entry)
    audit.record(session, "work_order", f"entry:{entry.id}", work_order=order.number, done=done)
    session.commit()
    flash(_("Work order %(number)s reported.", number=order.number), "info")
    return redirect(url_for("supervision.overdue"))


@bp.post("/entries/<int:entry_id>/follow-up")
@requires(Role.SUPERVISOR)
def follow_up(entry_id: int) -> ResponseReturnValue:
    """回访: reached? satisfied? notes (首问责任制培训细则 1.4.3.2 做好回访记录)."""
    entry = _entry(entry_id)
    form = FollowUpForm()
    if not form.validate_on_submit():
        return _overdue_page(400, follow_up=form, entry_id=entry_id)
    session = get_session()
    reached = form.reached.data == "yes"
    satisfied = {"yes": True, "no": False}.get(form.satisfied.data or "")
    notes = (form.notes.data or "").strip()
    try:
        dispatch.record_follow_up(
            session,
            entry,
            reached,
            satisfied,
            notes,
            current_user.id,
            now(),
            role=current_user.role,
        )
    except HotlineError as exc:
        return _refused(exc, entry)
    audit.record(session, "follow_up", f"entry:{entry.id}", reached=reached)
    session.commit()
    flash(_("Follow-up of entry %(id)d recorded.", id=entry.id), "info")
    return redirect(url_for("supervision.overdue"))


@bp.get("/daily")
@requires(Role.SUPERVISOR)
def daily() -> ResponseReturnValue:
    """每日18:00对当日的派工完成情况作检查 (检查作业指导书 3.3), as a report."""
    day = _day_arg()
    session = get_session()
    report = dispatch.daily_completion(session, day, _timezone())
    return render_template(
        "supervision/daily.html",
        day=day,
        report=report,
        entries=_entries_of([*report.not_done, *report.open]),
        before_check=now() < datetime.combine(day, DAILY_CHECK_AT, zone()),
        check_time=DAILY_CHECK_AT.strftime("%H:%M"),
        check=dispatch.log_check(session, day),
        previous=(day - timedelta(days=1)).isoformat(),
        share=figures.share,
    )


@bp.get("/monthly")
@requires(Role.SUPERVISOR)
def monthly() -> ResponseReturnValue:
    first = _month_arg()
    month = figures.monthly(get_session(), first, zone(), _threshold())
    return render_template(
        "supervision/monthly.html",
        month=first.strftime("%Y-%m"),
        report=month,
        titles=month.titles(),
        charts=month.charts(),
        label=figures.label,
        share=figures.share,
    )


@bp.get("/monthly.csv")
@requires(Role.SUPERVISOR)
def monthly_csv() -> ResponseReturnValue:
    first, session = _month_arg(), get_session()
    month = figures.monthly(session, first, zone(), _threshold())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Section"), _("Key"), _("Label"), _("Value")])
    # Department and staff names are typed by people: no cell may run as a formula.
    writer.writerows([inert_text(cell) for cell in r] for r in month.rows())
    name = first.strftime("%Y-%m")
    audit.record(session, "export", f"monthly:{name}", format="csv")
    session.commit()
    # UTF-8 with a byte-order mark, so Excel reads the Chinese correctly.
    response = Response(buffer.getvalue().encode("utf-8-sig"), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="monthly-{name}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
