"""The day's outbound plan and results, per task type (issue 22, "the desk"): the calls
the agent is to make on a day (a date picker, today by default) and what came of each,
counted per kind, with links to the matter's entry and the calls' recordings
(recorder/outbound_plan.py)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from admin import params
from admin.db import get_session, local_today, zone
from admin.security import requires
from recorder import outbound_plan
from recorder.models import Role
from recorder.outbound_models import TaskKind, TaskState

bp = Blueprint("outbound", __name__, url_prefix="/outbound")

KIND_LABELS = {
    TaskKind.FOLLOW_UP: _l("Follow-up survey"),
    TaskKind.LETTER_CONFIRMATION: _l("Letter confirmation"),
    TaskKind.CALL_BACK: _l("Call-back"),
    TaskKind.DESK_CALL_BACK: _l("Call-back from the desk"),
}
STATE_LABELS = {
    TaskState.DUE: _l("Waiting"),
    TaskState.CALLING: _l("Calling"),
    TaskState.DONE: _l("Done"),
    TaskState.GAVE_UP: _l("Given up"),
    TaskState.CANCELLED: _l("Cancelled"),
}
OUTCOME_LABELS = {
    "planned": _l("Not called yet"),
    "satisfied": _l("Reached: satisfied"),
    "not_satisfied": _l("Reached: not satisfied"),
    "not_fixed": _l("Reached: not yet fixed"),
    "opted_out": _l("Opted out"),
    "received": _l("Reached: letter received"),
    "not_received": _l("Reached: letter not received"),
    "reached": _l("Reached"),
    "put_through": _l("Reached: put through to a clerk"),
    "clerk_asked": _l("Reached: asks for a clerk's call"),
    "busy": _l("Busy"),
    "no_answer": _l("No answer"),
    "rejected": _l("Rejected"),
    "failed": _l("Could not be placed"),
    "no_key": _l("Answered, no key pressed"),
    "interrupted": _l("Interrupted"),
    "cancelled": _l("Cancelled"),
    # A call-back from the desk (回电) rings the clerk first (recorder/desk_callbacks.py).
    "clerk_no_answer": _l("The clerk's phone did not answer"),
    "clerk_busy": _l("The clerk's phone was busy"),
    "clerk_rejected": _l("The clerk's phone rejected the call"),
    "clerk_failed": _l("The clerk's phone could not be rung"),
    "expired": _l("No agent took the request"),
    "settled": _l("Not needed: the caller was reached"),
}


def outcome_label(value: str | None) -> str:
    key = value or "planned"
    return str(OUTCOME_LABELS.get(key, key))


@bp.get("/")
@requires(Role.CLERK)
def plan() -> ResponseReturnValue:
    today = local_today()
    day = params.day_arg("day", today)
    kinds = outbound_plan.day_plan(get_session(), day, zone(), today)
    return render_template(
        "outbound/plan.html",
        day=day,
        kinds=kinds,
        kind_label=lambda kind: str(KIND_LABELS[kind]),
        state_label=lambda state: str(STATE_LABELS[state]),
        outcome_label=outcome_label,
    )
