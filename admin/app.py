"""The desk's application factory, in flaskr's shape: the composition root passes in
the few services the desk uses; one blueprint per area."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from admin.services import Desk
from admin.settings import DeskSettings
from transcripts.rules import DeskContent


def create_app(
    settings: DeskSettings,
    sessions: sessionmaker[Session],
    content: Callable[[], DeskContent],
    test_config: Mapping[str, Any] | None = None,
) -> Flask:
    """Build the web desk on `sessions` of a database at the code's schema; `content` is
    loaded on first use."""
    from admin import (
        audit,
        auth,
        calls,
        complaints,
        db,
        entries,
        exports,
        i18n,
        playback,
        present,
        security,
        users,
    )

    web = Flask(__name__)
    web.config.from_mapping(
        SECRET_KEY=security.secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.admin.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.admin.secure_cookies,
        # The login itself ends on the server (admin/logins.py); the cookies end with it.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.admin.session_hours),
        REMEMBER_COOKIE_DURATION=timedelta(hours=settings.admin.session_hours),
        MAX_CONTENT_LENGTH=1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        PAGE_SIZE=50,
    )
    if test_config is not None:
        web.config.update(test_config)
    web.extensions["hotline"] = Desk(settings, sessions, content)
    db.init_app(web, sessions)
    security.init_app(web)
    i18n.init_app(web)
    playback.init_app(web)
    auth.init_app(web)
    web.context_processor(
        lambda: {
            "present": present,
            "disposition_label": present.disposition_label,
            "speech_model_missing": present.speech_model_missing(),
        }
    )
    for blueprint in (
        auth.bp,
        calls.bp,
        entries.bp,
        complaints.bp,
        exports.bp,
        users.bp,
        audit.bp,
    ):
        web.register_blueprint(blueprint)
    from admin import checks, handover, letters, matters, orders, supervision  # issues 9, 21

    web.register_blueprint(supervision.bp)
    web.register_blueprint(matters.bp)
    web.register_blueprint(orders.bp)
    web.register_blueprint(letters.bp)
    web.register_blueprint(handover.bp)
    web.register_blueprint(checks.bp)
    from admin import kpi  # the desk's KPIs against their targets (issue 20)

    web.register_blueprint(kpi.bp)
    from admin import estates  # the estates side by side (issue 23)

    web.register_blueprint(estates.bp)
    from admin import residents  # the resident directory (issue 19)

    web.register_blueprint(residents.bp)
    from admin import live  # the live desk: calls in progress, alerts, call-backs (issue 19)

    web.register_blueprint(live.bp)
    from admin import outbound  # the day's outbound plan and results (issue 22)

    web.register_blueprint(outbound.bp)

    from admin import health  # /healthz, /readyz, /metrics for the IT team (issue 23)

    health.init_app(web)
    return web
