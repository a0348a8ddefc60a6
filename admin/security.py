"""Secret key, security headers, role checks and the failed-login throttle."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, abort, current_app
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

from admin.proxies import TrustedProxies
from admin.settings import DeskSettings
from recorder.models import Role

RANK = {Role.CLERK: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
F = TypeVar("F", bound=Callable[..., ResponseReturnValue])


def secret_key(settings: DeskSettings) -> str:
    """The configured key, or one generated once into data_dir/secret_key (mode 600)."""
    if settings.admin.secret_key:
        return settings.admin.secret_key
    path = Path(settings.paths.data_dir) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def init_app(web: Flask) -> None:
    CSRFProtect(web)
    settings = web.extensions["hotline"].settings
    web.extensions["login_throttle"] = LoginThrottle(
        settings.admin.login_attempts,
        settings.admin.login_window_s,
        per_address=settings.admin.login_attempts_per_address,
        total=settings.admin.login_attempts_total,
    )
    # The client's address (throttle, audit, logs) behind a trusted reverse proxy.
    web.wsgi_app = TrustedProxies(web.wsgi_app, settings.admin.trusted_proxies)  # type: ignore[method-assign]

    @web.after_request
    def _headers(response: Any) -> Any:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if settings.admin.secure_cookies:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response


def requires(role: Role) -> Callable[[F], F]:
    """Log in first, then at least `role` (clerk < supervisor < admin), else 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            if not current_user.is_authenticated:
                manager = current_app.login_manager  # type: ignore[attr-defined]
                return manager.unauthorized()
            if RANK[current_user.role] < RANK[role]:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


class LoginThrottle:
    """Failed logins in a sliding window, counted three ways: per (user name, address),
    per address whatever the user names (password spraying), and in all (spraying from
    many addresses). A count at its limit refuses the logins it covers, right
    passwords too. Bounded in memory: at most `max_keys` keys, each at most its limit.
    """

    def __init__(
        self,
        attempts: int,
        window_s: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        per_address: int | None = None,
        total: int | None = None,
    ) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self.max_keys = max_keys
        self.clock = clock
        self.per_address = per_address
        self.total = total
        self._failures: OrderedDict[tuple[str, ...], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _limits(self, username: str, address: str) -> list[tuple[tuple[str, ...], int]]:
        limits: list[tuple[tuple[str, ...], int]] = [(("user", username, address), self.attempts)]
        if self.per_address is not None:
            limits.append((("address", address), self.per_address))
        if self.total is not None:
            limits.append((("all",), self.total))
        return limits

    def _recent(self, key: tuple[str, ...]) -> deque[float]:
        times = self._failures.get(key, deque())
        horizon = self.clock() - self.window_s
        while times and times[0] < horizon:
            times.popleft()
        return times

    def blocked(self, username: str, address: str) -> bool:
        with self._lock:
            return any(len(self._recent(key)) >= n for key, n in self._limits(username, address))

    def failed(self, username: str, address: str) -> None:
        with self._lock:
            for key, limit in self._limits(username, address):
                times = self._recent(key)
                times.append(self.clock())
                while len(times) > limit:
                    times.popleft()
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        """The user's own count starts again; the address's and the total do not (one
        account of one's own must not reset a spraying address's count)."""
        with self._lock:
            self._failures.pop(("user", username, address), None)
