"""Forms of a matter's steps on the entry page: work orders, returns, re-dispatch,
follow-ups, status moves, hand-overs, closing (each POST carries a CSRF token)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from admin.forms import choices, values


class OrderForm(FlaskForm):
    department = SelectField(_l("Department"), validators=[DataRequired()])
    technician = StringField(_l("Technician"), validators=[Optional(), Length(max=64)])

    def with_departments(self, names: list[str]) -> OrderForm:
        self.department.choices = values(names)
        return self


class RedispatchForm(OrderForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class ReturnForm(FlaskForm):
    outcome = SelectField(
        _l("Outcome"), choices=choices([("done", _l("Done")), ("not_done", _l("Not done"))])
    )
    reason = StringField(_l("Reason if not done"), validators=[Length(max=500)])
    parts = StringField(_l("Parts used"), validators=[Optional(), Length(max=500)])
    paid = BooleanField(_l("Paid service"))
    fee = DecimalField(
        _l("Fee (yuan)"), places=2, validators=[Optional(), NumberRange(min=Decimal("0.01"))]
    )

    def validate_reason(self, field: StringField) -> None:
        """日常报修服务流程: 如未完成请备注原因."""
        if self.outcome.data == "not_done" and not (field.data or "").strip():
            raise ValidationError(_l("A reason is required when the work was not completed."))

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        # Not a validate_fee: Optional() ends the field's chain on an empty fee.
        if self.paid.data and self.fee.data is None:
            self.fee.errors = [*self.fee.errors, _l("A paid service needs its fee.")]
            return False
        return ok

    def fee_fen(self) -> int | None:
        return None if self.fee.data is None else int(self.fee.data * 100)


class MoveForm(FlaskForm):
    to = SelectField(_l("New status"), validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])


class HandOverForm(FlaskForm):
    to = SelectField(_l("Hand over to"), validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class CloseForm(FlaskForm):
    reason = TextAreaField(_l("Decision and reason"), validators=[Optional(), Length(max=2000)])
