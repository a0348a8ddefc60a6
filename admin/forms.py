"""Forms of the web desk (every POST carries a CSRF token through Flask-WTF)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

try:  # WTForms >= 3.3 deprecates (value, label) tuples
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    SelectChoice = None

from recorder.models import Urgency


def choices(pairs: Iterable[tuple[str, str]]) -> list[Any]:
    """Select options in the form this WTForms version wants."""
    if SelectChoice is None:
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


def values(items: Iterable[str]) -> list[Any]:
    return choices((item, item) for item in items)


class EntryForm(FlaskForm):
    received_at = DateTimeLocalField(_l("Received at"), format="%Y-%m-%dT%H:%M")
    caller_number = StringField(_l("Caller number"), validators=[Optional(), Length(max=64)])
    surname = StringField(_l("Surname"), validators=[Optional(), Length(max=32)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=64)])
    phone = StringField(_l("Callback number"), validators=[Optional(), Length(max=64)])
    category = SelectField(_l("Category"))
    urgency = SelectField(_l("Urgency"), choices=values(u.value for u in Urgency))
    summary = TextAreaField(_l("Summary"), validators=[Length(max=4000)])
    handling = TextAreaField(_l("Handling"), validators=[Optional(), Length(max=4000)])
    dispatch_department = SelectField(_l("Department"), validators=[Optional()])
    promised_reply_at = DateTimeLocalField(
        _l("Promised reply"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    follow_up_due = DateField(_l("Follow-up due"), validators=[Optional()])
    reason = StringField(_l("Reason for the change"), validators=[Optional(), Length(max=500)])


class ComplaintForm(FlaskForm):
    result = TextAreaField(_l("Handling result"), validators=[Optional(), Length(max=4000)])
    measures = TextAreaField(_l("Corrective measures"), validators=[Optional(), Length(max=4000)])
    decision = TextAreaField(_l("Supervisor's decision"), validators=[Optional(), Length(max=2000)])
    closed = BooleanField(_l("Closed"))
    internal = BooleanField(_l("About our own service (internal complaint)"))
    cause = SelectField(
        _l("Cause"),
        choices=choices(
            [("", "—"), ("attitude", _l("Service attitude")), ("delay", _l("Work delayed"))]
        ),
        validators=[Optional()],
    )
    staff_user_id = SelectField(_l("Staff member complained about"), validators=[Optional()])
    explanation = TextAreaField(
        _l("Written explanation"), validators=[Optional(), Length(max=4000)]
    )


class ComplaintEntryForm(FlaskForm):
    """A complaint by letter, fax or visit, entered by hand (1.4.2.1.1)."""

    channel = SelectField(
        _l("Channel"),
        choices=choices(
            [
                ("letter", _l("Letter")),
                ("fax", _l("Fax")),
                ("visit", _l("Visit")),
                ("phone", _l("Phone")),
            ]
        ),
    )
    received_at = DateTimeLocalField(
        _l("Received at"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    surname = StringField(_l("Surname"), validators=[Optional(), Length(max=32)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=64)])
    phone = StringField(_l("Callback number"), validators=[Optional(), Length(max=64)])
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(), Length(max=4000)])


class UserForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    job_number = StringField(_l("Job number"), validators=[DataRequired(), Length(max=32)])
    role = SelectField(
        _l("Role"),
        choices=choices(
            [
                ("clerk", _l("Clerk")),
                ("supervisor", _l("Supervisor")),
                ("admin", _l("Administrator")),
            ]
        ),
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    extension = StringField(_l("Extension"), validators=[Optional(), Length(max=32)])
    independent = BooleanField(_l("May answer calls alone"), default=True)


class UserEditForm(FlaskForm):
    role = SelectField(
        _l("Role"),
        choices=choices(
            [
                ("clerk", _l("Clerk")),
                ("supervisor", _l("Supervisor")),
                ("admin", _l("Administrator")),
            ]
        ),
    )
    independent = BooleanField(_l("May answer calls alone"))
    active = BooleanField(_l("Active"))


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons."""
