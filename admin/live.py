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
from admin.db import get_session
from admin.live_forms import AlertsForm, CalledBackForm
from admin.security import requires
from recorder import live_calls, missed_calls
from recorder.matter_states import TransitionRefused
from recorder.models import Role, User

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
