"""The live desk's forms: a clerk's notification switches, and 已回电 for a number."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired, Regexp


class AlertsForm(FlaskForm):
    safety = BooleanField(_l("Safety calls"))
    leak = BooleanField(_l("Leaks"))
    complaint = BooleanField(_l("Complaints"))
    missed = BooleanField(_l("Missed calls"))
    sound = BooleanField(_l("Sound"))
    browser = BooleanField(_l("Browser notification"))


class CalledBackForm(FlaskForm):
    """One missed call of the number (its entry): the number itself stays on the server,
    masked for the roles that see numbers masked."""

    entry = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,12}$")])


class CallBackForm(FlaskForm):
    """回电 of one missed call (its entry): the agent rings the clerk's phone, then the
    resident (recorder/desk_callbacks.py); `back`: the page to return to."""

    entry = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,12}$")])
    back = HiddenField(validators=[Regexp(r"^(live|entry)?$")])
