"""The call log: today's calls by default, filters, search and pages."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from admin import present, queries
from admin.db import get_session, local_today, zone
from admin.security import requires
from recorder.models import EntryStatus, Role, Urgency, User

bp = Blueprint("calls", __name__)


def staff_choices() -> list[tuple[int, str]]:
    users = get_session().scalars(select(User).where(User.active).order_by(User.display_name))
    return [(u.id, u.display_name) for u in users]


@bp.get("/")
@requires(Role.CLERK)
def index() -> ResponseReturnValue:
    try:
        filt = queries.parse_filter(request.args, local_today())
    except ValueError:
        abort(400)
    page = queries.log_page(get_session(), filt, zone(), current_app.config["PAGE_SIZE"])
    return render_template(
        "calls/index.html",
        filt=filt,
        page=page,
        categories=present.category_choices(),
        urgencies=list(Urgency),
        statuses=list(EntryStatus),
        staff=staff_choices(),
        needs_callback=queries.needs_callback,
    )
