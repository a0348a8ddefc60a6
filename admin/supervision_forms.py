"""The supervisor desk's forms (each POST carries a CSRF token through Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import HiddenInput

from admin.forms import choices, values

#: The script checks of transcripts/compliance.py, as the queue names them.
CHECK_LABELS = {
    "greeting": _l("Greeting"),
    "organization": _l("Organisation's name"),
    "staff_id": _l("Job number said"),
    "offer_help": _l("Offer of help"),
    "surname_asked": _l("Surname asked"),
    "closing": _l("Polite closing"),
    "forbidden": _l("Forbidden phrase"),
}


class SignOffForm(FlaskForm):
    day = DateField(validators=[DataRequired()], widget=HiddenInput())
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])


class DispatchForm(FlaskForm):
    department = SelectField(_l("Department"), validators=[DataRequired()])

    @classmethod
    def with_departments(cls, names: list[str]) -> DispatchForm:
        form = cls()
        form.department.choices = values(names)
        return form


class CompleteForm(FlaskForm):
    order_id = IntegerField(validators=[DataRequired()], widget=HiddenInput())
    outcome = SelectField(
        _l("Outcome"), choices=choices([("done", _l("Done")), ("not_done", _l("Not done"))])
    )
    reason = StringField(_l("Reason if not done"), validators=[Length(max=500)])

    def validate_reason(self, field: StringField) -> None:
        """日常报修服务流程: 如未完成请备注原因."""
        if self.outcome.data == "not_done" and not (field.data or "").strip():
            raise ValidationError(_l("A reason is required when the work was not completed."))


class FollowUpForm(FlaskForm):
    reached = SelectField(
        _l("Reached the resident"), choices=choices([("yes", _l("Yes")), ("no", _l("No"))])
    )
    satisfied = SelectField(
        _l("Satisfied"),
        choices=choices([("", "—"), ("yes", _l("Yes")), ("no", _l("No"))]),
        validators=[Optional()],
    )
    notes = TextAreaField(_l("Notes"), validators=[Length(max=2000)])
