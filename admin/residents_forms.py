"""The desk's resident form (admin role)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from admin.forms import values
from recorder.directory import RELATIONS


class ResidentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    phones = StringField(_l("Phone numbers"), validators=[Optional(), Length(max=200)])
    relation = SelectField(_l("Relation"), choices=values(["", *RELATIONS]))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=1000)])
    priority = BooleanField(_l("Priority resident (elderly, ill, not living here)"))
