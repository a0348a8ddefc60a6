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
    """Who looked at or changed what, newest first; ?action= and ?user= narrow it."""
    session = get_session()
    size = current_app.config["PAGE_SIZE"]
    action = (request.args.get("action") or "").strip()[:32]
    username = (request.args.get("user") or "").strip()[:64]
    where = []
    if action:
        where.append(AuditEvent.action == action)
    if username:
        where.append(User.username == username)
    base = select(AuditEvent, User).outerjoin(User, User.id == AuditEvent.user_id).where(*where)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-total // size))
    page = min(params.page_number(request.args.get("page")), pages)
    events = session.execute(
        base.order_by(AuditEvent.id.desc()).limit(size).offset((page - 1) * size)
    ).all()
    users = session.scalars(select(User.username).order_by(User.username)).all()
    return render_template(
        "audit/index.html",
        events=events,
        page=page,
        pages=pages,
        action=action,
        username=username,
        users=users,
        detail_text=detail_text,
    )


def detail_text(detail: dict[str, Any]) -> str:
    """An audit row's details as text: key: value, … (the address last)."""
    parts = [f"{k}: {v}" for k, v in detail.items() if k != "address"]
    if detail.get("address"):
        parts.append(f"IP {detail['address']}")
    return " · ".join(parts)
