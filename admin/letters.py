"""Reply letters on the desk (issue 21; 客户回函作业指导书, recorder/letters.py): drafted from
a complaint, each review recorded (who, when, their word), approved by a supervisor for
the 营销部经理, mailed by registered mail, confirmed by phone three days later (the clerks'
task list), archived with the matter."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from admin import audit
from admin.db import get_session, now, zone
from admin.forms import EmptyForm
from admin.letter_forms import (
    ApproveForm,
    ConfirmForm,
    LetterForm,
    MailForm,
    ReviewForm,
)
from admin.security import requires
from recorder import letters
from recorder.errors import HotlineError
from recorder.models import Complaint, ReplyLetter, Role

bp = Blueprint("letters", __name__, url_prefix="/letters")


def _letter(letter_id: int) -> ReplyLetter:
    letter = get_session().get(ReplyLetter, letter_id)
    if letter is None:
        abort(404)
    return letter


def _back(letter: ReplyLetter) -> Response:
    return redirect(url_for("complaints.notice", complaint_id=letter.complaint_id) + "#letters")


def _done(letter: ReplyLetter, action: str, **detail: Any) -> ResponseReturnValue:
    audit.record(get_session(), action, f"letter:{letter.id}", **detail)
    get_session().commit()
    flash(_("Saved."), "info")
    return _back(letter)


def _refused(letter: ReplyLetter, exc: HotlineError) -> ResponseReturnValue:
    from admin.complaints import _complaint, notice_page

    get_session().rollback()
    flash(_("Not possible: %(why)s", why=str(exc)), "error")
    return notice_page(_complaint(letter.complaint_id), status=409)


@bp.post("/complaint/<int:complaint_id>")
@requires(Role.CLERK)
def new(complaint_id: int) -> ResponseReturnValue:
    complaint = get_session().get(Complaint, complaint_id)
    if complaint is None:
        abort(404)
    form = LetterForm(prefix="letter")
    if not form.validate_on_submit():
        abort(400)
    letter = letters.draft(
        get_session(),
        complaint,
        form.subject.data or "",
        form.body.data or "",
        current_user.id,
        now(),
        involves_property=bool(form.involves_property.data),
        involves_law=bool(form.involves_law.data),
    )
    return _done(letter, "letter")


@bp.post("/<int:letter_id>/review")
@requires(Role.CLERK)
def review(letter_id: int) -> ResponseReturnValue:
    letter = _letter(letter_id)
    form = ReviewForm(prefix="review")
    if not form.validate_on_submit():
        abort(400)
    try:
        letters.review(
            get_session(),
            letter,
            form.step.data or "",
            form.reviewer.data or "",
            form.verdict.data == "yes",
            form.note.data or "",
            current_user.id,
            now(),
        )
    except HotlineError as exc:
        return _refused(letter, exc)
    return _done(letter, "letter_review", step=form.step.data)


@bp.post("/<int:letter_id>/approve")
@requires(Role.SUPERVISOR)
def approve(letter_id: int) -> ResponseReturnValue:
    letter = _letter(letter_id)
    form = ApproveForm(prefix="approve")
    if not form.validate_on_submit():
        abort(400)
    try:
        letters.approve(get_session(), letter, form.approver.data or "", current_user.id, now())
    except HotlineError as exc:
        return _refused(letter, exc)
    return _done(letter, "letter_approve")


@bp.post("/<int:letter_id>/mail")
@requires(Role.CLERK)
def mail(letter_id: int) -> ResponseReturnValue:
    letter = _letter(letter_id)
    form = MailForm(prefix="mail")
    if not form.validate_on_submit() or form.mailed_at.data is None:
        abort(400)
    try:
        letters.mail(
            get_session(),
            letter,
            form.mailed_at.data.replace(tzinfo=zone()),
            form.number.data or "",
            current_user.id,
        )
    except HotlineError as exc:
        return _refused(letter, exc)
    return _done(letter, "letter_mail", number=form.number.data)


@bp.post("/<int:letter_id>/confirm")
@requires(Role.CLERK)
def confirm(letter_id: int) -> ResponseReturnValue:
    letter = _letter(letter_id)
    form = ConfirmForm(prefix="confirm")
    if not form.validate_on_submit():
        abort(400)
    try:
        letters.confirm(get_session(), letter, form.note.data or "", current_user.id, now())
    except HotlineError as exc:
        return _refused(letter, exc)
    return _done(letter, "letter_confirm")


@bp.post("/<int:letter_id>/archive")
@requires(Role.SUPERVISOR)
def archive(letter_id: int) -> ResponseReturnValue:
    letter = _letter(letter_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        letters.archive(get_session(), letter, current_user.id, now())
    except HotlineError as exc:
        return _refused(letter, exc)
    return _done(letter, "letter_archive")


@bp.get("/")
@requires(Role.CLERK)
def tasks() -> ResponseReturnValue:
    """The confirmation calls to make (3.6 发出3天后与客户电话联系确认), earliest due first."""
    return render_template(
        "letters/tasks.html", due=letters.confirmations_due(get_session()), now=now()
    )
