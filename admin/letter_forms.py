"""The reply letters' forms and the complaint notice's letters section (admin.letters
handles the requests; admin.complaints shows the section without importing it)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from admin.db import get_session
from admin.forms import EmptyForm, choices
from recorder import letters
from recorder.models import Complaint, ReplyLetter

STEP_LABELS = {
    "project_director": _l("Project office director"),
    "property_manager": _l("Property department manager"),
    "service_supervisor": _l("Customer centre supervisor"),
    "department_manager": _l("Manager of the department concerned"),
    "lawyer": _l("Lawyer"),
}


class LetterForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Letter"), validators=[Optional(), Length(max=20000)])
    involves_property = BooleanField(_l("Concerns the property"))
    involves_law = BooleanField(_l("Involves the law"))


class ReviewForm(FlaskForm):
    step = SelectField(_l("Review step"), choices=choices((k, v) for k, v in STEP_LABELS.items()))
    reviewer = StringField(_l("Reviewer"), validators=[DataRequired(), Length(max=100)])
    verdict = SelectField(
        _l("Verdict"), choices=choices([("yes", _l("Approved")), ("no", _l("Returned"))])
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=1000)])


class ApproveForm(FlaskForm):
    approver = StringField(
        _l("Approved by (marketing manager)"), validators=[DataRequired(), Length(max=100)]
    )


class MailForm(FlaskForm):
    mailed_at = DateTimeLocalField(
        _l("Mailed at"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    number = StringField(_l("Registered-mail number"), validators=[DataRequired(), Length(max=64)])


class ConfirmForm(FlaskForm):
    note = StringField(_l("What the resident said"), validators=[Optional(), Length(max=1000)])


def context(complaint: Complaint) -> dict[str, Any]:
    """The complaint notice's letters section."""
    found = (
        get_session().scalars(letters_query().where(ReplyLetter.complaint_id == complaint.id)).all()
    )
    return {
        "letters": found,
        "letter_form": LetterForm(prefix="letter"),
        "review_form": ReviewForm(prefix="review"),
        "approve_form": ApproveForm(prefix="approve"),
        "mail_form": MailForm(prefix="mail"),
        "confirm_form": ConfirmForm(prefix="confirm"),
        "archive_form": EmptyForm(),
        "step_labels": STEP_LABELS,
        "missing_reviews": lambda letter: [
            str(STEP_LABELS[step]) for step in letters.missing_reviews(letter)
        ],
    }


def letters_query() -> Any:
    from sqlalchemy import select

    return select(ReplyLetter).order_by(ReplyLetter.id)
