"""The web desk through Flask's test client: access, roles, CSRF, revisions, masking, audit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from admin.security import LoginThrottle
from hotline.app import App
from recorder.models import EntryRevision
from tests.browser import desk

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class Desk:
    """A seeded web desk and a small AuthActions-style helper, as in flaskr's tests."""

    def __init__(self, app: App, flask_app: Flask, seeded: desk.Seeded) -> None:
        self.app, self.flask, self.seeded = app, flask_app, seeded
        self.client: FlaskClient = flask_app.test_client()

    def token(self, path: str = "/login") -> str:
        match = TOKEN.search(self.client.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, username: str = "clerk", password: str = desk.PASSWORD) -> int:
        data = {"username": username, "password": password, "csrf_token": self.token()}
        return self.client.post("/login", data=data).status_code

    def post(self, path: str, data: dict[str, str], page: str | None = None) -> int:
        data = {**data, "csrf_token": self.token(page or path)}
        return self.client.post(path, data=data).status_code


def build(tmp_path: Path, url: str, **admin: object) -> Iterator[Desk]:
    app = desk.make_app(tmp_path, url, **admin)
    with app.sessions.begin() as session:
        seeded = desk.seed(session, tmp_path / "var" / "recordings")
    yield Desk(app, desk.web(app), seeded)
    app.engine.dispose()


@pytest.fixture(name="web")
def web_fixture(tmp_path: Path) -> Iterator[Desk]:
    """SQLite only: for what does not depend on the database kind."""
    yield from build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}")


@pytest.fixture(name="both")
def both_fixture(tmp_path: Path, database_url: str) -> Iterator[Desk]:
    """SQLite and the real PostgreSQL server."""
    yield from build(tmp_path, database_url)


def routes(flask_app: Flask, seeded: desk.Seeded) -> list[tuple[str, str]]:
    ids = {"entry_id": seeded.entry, "recording_id": seeded.recording, "user_id": seeded.clerk}
    ids["complaint_id"] = ids["order_id"] = ids["letter_id"] = ids["mark_id"] = 1
    ids["handover_id"] = ids["household_id"] = 1
    found = []
    for rule in flask_app.url_map.iter_rules():
        if rule.endpoint in ("static", "auth.login"):
            continue
        path = rule.rule
        for name, value in ids.items():
            path = path.replace(f"<int:{name}>", str(value))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


def test_every_route_sends_anonymous_users_to_login(web: Desk) -> None:
    checked = 0
    for method, path in routes(web.flask, web.seeded):
        if path in ("/logout", "/language", "/healthz", "/readyz", "/metrics"):  # no login
            continue
        data = {"csrf_token": web.token()} if method == "POST" else None
        response = web.client.open(path, method=method, data=data)
        assert response.status_code == 302, (method, path)
        assert response.headers["Location"].startswith("/login"), (method, path)
        checked += 1
    assert checked >= 18


# (path, method, lowest role allowed)
ROLE_TABLE = [
    ("/", "GET", "clerk"),
    ("/entries/{entry}", "GET", "clerk"),
    ("/entries/recordings/{recording}/audio", "GET", "clerk"),
    ("/entries/recordings/{recording}/peaks.json", "GET", "clerk"),
    ("/complaints/", "GET", "clerk"),
    ("/exports/daily", "GET", "clerk"),
    ("/exports/", "GET", "supervisor"),
    ("/exports/log.csv", "GET", "supervisor"),
    ("/exports/log.xlsx", "GET", "supervisor"),
    ("/admin/users", "GET", "admin"),
    ("/admin/settings", "GET", "admin"),
    ("/admin/retention", "GET", "admin"),
    ("/audit/", "GET", "supervisor"),  # issue 21: supervisors read who looked at what
    ("/residents/", "GET", "clerk"),  # issue 19: the resident directory
    ("/outbound/", "GET", "clerk"),  # issue 22: the day's outbound plan and results
]
RANKS = ["clerk", "supervisor", "admin"]


@pytest.mark.parametrize("role", RANKS)
def test_roles_get_403_below_their_rank(web: Desk, role: str) -> None:
    assert web.login(role) == 302
    for template, method, lowest in ROLE_TABLE:
        path = template.format(entry=web.seeded.entry, recording=web.seeded.recording)
        status = web.client.open(path, method=method).status_code
        expected = 200 if RANKS.index(role) >= RANKS.index(lowest) else 403
        assert status == expected, (role, path, status)


def test_clerk_cannot_post_admin_or_supervisor_forms(web: Desk) -> None:
    web.login("clerk")
    assert web.post("/admin/users", {"username": "x"}, page="/") == 403
    assert web.post(f"/admin/users/{web.seeded.clerk}", {"role": "admin"}, page="/") == 403
    assert web.post("/complaints/1", {"result": "x"}, page="/") == 403


def test_login_refuses_wrong_password_and_throttles(tmp_path: Path) -> None:
    gen = build(tmp_path, f"sqlite:///{tmp_path / 'h.db'}", login_attempts=3)
    web = next(gen)
    assert web.login("clerk", "wrong password!") == 401
    assert web.login("clerk", "wrong password!") == 401
    assert web.login("clerk", "wrong password!") == 401
    # The right password is refused too while the throttle holds.
    assert web.login("clerk") == 429
    assert web.login("supervisor") == 302


