"""Work orders as the technician sees them (issue 21): the open orders of a department or
a technician, on a phone's browser too, and each order's notice (派工单), printable on A4,
with its return form."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from admin import audit, present
from admin.db import get_session
from admin.matter_forms import ReturnForm
from admin.security import requires
from recorder.models import LogEntry, Role, User, WorkOrder

bp = Blueprint("orders", __name__, url_prefix="/orders")


@bp.get("/")
@requires(Role.CLERK)
def index() -> ResponseReturnValue:
    """Open orders, oldest first; ?technician= or ?department= narrows them."""
    technician = (request.args.get("technician") or "").strip()[:64]
    department = (request.args.get("department") or "").strip()[:64]
    query = select(WorkOrder, LogEntry).join(LogEntry, WorkOrder.entry_id == LogEntry.id)
    query = query.where(WorkOrder.completed.is_(None))
    if technician:
        query = query.where(WorkOrder.technician == technician)
    if department:
        query = query.where(WorkOrder.department == department)
    rows = get_session().execute(query.order_by(WorkOrder.dispatched_at, WorkOrder.id)).all()
    return render_template(
        "orders/index.html",
        rows=rows,
        technician=technician,
        department=department,
        departments=present.content().categories.departments.names,
    )


@bp.get("/<int:order_id>")
@requires(Role.CLERK)
def show(order_id: int) -> ResponseReturnValue:
    session = get_session()
    order = session.get(WorkOrder, order_id)
    if order is None:
        abort(404)
    entry = session.get_one(LogEntry, order.entry_id)
    by = session.get(User, order.dispatched_by) if order.dispatched_by else None
    # The notice shows the resident's unit and number: a look at personal data.
    audit.record(session, "view_order", f"work_order:{order.id}", entry=entry.id)
    session.commit()
    return render_template(
        "orders/show.html",
        order=order,
        entry=entry,
        dispatcher=by,
        return_form=ReturnForm(),
        organization=present.organization_name(order.estate_id),
    )
