"""The supervisor's checks as records (recorder/checks.py): draw the period's sample, see
and mark each record; the writer sees the records returned to them and corrects them."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from admin import audit, params
from admin.db import get_session, local_today, now, settings
from admin.forms import EmptyForm, choices
from admin.security import requires
from recorder import checks
from recorder.errors import HotlineError
from recorder.models import CheckMark, LogEntry, Role

bp = Blueprint("checks", __name__, url_prefix="/checks")
KIND_LABELS = {
    "daily": _l("Daily log check"),
    "weekly": _l("Weekly records check"),
    "monthly": _l("Monthly follow-up spot check"),
}


class DrawForm(FlaskForm):
    kind = SelectField(choices=choices((k, v) for k, v in KIND_LABELS.items()))
    day = DateField(validators=[DataRequired()])


class MarkForm(FlaskForm):
    verdict = SelectField(
        _l("Verdict"), choices=choices([("ok", _l("In order")), ("not_ok", _l("Not in order"))])
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=1000)])


def _kind() -> str:
    kind = request.args.get("kind", "daily")
    if kind not in checks.KINDS:
        abort(400)
    return kind


def _entries(found: list[CheckMark]) -> dict[int, LogEntry]:
    ids = [m.entry_id for m in found]
    if not ids:
        return {}
    return {e.id: e for e in get_session().scalars(select(LogEntry).where(LogEntry.id.in_(ids)))}


@bp.get("/")
@requires(Role.SUPERVISOR)
def index() -> ResponseReturnValue:
    kind, day = _kind(), params.day_arg("day", local_today())
    found = checks.marks(get_session(), kind, day)
    return render_template(
        "checks/index.html",
        kind=kind,
        day=day,
        kinds=KIND_LABELS,
        marks=found,
        entries=_entries(found),
        draw_form=DrawForm(data={"kind": kind, "day": day}),
        mark_form=MarkForm(),
    )


@bp.post("/draw")
@requires(Role.SUPERVISOR)
def draw() -> ResponseReturnValue:
    form = DrawForm()
    if not form.validate_on_submit() or form.day.data is None:
        abort(400)
    day: date = form.day.data
    if day > local_today() or not params.in_range(day):
        abort(400)
    session = get_session()
    drawn = checks.draw(session, form.kind.data or "", day, settings().organization.timezone, now())
    audit.record(session, "check_draw", f"check:{form.kind.data}:{day}", records=len(drawn))
    session.commit()
    return redirect(url_for("checks.index", kind=form.kind.data, day=day.isoformat()))


@bp.post("/<int:mark_id>")
@requires(Role.SUPERVISOR)
def mark(mark_id: int) -> ResponseReturnValue:
    session = get_session()
    check = session.get(CheckMark, mark_id)
    if check is None:
        abort(404)
    form = MarkForm()
    if not form.validate_on_submit():
        abort(400)
    back = redirect(url_for("checks.index", kind=check.kind, day=check.period.isoformat()))
    try:
        checks.mark(
            session, check, form.verdict.data == "ok", form.note.data or "", current_user.id, now()
        )
    except HotlineError as exc:
        session.rollback()
        flash(_("Not possible: %(why)s", why=str(exc)), "error")
        return back
    audit.record(session, "check_mark", f"entry:{check.entry_id}", ok=check.ok, kind=check.kind)
    session.commit()
    return back


@bp.get("/mine")
@requires(Role.CLERK)
def mine() -> ResponseReturnValue:
    """Records returned to the current user for correction (3.6 责成当事人改正)."""
    found = checks.returned_to(get_session(), current_user.id)
    return render_template(
        "checks/mine.html",
        marks=found,
        entries=_entries(found),
        form=EmptyForm(),
        kinds=KIND_LABELS,
    )


@bp.post("/<int:mark_id>/corrected")
@requires(Role.CLERK)
def corrected(mark_id: int) -> ResponseReturnValue:
    session = get_session()
    check = session.get(CheckMark, mark_id)
    if check is None:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        checks.corrected(session, check, current_user.id, now())
    except HotlineError as exc:
        session.rollback()
        flash(_("Not possible: %(why)s", why=str(exc)), "error")
        return redirect(url_for("checks.mine")), 409
    audit.record(session, "check_corrected", f"entry:{check.entry_id}")
    session.commit()
    flash(_("Saved."), "info")
    return redirect(url_for("checks.mine"))
