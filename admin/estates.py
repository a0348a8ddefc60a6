"""The estates side by side (issue 23): the company's comparison of a month
(recorder/estate_figures.py, as `hotline estates compare` prints it), for a supervisor or
administrator of the whole company; staff of some estates only are refused (403): the
other estates' figures are not theirs to see."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue

from admin import present
from admin import supervision_figures as figures
from admin.db import get_session, zone
from admin.kpi import _month
from admin.security import requires
from admin.supervision import _threshold
from recorder.estate_figures import compare
from recorder.estates import SCOPE
from recorder.models import Role

bp = Blueprint("estates", __name__, url_prefix="/supervision/estates")


def sees_all_estates() -> bool:
    """The session reads every estate's rows (a company-level login)."""
    return get_session().info.get(SCOPE) is None


@bp.app_context_processor
def _company_wide() -> dict[str, object]:
    return {"sees_all_estates": sees_all_estates}


@bp.get("/")
@requires(Role.SUPERVISOR)
def page() -> ResponseReturnValue:
    if not sees_all_estates():
        abort(403)
    first = _month()
    start, end = figures.month_bounds(first, zone())
    threshold = _threshold()
    return render_template(
        "supervision/estates.html",
        month=first.strftime("%Y-%m"),
        rows=compare(get_session(), start, end, threshold),
        rings=threshold.max_rings,
        company=present.organization_name(),
        share=figures.share,
    )
