"""A matter's steps from the entry page (issue 21), for every clerk, not only from the
overdue list: work orders (派工) to a department or a named technician with the deadline
from the category rules, returns (返单), re-dispatch (改派), follow-ups (回访), status moves
by the state machine, hand-overs of the owner (首问负责人), a supervisor's closing.

Every write goes through recorder/ (dispatch, matter_states), which refuses what the
procedure does not allow; a refusal shows the entry again with why, and writes nothing.
Every step adds an audit row saying who did it.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from admin import audit, clocks, present
from admin.db import get_session, now
from admin.entries import _entry, _form, _render
from admin.matter_forms import (
    CloseForm,
    HandOverForm,
    MoveForm,
    OrderForm,
    RedispatchForm,
    ReturnForm,
)
from admin.security import requires
from admin.supervision_forms import FollowUpForm
from recorder import dispatch, matter_states
from recorder.errors import HotlineError
from recorder.matter_states import Via
from recorder.models import EntryStatus, LogEntry, Role, User, WorkOrder

logger = logging.getLogger(__name__)
bp = Blueprint("matters", __name__, url_prefix="/entries")


def departments(entry: LogEntry) -> list[str]:
    return present.departments(entry.estate_id)


def _back(entry: LogEntry) -> ResponseReturnValue:
    return redirect(url_for("entries.show", entry_id=entry.id) + "#matter")


def _refused(entry: LogEntry, exc: HotlineError) -> ResponseReturnValue:
    get_session().rollback()
    logger.info("entry %s: refused for %s: %s", entry.id, current_user.username, exc)
    flash(
        _("Not possible for entry %(id)d in its current state.", id=entry.id) + f" ({exc})", "error"
    )
    fresh = _entry(entry.id)
    return _render(fresh, _form(fresh, data=False), 409)


def _invalid(entry: LogEntry, form: object) -> ResponseReturnValue:
    errors = getattr(form, "errors", {})
    for field, messages in errors.items():
        for message in messages:
            flash(f"{field}: {message}", "error")
    return _render(entry, _form(entry, data=False), 400)


def _order(entry: LogEntry, order_id: int) -> WorkOrder:
    order = get_session().get(WorkOrder, order_id)
    if order is None or order.entry_id != entry.id:
        abort(404)
    return order


@bp.post("/<int:entry_id>/orders")
@requires(Role.CLERK)
def new_order(entry_id: int) -> ResponseReturnValue:
    """派工 from any entry: numbered, due by the category's rule."""
    entry = _entry(entry_id)
    form = OrderForm().with_departments(departments(entry))
    if not form.validate_on_submit():
        return _invalid(entry, form)
    session, at = get_session(), now()
    try:
        order = dispatch.dispatch(
            session,
            entry,
            form.department.data or "",
            departments(entry),
            current_user.id,
            at,
            technician=form.technician.data,
            due_at=clocks.order_due(entry, at),
            role=current_user.role,
        )
    except HotlineError as exc:
        return _refused(entry, exc)
    audit.record(session, "dispatch", f"entry:{entry.id}", work_order=order.number)
    session.commit()
    flash(
        _(
            "Work order %(number)s sent to %(department)s.",
            number=order.number,
            department=order.department,
        ),
        "info",
    )
    return _back(entry)


@bp.post("/<int:entry_id>/orders/<int:order_id>/return")
@requires(Role.CLERK)
def order_return(entry_id: int, order_id: int) -> ResponseReturnValue:
    """返单: done, or not done with the reason; parts; a paid service's fee."""
    entry = _entry(entry_id)
    order = _order(entry, order_id)
    form = ReturnForm()
    if not form.validate_on_submit():
        return _invalid(entry, form)
    session, at = get_session(), now()
    done = form.outcome.data == "done"
    try:
        dispatch.complete(
            session,
            order,
            done,
            current_user.id,
            form.reason.data,
            at,
            parts=form.parts.data,
            paid=bool(form.paid.data),
            fee_fen=form.fee_fen(),
            role=current_user.role,
        )
        if done:
            clocks.restart_follow_up(session, entry, at)
    except HotlineError as exc:
        return _refused(entry, exc)
    audit.record(session, "work_order", f"entry:{entry.id}", work_order=order.number, done=done)
    session.commit()
    flash(_("Work order %(number)s reported.", number=order.number), "info")
    return _back(entry)


