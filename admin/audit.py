"""Who listened to or exported personal data (保密制度), and the admin's view of it."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from admin import params
from admin.db import get_session, now
from admin.security import requires
from recorder.models import AuditEvent, Role, User

logger = logging.getLogger(__name__)
bp = Blueprint("audit", __name__, url_prefix="/audit")


def record(session: Session, action: str, target: str, **detail: Any) -> AuditEvent:
    """Add an audit row for the current user; the caller commits."""
    event = AuditEvent(
        at=now(),
        user_id=current_user.id,
        action=action,
        target=target,
        detail={"address": request.remote_addr or "", **detail},
    )
    session.add(event)
    logger.info("audit %s %s by %s", action, target, current_user.username)
    return event


@bp.get("/")
@requires(Role.SUPERVISOR)
def index() -> ResponseReturnValue:
    session = get_session()
    size = current_app.config["PAGE_SIZE"]
    total = session.scalar(select(func.count(AuditEvent.id))) or 0
    pages = max(1, -(-total // size))
    page = min(params.page_number(request.args.get("page")), pages)
    events = session.execute(
        select(AuditEvent, User)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .order_by(AuditEvent.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return render_template("audit/index.html", events=events, page=page, pages=pages)
