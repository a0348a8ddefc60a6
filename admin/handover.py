"""The shift handover report (交接班, recorder/handovers.py): the open matters, what, whose
and due when, handed over by the leaving shift and acknowledged by the next (issue 21)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from admin import audit, present
from admin.db import get_session, now
from admin.forms import EmptyForm
from admin.security import requires
from recorder import handovers
from recorder.errors import HotlineError
from recorder.models import EntryStatus, Handover, Role, User

bp = Blueprint("handover", __name__, url_prefix="/handover")


class HandoverForm(FlaskForm):
    notes = TextAreaField(_l("Notes for the next shift"), validators=[Optional(), Length(max=4000)])


def _names() -> dict[int, str]:
    return {u.id: u.display_name for u in get_session().scalars(select(User))}


def status_label(value: str) -> str:
    return str(present.STATUS_LABELS[EntryStatus(value)])


@bp.get("/")
@requires(Role.CLERK)
def index() -> ResponseReturnValue:
    session = get_session()
    return render_template(
        "handover/index.html",
        matters=handovers.open_matters(session),
        recent=handovers.recent(session),
        names=_names(),
        form=HandoverForm(),
        ack_form=EmptyForm(),
        status_label=status_label,
    )


@bp.post("/")
@requires(Role.CLERK)
def hand_over() -> ResponseReturnValue:
    form = HandoverForm()
    if not form.validate_on_submit():
        abort(400)
    session = get_session()
    handover = handovers.hand_over_shift(session, current_user.id, form.notes.data or "", now())
    audit.record(session, "handover", f"handover:{handover.id}", matters=len(handover.matters))
    session.commit()
    flash(_("Handed over %(n)d open matters.", n=len(handover.matters)), "info")
    return redirect(url_for("handover.show", handover_id=handover.id))


@bp.get("/<int:handover_id>")
@requires(Role.CLERK)
def show(handover_id: int) -> ResponseReturnValue:
    handover = get_session().get(Handover, handover_id)
    if handover is None:
        abort(404)
    return render_template(
        "handover/show.html",
        handover=handover,
        names=_names(),
        ack_form=EmptyForm(),
        organization=present.organization_name(),
        status_label=status_label,
    )


@bp.post("/<int:handover_id>/ack")
@requires(Role.CLERK)
def acknowledge(handover_id: int) -> ResponseReturnValue:
    session = get_session()
    handover = session.get(Handover, handover_id)
    if handover is None:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        handovers.acknowledge(session, handover, current_user.id, now())
    except HotlineError as exc:
        session.rollback()
        flash(_("Not possible: %(why)s", why=str(exc)), "error")
        return redirect(url_for("handover.show", handover_id=handover_id))
    audit.record(session, "handover_ack", f"handover:{handover.id}")
    session.commit()
    flash(_("Handover acknowledged."), "info")
    return redirect(url_for("handover.show", handover_id=handover.id))