@bp.post("/<int:entry_id>/orders/<int:order_id>/redispatch")
@requires(Role.CLERK)
def order_redispatch(entry_id: int, order_id: int) -> ResponseReturnValue:
    """改派: to another department or technician, with the reason."""
    entry = _entry(entry_id)
    order = _order(entry, order_id)
    form = RedispatchForm().with_departments(departments(entry))
    if not form.validate_on_submit():
        return _invalid(entry, form)
    session, at = get_session(), now()
    try:
        new = dispatch.redispatch(
            session,
            order,
            form.department.data or "",
            departments(entry),
            current_user.id,
            form.reason.data,
            at,
            technician=form.technician.data,
            due_at=clocks.order_due(entry, at),
            role=current_user.role,
        )
    except HotlineError as exc:
        return _refused(entry, exc)
    audit.record(
        session, "redispatch", f"entry:{entry.id}", work_order=new.number, previous=order.number
    )
    session.commit()
    flash(
        _(
            "Work order %(number)s sent to %(department)s.",
            number=new.number,
            department=new.department,
        ),
        "info",
    )
    return _back(entry)


@bp.post("/<int:entry_id>/follow-up")
@requires(Role.CLERK)
def follow_up(entry_id: int) -> ResponseReturnValue:
    """回访 (1.4.3.2 做好回访记录), after the work's return."""
    entry = _entry(entry_id)
    form = FollowUpForm()
    if not form.validate_on_submit():
        return _invalid(entry, form)
    session = get_session()
    reached = form.reached.data == "yes"
    satisfied = {"yes": True, "no": False}.get(form.satisfied.data or "")
    try:
        dispatch.record_follow_up(
            session,
            entry,
            reached,
            satisfied,
            (form.notes.data or "").strip(),
            current_user.id,
            now(),
            role=current_user.role,
        )
    except HotlineError as exc:
        return _refused(entry, exc)
    audit.record(session, "follow_up", f"entry:{entry.id}", reached=reached)
    session.commit()
    flash(_("Follow-up of entry %(id)d recorded.", id=entry.id), "info")
    return _back(entry)


def move_choices(entry: LogEntry, role: Role) -> list[EntryStatus]:
    return matter_states.targets(entry.status, role, Via.FORM)


@bp.post("/<int:entry_id>/status")
@requires(Role.CLERK)
def move(entry_id: int) -> ResponseReturnValue:
    """A status a person chooses (settled by the desk, reopened), by the state machine."""
    entry = _entry(entry_id)
    form = MoveForm()
    form.to.choices = [(s.value, str(present.STATUS_LABELS[s])) for s in EntryStatus]
    if not form.validate_on_submit():
        return _invalid(entry, form)
    session = get_session()
    try:
        matter_states.move(
            session,
            entry,
            EntryStatus(form.to.data),
            user_id=current_user.id,
            role=current_user.role,
            via=Via.FORM,
            reason=form.reason.data,
        )
        session.flush()
    except HotlineError as exc:
        return _refused(entry, exc)
    audit.record(session, "status", f"entry:{entry.id}", to=form.to.data)
    session.commit()
    flash(_("Saved."), "info")
    return _back(entry)


@bp.post("/<int:entry_id>/hand-over")
@requires(Role.CLERK)
def hand_over(entry_id: int) -> ResponseReturnValue:
    """首问负责人 changes only here: by the owner or a supervisor, with the reason."""
    entry = _entry(entry_id)
    form = HandOverForm()
    session = get_session()
    form.to.choices = [(str(u.id), u.display_name) for u in session.query(User).filter(User.active)]
    if not form.validate_on_submit():
        return _invalid(entry, form)
    try:
        matter_states.hand_over(
            session,
            entry,
            int(form.to.data or 0),
            user_id=current_user.id,
            role=current_user.role,
            reason=form.reason.data,
        )
        session.flush()
    except HotlineError as exc:
        return _refused(entry, exc)
    audit.record(session, "hand_over", f"entry:{entry.id}", to=int(form.to.data or 0))
    session.commit()
    flash(_("Handed over."), "info")
    return _back(entry)


@bp.post("/<int:entry_id>/close")
@requires(Role.SUPERVISOR)
def close(entry_id: int) -> ResponseReturnValue:
    """A supervisor approves closing (001 篇4 职权 3); without a satisfied follow-up, only
    with the decision's reason (000 1.4.2.2.4)."""
    entry = _entry(entry_id)
    form = CloseForm()
    if not form.validate_on_submit():
        return _invalid(entry, form)
    session = get_session()
    try:
        dispatch.close(session, entry, current_user.id, form.reason.data, role=current_user.role)
        session.flush()
    except HotlineError as exc:
        return _refused(entry, exc)
    audit.record(session, "close", f"entry:{entry.id}")
    session.commit()
    flash(_("Entry %(id)d closed.", id=entry.id), "info")
    return _back(entry)
