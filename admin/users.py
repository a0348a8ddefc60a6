"""Staff users, the settings (read-only, secrets hidden) and retention, for admins."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from admin.db import get_session, now, settings
from admin.forms import UserEditForm, UserForm
from admin.security import requires
from recorder import staff
from recorder.db import redact
from recorder.models import Complaint, FieldSource, LogEntry, Recording, RecordingState, Role, User
from recorder.reception_log import Actor, act_as

bp = Blueprint("users", __name__, url_prefix="/admin")
SECRET_KEYS = ("password", "secret", "token")


def _edit_forms(users: list[User]) -> dict[int, UserEditForm]:
    forms = {}
    for user in users:
        form = UserEditForm(prefix=f"u{user.id}")
        form.role.data, form.independent.data, form.active.data = (
            user.role.value,
            user.independent,
            user.active,
        )
        forms[user.id] = form
    return forms


@bp.get("/users")
@requires(Role.ADMIN)
def index() -> ResponseReturnValue:
    return _page(None)


def _page(form: UserForm | None) -> str:
    users = staff.list_users(get_session())
    return render_template(
        "users/index.html", users=users, form=form or UserForm(), edit_forms=_edit_forms(users)
    )


@bp.post("/users")
@requires(Role.ADMIN)
def add() -> ResponseReturnValue:
    form = UserForm()
    if not form.validate_on_submit():
        return _page(form), 400
    session = get_session()
    try:
        staff.add_user(
            session,
            (form.username.data or "").strip(),
            form.display_name.data or "",
            form.job_number.data or "",
            Role(form.role.data),
            form.password.data or "",
            independent=bool(form.independent.data),
            extension=(form.extension.data or "").strip() or None,
        )
    except staff.StaffError as exc:
        flash(str(exc), "error")
        return _page(form), 400
    session.commit()
    flash(_("User added."), "info")
    return redirect(url_for("users.index"))


@bp.post("/users/<int:user_id>")
@requires(Role.ADMIN)
def edit(user_id: int) -> ResponseReturnValue:
    session = get_session()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    form = UserEditForm(prefix=f"u{user_id}")
    if not form.validate_on_submit():
        abort(400)
    if user.id == current_user.id and (not form.active.data or form.role.data != "admin"):
        flash(_("You cannot demote or deactivate yourself."), "error")
        return redirect(url_for("users.index"))
    # Who changed a user's role or rights is kept as a revision (recorder/revisions.py).
    act_as(session, Actor(current_user.id, FieldSource.PERSON, None))
    user.role = Role(form.role.data)
    user.independent = bool(form.independent.data)
    user.active = bool(form.active.data)
    session.commit()
    flash(_("Saved."), "info")
    return redirect(url_for("users.index"))


def _redacted(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _redacted(v, k) for k, v in value.items()}
    if key.endswith("url") and isinstance(value, str) and "://" in value:
        return redact(value)
    if any(word in key for word in SECRET_KEYS) and value:
        return "********"
    return value


@bp.get("/settings")
@requires(Role.ADMIN)
def settings_view() -> ResponseReturnValue:
    shown = _redacted(settings().model_dump(mode="json"))
    return render_template("users/settings.html", sections=shown)


def _due(session: Session, days: int, complaints: bool) -> int:
    """Recordings still on disk that are older than their retention period."""
    has_complaint = (
        select(Complaint.id)
        .join(LogEntry, LogEntry.id == Complaint.entry_id)
        .where(LogEntry.call_pk == Recording.call_pk)
        .exists()
    )
    stmt = select(func.count(Recording.id)).where(
        Recording.state.in_([RecordingState.COMPLETE, RecordingState.REPAIRED]),
        Recording.started_at < now() - timedelta(days=days),
        has_complaint if complaints else ~has_complaint,
    )
    return session.scalar(stmt) or 0


@bp.get("/retention")
@requires(Role.ADMIN)
def retention() -> ResponseReturnValue:
    policy = settings().retention
    session = get_session()
    due = {
        "recordings": _due(session, policy.recording_days, complaints=False),
        "complaints": _due(session, policy.complaint_recording_days, complaints=True),
    }
    return render_template("users/retention.html", retention=policy, due=due)
