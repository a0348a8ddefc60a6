"""The complaint register (客户投诉登记表) and the handling notice (处理通知单).

首问责任制培训细则 1.4.2.1.2: every complaint is recorded with its number,
resident, summary and result; 1.4.2.1.3: the notice carries the same number.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from admin import params
from admin.db import get_session, local_today, now
from admin.forms import ComplaintForm
from admin.security import requires
from recorder.models import Complaint, LogEntry, Role

bp = Blueprint("complaints", __name__, url_prefix="/complaints")


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
    return render_template("complaints/index.html", complaints=list(complaints), year=year)


@bp.get("/<int:complaint_id>/notice")
@requires(Role.CLERK)
def notice(complaint_id: int) -> ResponseReturnValue:
    complaint = _complaint(complaint_id)
    form = ComplaintForm(
        data={"result": complaint.result, "closed": complaint.closed_at is not None}
    )
    return render_template("complaints/notice.html", complaint=complaint, form=form)


@bp.post("/<int:complaint_id>")
@requires(Role.SUPERVISOR)
def close(complaint_id: int) -> ResponseReturnValue:
    """Record the handling result and, once satisfied, the closing date."""
    complaint = _complaint(complaint_id)
    form = ComplaintForm()
    if not form.validate_on_submit():
        abort(400)
    complaint.result = (form.result.data or "").strip() or None
    if form.closed.data and complaint.closed_at is None:
        complaint.closed_at = now()
    elif not form.closed.data:
        complaint.closed_at = None
    get_session().commit()
    flash(_("Saved."), "info")
    return redirect(url_for("complaints.notice", complaint_id=complaint.id))