def test_throttle_window_slides_and_stays_bounded() -> None:
    now = [0.0]
    throttle = LoginThrottle(2, 60, max_keys=3, clock=lambda: now[0])
    throttle.failed("a", "1.2.3.4")
    throttle.failed("a", "1.2.3.4")
    assert throttle.blocked("a", "1.2.3.4")
    assert not throttle.blocked("a", "5.6.7.8")
    now[0] = 61
    assert not throttle.blocked("a", "1.2.3.4")
    for name in "bcde":
        throttle.failed(name, "x")
    assert len(throttle._failures) == 3


def test_csrf_failure_is_rejected(web: Desk) -> None:
    response = web.client.post("/login", data={"username": "clerk", "password": desk.PASSWORD})
    assert response.status_code == 400
    web.login("clerk")
    response = web.client.post(f"/entries/{web.seeded.entry}", data={"summary": "x"})
    assert response.status_code == 400
    with web.app.sessions() as session:
        assert session.scalars(select(EntryRevision)).all() == []


def test_security_headers_and_cookie_flags(tmp_path: Path) -> None:
    gen = build(tmp_path, f"sqlite:///{tmp_path / 'h.db'}", secure_cookies=True)
    web = next(gen)
    response = web.client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert "<script>" not in response.text.replace('<script src="/static/desk.js" defer>', "")
    data = {"username": "clerk", "password": desk.PASSWORD, "csrf_token": web.token()}
    cookie = web.client.post("/login", data=data).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_secret_key_is_generated_once_with_mode_600(tmp_path: Path) -> None:
    first = desk.web(desk.make_app(tmp_path, f"sqlite:///{tmp_path / 'h.db'}"))
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    second = desk.web(desk.make_app(tmp_path, f"sqlite:///{tmp_path / 'h.db'}"))
    assert first.secret_key == second.secret_key == key_file.read_text().strip()


def test_call_log_today_masked_for_clerks_with_callback_and_overdue(web: Desk) -> None:
    web.login("clerk")
    page = web.client.get("/").text
    assert "138****5678" in page and "13812345678" not in page
    assert 'class="callback' in page  # the missed call nobody called back
    assert 'class="overdue"' in page
    assert "报修" in page  # the category's label, in Simplified Chinese
    assert "3栋2单元501" in page
    # Yesterday is empty: the default is today in Asia/Shanghai.
    assert "3栋2单元501" not in web.client.get("/?date_from=2026-11-22&date_to=2026-11-22").text


def test_supervisors_see_full_numbers(web: Desk) -> None:
    web.login("supervisor")
    assert "13812345678" in web.client.get("/").text


def test_filters_narrow_the_list(web: Desk) -> None:
    web.login("clerk")
    assert "3栋2单元501" in web.client.get("/?date_from=&date_to=&category=repair").text
    assert "3栋2单元501" not in web.client.get("/?date_from=&date_to=&category=complaint").text
    assert "3栋2单元501" in web.client.get("/?date_from=&date_to=&urgency=leak").text
    assert "3栋2单元501" not in web.client.get("/?date_from=&date_to=&status=closed").text
    staff = web.client.get(f"/?date_from=&date_to=&staff={web.seeded.clerk}").text
    assert "3栋2单元501" in staff and "13900001111"[-4:] not in staff


def test_hostile_text_renders_inert(web: Desk) -> None:
    web.login("clerk")
    for path in ("/", f"/entries/{web.seeded.entry}", "/exports/daily"):
        page = web.client.get(path).text
        assert "<script>alert" not in page, path
    page = web.client.get(f"/entries/{web.seeded.entry}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_language_is_chosen_per_user(web: Desk) -> None:
    web.login("clerk")
    assert "来电记录" in web.client.get("/").text
    assert web.post("/language", {"language": "zh-TW"}, page="/") == 302
    assert "來電紀錄" in web.client.get("/").text  # Taiwan usage: 紀錄 (issue 21)
    assert web.post("/language", {"language": "en"}, page="/") == 302
    assert "Call log" in web.client.get("/").text
    web.client.post("/logout", data={"csrf_token": web.token("/")})
    web.login("supervisor")
    assert "来电记录" in web.client.get("/").text


def test_logout_needs_csrf_and_ends_the_session(web: Desk) -> None:
    web.login("clerk")
    web.client.post("/logout")
    assert web.client.get("/").status_code == 200
    web.client.post("/logout", data={"csrf_token": web.token("/")})
    assert web.client.get("/").status_code == 302


def test_today_is_the_organisations_day(web: Desk) -> None:
    """17:30 UTC on the 22nd is 01:30 on the 23rd in Asia/Shanghai: today's list."""
    from datetime import UTC, datetime

    from recorder.models import FieldSource
    from recorder.reception_log import new_entry

    with web.app.sessions.begin() as session:
        new_entry(
            session,
            {"received_at": datetime(2026, 11, 22, 17, 30, tzinfo=UTC), "unit": "夜间9栋"},
            FieldSource.AUTO,
        )
        new_entry(
            session,
            {"received_at": datetime(2026, 11, 22, 15, 59, tzinfo=UTC), "unit": "昨天7栋"},
            FieldSource.AUTO,
        )
    web.login("clerk")
    page = web.client.get("/").text
    assert "夜间9栋" in page and "昨天7栋" not in page
