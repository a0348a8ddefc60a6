"""The live desk (issue 19): calls in progress as they happen, pushed to the browser with
server-sent events (admin/live_stream.py), each with the caller's directory card; the
missed calls waiting for a call-back, one row per number; and each clerk's switches for
the desk's notifications (safety, leaks, complaints, missed calls; sound, browser)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from admin import audit, live_stream
from admin.db import get_session, now, settings
from admin.live_forms import AlertsForm, CallBackForm, CalledBackForm
from admin.security import requires
from recorder import desk_callbacks, live_calls, missed_calls
from recorder.desk_callbacks import DeskCallBackRefused
from recorder.matter_states import TransitionRefused
from recorder.models import Role, User
from recorder.outbound_models import OutboundTask

bp = Blueprint("live", __name__, url_prefix="/live")


@bp.get("/")
@requires(Role.CLERK)
def index() -> ResponseReturnValue:
    session = get_session()
    switches = live_calls.alerts_of(session, current_user.id)
    form = AlertsForm(
        data={kind: kind in switches.kinds for kind in live_calls.ALERT_KINDS}
        | {"sound": switches.sound, "browser": switches.browser}
    )
    return render_template(
        "live/index.html",
        groups=missed_calls.waiting(session),
        alerts=form,
        switches=switches.as_json(),
        called_back=CalledBackForm(),
    )


@bp.app_context_processor
def _call_back_helpers() -> dict[str, object]:
    """回电 on the entry page and the missed-calls list: the form, and the entry's desk
    call-backs (newest first) with whether it still waits for one."""

    def desk_call_backs(entry_id: int) -> dict[str, object]:
        session = get_session()
        waiting = desk_callbacks.is_waiting(session, entry_id)
        return {"waiting": waiting, "tasks": desk_callbacks.of_entry(session, entry_id)}

    return {
        "call_back_form": CallBackForm,
        "desk_call_backs": desk_call_backs,
        "call_back_state": call_back_state,
    }


def call_back_state(task: OutboundTask) -> str:
    """What became of a desk call-back, as the desk says it."""
    if task.state.value in ("due", "calling"):
        return _("Calling your phone…") if task.state.value == "calling" else _("Queued")
    said = {
        "answered": _("Reached"),
        "busy": _("Resident busy"),
        "no_answer": _("Resident did not answer"),
        "rejected": _("Resident rejected the call"),
        "failed": _("Could not be placed"),
        "clerk_no_answer": _("Your phone did not answer"),
        "clerk_busy": _("Your phone was busy"),
        "clerk_failed": _("Your phone could not be rung"),
        "expired": _("Not taken by any agent (are outbound calls on?)"),
    }
    return said.get(task.last_attempt or "", task.last_attempt or "")


@bp.get("/stream")
@requires(Role.CLERK)
def stream() -> ResponseReturnValue:
    """text/event-stream: `call` (a card, new or changed), `gone` (hung up), `alert`; a
    comment every few seconds keeps proxies from closing it; it ends by itself after a
    while and the browser reconnects (EventSource), so no server thread is held for good."""
    config = current_app.config
    timing = live_stream.Timing(
        poll_s=config.get("LIVE_POLL_S", 0.1),
        heartbeat_s=config.get("LIVE_HEARTBEAT_S", 15.0),
        lifetime_s=config.get("LIVE_LIFETIME_S", 300.0),
    )
    body = live_stream.events(current_app.extensions["hotline_sessions"], timing)
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx passes each event at once
    return response


@bp.post("/alerts")
@requires(Role.CLERK)
def save_alerts() -> ResponseReturnValue:
    form = AlertsForm()
    if form.validate_on_submit():
        kinds = frozenset(k for k in live_calls.ALERT_KINDS if form[k].data)
        switches = live_calls.AlertSwitches(kinds, bool(form.sound.data), bool(form.browser.data))
        session = get_session()
        live_calls.set_alerts(session, current_user.id, switches)
        session.commit()
        flash(_("Notifications saved."), "info")
    return redirect(url_for("live.index"))


@bp.post("/called-back")
@requires(Role.CLERK)
def called_back() -> ResponseReturnValue:
    """已回电 by hand: every missed call of the number is done, with a revision each."""
    form = CalledBackForm()
    if not form.validate_on_submit():
        return redirect(url_for("live.index"))
    session = get_session()
    user = session.get_one(User, current_user.id)
    try:
        done = missed_calls.mark_called_back(session, int(form.entry.data), user.id, user.role)
    except TransitionRefused as exc:
        session.rollback()
        flash(_("Not changed: %(why)s", why=str(exc)), "error")
        return redirect(url_for("live.index"))
    audit.record(session, "called_back", f"entry:{form.entry.data}", entries=done)
    session.commit()
    flash(_("Marked as called back: %(n)d calls.", n=len(done)), "info")
    return redirect(url_for("live.index"))


@bp.post("/call-back")
@requires(Role.CLERK)
def call_back() -> ResponseReturnValue:
    """回电: the agent rings the clerk's own phone, then the resident, and bridges them
    (recorder/desk_callbacks.py); the request is audited."""
    form = CallBackForm()
    entry = form.entry.data if form.entry.data and form.entry.data.isdigit() else None
    back = (
        url_for("entries.show", entry_id=int(entry))
        if entry and form.back.data == "entry"
        else url_for("live.index")
    )
    if not form.validate_on_submit() or entry is None:
        flash(_("Not called back: the form was not valid; try again."), "error")
        return redirect(back)
    session = get_session()
    timezone = settings().organization.timezone
    try:
        task = desk_callbacks.request(session, int(entry), current_user.id, now(), timezone)
    except DeskCallBackRefused as exc:
        session.rollback()
        flash(_("Not called back: %(why)s", why=str(exc)), "error")
        return redirect(back)
    audit.record(session, "desk_call_back", f"entry:{entry}", task=task.id)
    session.commit()
    user = session.get_one(User, current_user.id)
    flash(
        _(
            "Call-back queued: your phone (%(extension)s) rings first; answer it and the "
            "resident is called.",
            extension=user.extension or "",
        ),
        "info",
    )
    return redirect(back)
