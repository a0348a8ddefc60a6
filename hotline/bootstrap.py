"""First-start chores for the embedded setup."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from hotline.app import App


def ensure_first_admin(app: App) -> None:
    """Create user `admin` with a random password if there is no user at all.

    The password is printed once and kept in data_dir/admin-password.txt
    (mode 600) so a newcomer can log in; change it with `hotline users set-password admin`.
    """
    from recorder import staff
    from recorder.models import Role, User

    with app.sessions.begin() as session:
        if session.scalar(select(func.count()).select_from(User)):
            return
        password = secrets.token_urlsafe(12)
        staff.add_user(session, "admin", "管理员", "0000", Role.ADMIN, password, independent=False)
    path = app.settings.paths.data_dir / "admin-password.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(password + "\n")
    print(f"hotline: created user 'admin' with password {password} (also in {path})")
