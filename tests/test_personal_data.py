"""Personal data on the entry page (issue 21, 保密制度 一.1): phone numbers the caller
spoke, in the summary and across transcript words, masked like the caller's number for the
roles that see masked numbers, and a masked summary never saved over the real one; opening
an entry audited as a view; the audit page open to supervisors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from recorder.models import AuditEvent, FieldSource, LogEntry, Transcript
from recorder.reception_log import Actor, act_as
from tests.browser import desk
from tests.test_admin import Desk, build
from tests.test_admin_data import entry_form

SAID = "厨房漏水, 回电 13987654321, 或者 021-61234567, 2026-11-23 上午"


@pytest.fixture(name="web")
def web_fixture(tmp_path: Path) -> Iterator[Desk]:
    for web in build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}"):
        with web.app.sessions.begin() as session:
            entry = session.get_one(LogEntry, web.seeded.entry)
            act_as(session, Actor(None, FieldSource.AUTO))
            entry.summary = SAID
            caller = session.scalars(
                select(Transcript).where(
                    Transcript.call_pk == entry.call_pk, Transcript.channel == "caller"
                )
            ).one()
            # The number said across three words, as a recogniser splits it.
            caller.words = [
                {"word": "回电", "start": 0.1, "end": 0.4, "conf": 0.9},
                {"word": "139", "start": 0.5, "end": 0.9, "conf": 0.9},
                {"word": "8765", "start": 1.0, "end": 1.4, "conf": 0.9},
                {"word": "4321", "start": 1.5, "end": 1.9, "conf": 0.9},
            ]
        yield web


def test_spoken_numbers_are_masked_for_clerks_and_kept(web: Desk) -> None:
    page_path = f"/entries/{web.seeded.entry}"
    web.login("clerk")
    page = web.client.get(page_path).text
    assert "13987654321" not in page and "61234567" not in page
    assert "139****4321" in page and "021****4567" in page
    assert "2026-11-23 上午" in page  # a date is no phone number
    # The transcript words: 139 / 8765 / 4321 -> 139 / **** / 4321.
    assert ">139</span><span" in page.replace("\n", "") or ">139<" in page
    assert ">****</span>" in page and ">4321</span>" in page
    assert 'id="summary-masked"' in page  # shown masked, not editable
    # A save with another summary does not write it (the stars would replace the number).
    assert web.post(page_path, entry_form(web, summary="139****4321")) == 302
    with web.app.sessions() as s:
        assert s.get_one(LogEntry, web.seeded.entry).summary == SAID
    web.client.post("/logout", data={"csrf_token": web.token("/")})
    web.login("supervisor")  # not a masked role by default
    assert "13987654321" in web.client.get(page_path).text


def test_opening_an_entry_is_audited_and_supervisors_read_the_audit(web: Desk) -> None:
    web.login("clerk")
    for _ in range(3):  # a reload within the window is the same look
        assert web.client.get(f"/entries/{web.seeded.entry}").status_code == 200
    with web.app.sessions() as s:
        rows = s.execute(
            select(AuditEvent.action, AuditEvent.target, AuditEvent.user_id).where(
                AuditEvent.action == "view_entry"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("view_entry", f"entry:{web.seeded.entry}", web.seeded.clerk)
    ]
    assert web.client.get("/audit/").status_code == 403
    web.client.post("/logout", data={"csrf_token": web.token("/")})
    web.login("supervisor")
    audit = web.client.get("/audit/").text
    assert "查看记录" in audit and f"entry:{web.seeded.entry}" in audit
    # Filtered by action and person; details as text, not JSON.
    views = web.client.get("/audit/?action=view_entry&user=clerk").text
    assert "王芳 (clerk)" in views and "IP 127.0.0.1" in views and "{&#34;" not in views
    assert "查看记录" not in web.client.get("/audit/?action=export").text.split("</select>")[-1]


__all__ = ["desk", "timedelta"]
