"""Log in, log out and the per-user language, with Flask-Login over server-side
logins (admin/logins.py): a login ends after admin.session_hours or at logout."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.security import check_password_hash
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from admin import health, logins
from admin.db import get_session, now, settings
from admin.forms import choices
from admin.security import LoginThrottle
from recorder.estates import restrict, visible_estates
from recorder.models import Role, User
from recorder.staff import hash_password, verify_password

logger = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
LANGUAGES = {"zh-CN": "简体中文", "zh-TW": "繁體中文", "en": "English"}


@dataclass(frozen=True)
class StaffUser:
    """The logged-in user as Flask-Login sees it: a snapshot, not a live ORM row."""

    id: int
    username: str
    display_name: str
    role: Role
    language: str
    #: The login's token (admin/logins.py): what the cookie carries instead of the id.
    token: str = ""
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return self.token

    @classmethod
    def of(cls, user: User, token: str) -> StaffUser:
        return cls(user.id, user.username, user.display_name, user.role, user.language, token)


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=256)])


class LanguageForm(FlaskForm):
    language = SelectField("language", choices=choices(LANGUAGES.items()))


def init_app(web: Flask) -> None:
    manager = LoginManager(web)
    manager.login_view = "auth.login"
    manager.login_message = ""
    manager.session_protection = "strong"

    @manager.user_loader
    def _load(token: str) -> StaffUser | None:
        session = get_session()
        user = logins.user_of(session, token, now())
        if user is None:
            return None
        # Every later read of this request sees only the user's estates (issue 23).
        restrict(session, visible_estates(session, user.id, user.role))
        return StaffUser.of(user, token)

    # Checked against for user names that do not exist, so that they take as long
    # to refuse as a wrong password (the time must not tell which names exist).
    web.extensions["unknown_user_hash"] = hash_password(secrets.token_urlsafe(24))

    @web.context_processor
    def _language_form() -> dict[str, object]:
        form = LanguageForm()
        if current_user.is_authenticated:
            form.language.data = current_user.language
        return {"language_form": form, "languages": LANGUAGES}


def _throttle() -> LoginThrottle:
    throttle: LoginThrottle = current_app.extensions["login_throttle"]
    return throttle


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template(
            "auth/login.html", form=form
        ), 400 if request.method == "POST" else 200
    username = (form.username.data or "").strip().lower()
    address = request.remote_addr or "-"
    if _throttle().blocked(username, address):
        logger.warning("login %s from %s: throttled", username, address)
        health.metrics().login_failures.labels(reason="throttled").inc()
        flash(_("Too many failed attempts. Try again later."), "error")
        return render_template("auth/login.html", form=form), 429
    session = get_session()
    user = session.scalar(select(User).where(User.username == username))
    if not _password_matches(user, form.password.data or "") or user is None or not user.active:
        _throttle().failed(username, address)
        logger.info("login %s from %s: refused", username, address)
        health.metrics().login_failures.labels(reason="refused").inc()
        flash(_("Wrong user name or password."), "error")
        return render_template("auth/login.html", form=form), 401
    _throttle().succeeded(username, address)
    token = logins.open_login(session, user, now(), settings().admin.session_hours)
    session.commit()
    cookie.permanent = True  # the cookie ends with the login (PERMANENT_SESSION_LIFETIME)
    login_user(StaffUser.of(user, token))
    logger.info("login %s from %s", username, address)
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("calls.index")
    return redirect(target)


def _password_matches(user: User | None, password: str) -> bool:
    """One password check for every attempt: unknown users against a stand-in hash."""
    if user is None:
        check_password_hash(current_app.extensions["unknown_user_hash"], password)
        return False
    return verify_password(user, password)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the login on the server too: a copy of the cookie no longer gets in."""
    if FlaskForm().validate_on_submit():
        if current_user.is_authenticated:
            session = get_session()
            logins.close_login(session, current_user.token)
            session.commit()
            logger.info("logout %s", current_user.username)
        logout_user()
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language() -> ResponseReturnValue:
    """Keep the chosen language on the user, so it follows them to any desk."""
    form = LanguageForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        session = get_session()
        user = session.get(User, current_user.id)
        if user is not None:
            user.language = form.language.data or "zh-CN"
            session.commit()
    referrer = request.referrer or ""
    host = request.host_url
    return redirect(referrer if referrer.startswith(host) else url_for("calls.index"))
