"""`hotline admin` (waitress) behind a reverse proxy on 127.0.0.1, spoken to over real
HTTP: the throttle counts each client named by X-Forwarded-For, and a session cookie
copied before logout is refused after it (issue 15). Settings come from HOTLINE_*
variables, as an operator's unit file would set them.
"""

from __future__ import annotations

import http.client
import os
import re
import sys
import urllib.parse
from pathlib import Path

from tests.browser import desk
from tests.support.processes import free_port, running

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class Browser:
    """One client: its own cookie, its own X-Forwarded-For (as the proxy would add)."""

    def __init__(self, port: int, forwarded_for: str) -> None:
        self.port, self.forwarded_for, self.cookie = port, forwarded_for, ""

    def request(self, method: str, path: str, body: str = "") -> tuple[int, str, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"X-Forwarded-For": self.forwarded_for, "User-Agent": "test"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
            cookies = response.headers.get_all("Set-Cookie") or []
        finally:
            connection.close()
        session = next((c for c in cookies if c.startswith("session=")), "")
        if session:
            self.cookie = session.split(";")[0]
        return response.status, text, session

    def form(self, path: str, page: str, **fields: str) -> int:
        match = TOKEN.search(self.request("GET", page)[1])
        assert match, page
        body = urllib.parse.urlencode({**fields, "csrf_token": match[1]})
        return self.request("POST", path, body)[0]


def test_waitress_behind_a_proxy_throttles_per_client_and_logout_revokes(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'hotline.db'}"
    app = desk.make_app(tmp_path, url)
    with app.sessions.begin() as session:
        desk.seed(session, tmp_path / "var" / "recordings")
    app.engine.dispose()
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    environ |= {
        "HOTLINE_ADMIN_TRUSTED_PROXIES": "127.0.0.1/32, ::1/128",
        "HOTLINE_ADMIN_LOGIN_ATTEMPTS": "2",
        "HOTLINE_ADMIN_SESSION_HOURS": "8",
    }
    argv = [sys.executable, "-m", "hotline", "--data-dir", str(tmp_path / "var"),
            "--database-url", url, "admin", "--listen", f"127.0.0.1:{port}"]  # fmt: skip
    intruder, clerk = Browser(port, "203.0.113.7"), Browser(port, "203.0.113.8")

    def up() -> bool:
        try:
            return intruder.request("GET", "/login")[0] == 200
        except OSError:
            return False

    with running(argv, ready=up, timeout=20, log=tmp_path / "admin.log", env=environ):
        wrong = {"username": "clerk", "password": "guess 123456"}
        assert intruder.form("/login", "/login", **wrong) == 401
        assert intruder.form("/login", "/login", **wrong) == 401
        right = {"username": "clerk", "password": desk.PASSWORD}
        assert intruder.form("/login", "/login", **right) == 429
        # The clerk behind the same proxy is another client: not locked out.
        assert clerk.form("/login", "/login", **right) == 302
        assert clerk.request("GET", "/")[0] == 200
        copy = Browser(port, "203.0.113.8")
        copy.cookie = clerk.cookie
        assert copy.request("GET", "/")[0] == 200
        assert clerk.form("/logout", "/") == 302
        status, _text, _cookie = copy.request("GET", "/")
        assert status == 302  # the copied cookie no longer gets in
