"""The complaint register (客户投诉登记表), the handling notice (处理通知单) and the
complaint's way to its close (issue 21, 首问责任制培训细则 1.4.2; recorder/complaints.py).

1.4.2.1.2: every complaint is recorded with its number, resident, summary and result;
1.4.2.1.3: the notice carries the same number; 1.4.2.1.1: letters, faxes and visits are
entered by hand; 1.4.2.2.2: major ones go to the supervisors' queue the same day.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from admin import audit, clocks, params, present
from admin.db import get_session, local_today, now, zone
from admin.forms import ComplaintEntryForm, ComplaintForm, EmptyForm
from admin.security import requires
from recorder import complaints as register
from recorder.errors import HotlineError
from recorder.models import Complaint, EntryStatus, LogEntry, Role, User

bp = Blueprint("complaints", __name__, url_prefix="/complaints")
CHANNEL_LABELS = {
    "phone": _l("Phone"),
    "letter": _l("Letter"),
    "fax": _l("Fax"),
    "visit": _l("Visit"),
}
SEVERITY_LABELS = {"simple": _l("Simple"), "major": _l("Major")}


def _complaint(complaint_id: int) -> Complaint:
    complaint = get_session().scalar(
        select(Complaint)
        .where(Complaint.id == complaint_id)
        .options(joinedload(Complaint.entry).joinedload(LogEntry.responsible))
    )
    if complaint is None:
        abort(404)
    return complaint


@bp.get("/")
@requires(Role.CLERK)
def index() -> ResponseReturnValue:
    year = params.year_arg("year", local_today().year)
    complaints = get_session().scalars(
        select(Complaint).where(Complaint.year == year).order_by(Complaint.seq)
    )
    return render_template(
        "complaints/index.html",
        complaints=list(complaints),
        year=year,
        channels=CHANNEL_LABELS,
        severities=SEVERITY_LABELS,
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Role.CLERK)
def new() -> ResponseReturnValue:
    """A complaint by letter, fax or visit, entered by hand (1.4.2.1.1)."""
    form = ComplaintEntryForm()
    if not form.is_submitted():
        form.received_at.data = (
            now().astimezone(zone()).replace(tzinfo=None, second=0, microsecond=0)
        )
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("complaints/new.html", form=form), status
    session = get_session()
    assert form.received_at.data is not None
    try:
        complaint = register.register_by_hand(
            session,
            channel=form.channel.data or "",
            received_at=form.received_at.data.replace(tzinfo=zone()),
            summary=form.summary.data or "",
            user_id=current_user.id,
            surname=(form.surname.data or "").strip() or None,
            unit=(form.unit.data or "").strip() or None,
            phone=(form.phone.data or "").strip() or None,
        )
        entry = session.get_one(LogEntry, complaint.entry_id)
        clocks.refill(entry, set())
    except HotlineError as exc:
        session.rollback()
        flash(str(exc), "error")
        return render_template("complaints/new.html", form=form), 400
    audit.record(session, "complaint", f"complaint:{complaint.number}", channel=complaint.channel)
    session.commit()
    flash(_("Complaint %(number)s registered.", number=complaint.number), "info")
    return redirect(url_for("complaints.notice", complaint_id=complaint.id))


@bp.get("/<int:complaint_id>/notice")
@requires(Role.CLERK)
def notice(complaint_id: int) -> ResponseReturnValue:
    return notice_page(_complaint(complaint_id))


def notice_page(
    complaint: Complaint, form: ComplaintForm | None = None, status: int = 200
) -> ResponseReturnValue:
    from admin import letter_forms

    entry = complaint.entry
    form = form or ComplaintForm(
        data={
            "result": complaint.result,
            "measures": complaint.measures,
            "decision": complaint.decision,
            "closed": complaint.closed_at is not None,
            "internal": complaint.internal,
            "cause": complaint.cause or "",
            "staff_user_id": str(complaint.staff_user_id or ""),
            "explanation": complaint.explanation,
        }
    )
    _staff(form)
    remedy = clocks.clock_of("complaint", None)
    page = render_template(
        "complaints/notice.html",
        complaint=complaint,
        form=form,
        escalate_form=EmptyForm(),
        organization=present.organization_name(complaint.estate_id),
        reply_by=entry.promised_reply_at
        or entry.received_at + timedelta(minutes=remedy.reply_minutes),
        # 1.4.4.3: 补救最长不应超过三天 (the complaint rule's follow-up days).
        remedy_by=entry.received_at + timedelta(days=remedy.follow_up_days),
        channels=CHANNEL_LABELS,
        severities=SEVERITY_LABELS,
        satisfied=register.satisfied(get_session(), entry),
        staff_name=_staff_name(complaint.staff_user_id),
        **letter_forms.context(complaint),
    )
    return page, status


def _staff_name(user_id: int | None) -> str | None:
    user = get_session().get(User, user_id) if user_id else None
    return f"{user.display_name} ({user.job_number})" if user else None


def _staff(form: ComplaintForm) -> ComplaintForm:
    from admin.calls import staff_choices

    form.staff_user_id.choices = [("", "—"), *((str(i), n) for i, n in staff_choices())]
    return form


@bp.post("/<int:complaint_id>/escalate")
@requires(Role.CLERK)
def escalate(complaint_id: int) -> ResponseReturnValue:
    """重大问题的投诉: to the 物业中心主任 (the supervisors' queue), reported today."""
    complaint = _complaint(complaint_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    session = get_session()
    try:
        register.escalate(session, complaint, current_user.id, now())
    except HotlineError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("complaints.notice", complaint_id=complaint.id))
    audit.record(session, "escalate", f"complaint:{complaint.number}")
    session.commit()
    flash(_("Complaint %(number)s escalated to the supervisors.", number=complaint.number), "info")
    return redirect(url_for("complaints.notice", complaint_id=complaint.id))


@bp.get("/escalated")
@requires(Role.SUPERVISOR)
def escalated() -> ResponseReturnValue:
    """The supervisors' queue of major complaints not closed."""
    from admin.calls import staff_choices

    session = get_session()
    # Matters the desk could not solve, handed over to a supervisor (003 篇2 5 上报主管领导;
    # 004 三 3 遇无法解决的问题时, 可提交给主管处理).
    handed_up = session.scalars(
        select(LogEntry)
        .join(User, LogEntry.responsible_user_id == User.id)
        .where(User.role.in_([Role.SUPERVISOR, Role.ADMIN]), LogEntry.status != EntryStatus.CLOSED)
        .order_by(LogEntry.received_at)
    ).all()
    return render_template(
        "complaints/escalated.html",
        handed_up=handed_up,
        complaints=register.escalated_queue(session),
        about_staff=register.about_staff(session, local_today().year),
        names=dict(staff_choices()),
    )


@bp.post("/<int:complaint_id>")
@requires(Role.SUPERVISOR)
def close(complaint_id: int) -> ResponseReturnValue:
    """The handling result and corrective measures; closing only after a satisfied
    follow-up or with the supervisor's decision (1.4.2.2.4). Each change a revision."""
    complaint = _complaint(complaint_id)
    form = _staff(ComplaintForm())
    if not form.validate_on_submit():
        abort(400)
    session = get_session()
    back = redirect(url_for("complaints.notice", complaint_id=complaint.id))
    try:
        register.record(
            session,
            complaint,
            current_user.id,
            result=form.result.data,
            measures=form.measures.data,
        )
        if form.internal.data:
            staff = form.staff_user_id.data or ""
            register.set_internal(
                session,
                complaint,
                current_user.id,
                cause=form.cause.data or None,
                staff_user_id=int(staff) if staff.isdigit() else None,
                explanation=form.explanation.data,
            )
        if form.closed.data and complaint.closed_at is None:
            register.close(
                session, complaint, current_user.id, current_user.role, now(), form.decision.data
            )
    except HotlineError as exc:
        session.rollback()
        flash(_("Not closed: %(why)s", why=str(exc)), "error")
        return notice_page(_complaint(complaint_id), form, 409)
    audit.record(session, "complaint", f"complaint:{complaint.number}", closed=form.closed.data)
    session.commit()
    flash(_("Saved."), "info")
    return back
