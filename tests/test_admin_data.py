"""Corrections, the complaint register, exports, audit and search on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from recorder import db
from recorder.models import (
    AuditEvent,
    Call,
    CallLeg,
    Complaint,
    EntryRevision,
    LegResult,
    LogEntry,
    MatterRevision,
    User,
)
from tests.browser import desk
from tests.test_admin import Desk, both_fixture, build, web_fixture

# The `web` (SQLite) and `both` (SQLite + PostgreSQL) fixtures of test_admin.
__all__ = ["both_fixture", "web_fixture"]


def entry_form(web: Desk, **changes: str) -> dict[str, str]:
    base = {
        "received_at": "2026-11-23T09:30",
        "surname": "张",
        "unit": "3栋2单元501",
        "category": "repair",
        "urgency": "leak",
        "summary": "厨房水管漏水",
        "handling": "",
        "dispatch_department": "",
        "promised_reply_at": "",
        "follow_up_due": "2026-11-22",
        "status": "dispatched",
        "responsible_user_id": str(web.seeded.clerk),
        "reason": "",
    }
    return {**base, **changes}


def test_reclassifying_writes_revisions_and_registers_a_complaint(both: Desk) -> None:
    web, entry_id = both, both.seeded.entry
    web.login("clerk")
    form = entry_form(web, category="complaint", reason="住户要求投诉")
    assert web.post(f"/entries/{entry_id}", form) == 302
    with web.app.sessions() as session:
        revisions = session.scalars(select(EntryRevision).order_by(EntryRevision.id)).all()
        by_field = {r.field: r for r in revisions}
        category = by_field["category"]
        assert (category.old_value, category.new_value) == ("repair", "complaint")
        assert category.new_source == "person" and category.user_id == web.seeded.clerk
        assert category.reason == "住户要求投诉"
        # The caller's number is masked for clerks: never taken from the form.
        assert "caller_number" not in by_field
        complaint = session.scalars(select(Complaint)).one()
        assert complaint.number == "TS-2026-0001"
        entry = session.get(LogEntry, entry_id)
        assert entry is not None and entry.caller_number == "13812345678"
        assert entry.call is not None and entry.call.transcripts  # training text, via the call
    page = web.client.get(f"/entries/{entry_id}").text
    assert "TS-2026-0001" in page and "自动识别值" in page and "王芳" in page
    notice = web.client.get(f"/complaints/{complaint.id}/notice").text
    assert "TS-2026-0001" in notice and "客户投诉处理通知单" in notice
    assert "TS-2026-0001" in web.client.get("/complaints/?year=2026").text


def test_the_entry_shows_how_the_call_was_answered_and_who_was_rung(web: Desk) -> None:
    """What a supervisor checks on the entry: the rings before the answer, the caller's
    audio quality as received, and each duty clerk rung in order with ring time and result."""
    with web.app.sessions.begin() as session:
        entry = session.get_one(LogEntry, web.seeded.entry)
        call = session.get_one(Call, entry.call_pk)
        call.ring_count = 2
        call.rtp_packets_received, call.rtp_packets_lost, call.rtp_jitter_ms = 1500, 3, 2.46
        for seq, (ext, user, seconds, result) in enumerate(
            [
                ("8003", None, 0.9, LegResult.BUSY),
                ("8002", web.seeded.clerk, 2.5, LegResult.ANSWERED),
            ],
            start=1,
        ):
            session.add(
                CallLeg(
                    call_pk=call.id,
                    seq=seq,
                    extension=ext,
                    user_id=user,
                    rang_at=call.invite_at,
                    ring_seconds=seconds,
                    result=result,
                )
            )
    web.login("clerk")
    page = web.client.get(f"/entries/{web.seeded.entry}").text
    assert "响铃 2 声后接听" in page
    assert "来电音频：1500 个包，丢失 3 个，抖动 2.5 毫秒" in page
    rows = page[page.index("已呼叫的客服") :]
    assert rows.index("8003") < rows.index("8002")  # in the order they were rung
    assert "占线" in rows and "0.9" in rows and "王芳" in rows and "2.5" in rows


def test_saving_unchanged_writes_no_revision(web: Desk) -> None:
    web.login("clerk")
    web.post(
        f"/entries/{web.seeded.entry}",
        entry_form(web, summary="厨房水管漏水 <script>alert('x')</script>"),
    )
    with web.app.sessions() as session:
        assert session.scalars(select(EntryRevision)).all() == []


def test_invalid_edit_is_refused(web: Desk) -> None:
    web.login("clerk")
    assert web.post(f"/entries/{web.seeded.entry}", entry_form(web, urgency="bogus")) == 400
    assert web.post(f"/entries/{web.seeded.entry + 99}", entry_form(web), page="/") == 404


def test_supervisor_records_result_and_closing(web: Desk) -> None:
    web.login("supervisor")
    web.post(f"/entries/{web.seeded.entry}", entry_form(web, category="complaint"))
    # No satisfied follow-up: not closed without the supervisor's decision (1.4.2.2.4),
    # and nothing of the refused save is kept.
    assert web.post("/complaints/1", {"result": "已更换水管", "closed": "y"}, page="/") == 409
    assert "已更换水管" not in web.client.get("/complaints/?year=2026").text
    decided = {"result": "已更换水管", "closed": "y", "decision": "经主任决定结案: 业主已搬离"}
    # Its work is dispatched: a complaint does not close over open work (the state machine).
    assert web.post("/complaints/1", decided, page="/") == 409
    page = f"/entries/{web.seeded.entry}"
    assert web.post(f"{page}/orders", {"department": "工程部"}, page=page) == 302
    assert web.post(f"{page}/orders/1/return", {"outcome": "done"}, page=page) == 302
    assert web.post("/complaints/1", decided, page="/") == 302
    register = web.client.get("/complaints/?year=2026").text
    assert "已更换水管" in register and "2026-11-23" in register


def test_playback_and_exports_are_audited(web: Desk) -> None:
    web.login("supervisor")
    audio = web.client.get(f"/entries/recordings/{web.seeded.recording}/audio")
    assert audio.status_code == 200 and audio.data[:4] == b"RIFF"
    ranged = web.client.get(
        f"/entries/recordings/{web.seeded.recording}/audio", headers={"Range": "bytes=1000-1999"}
    )
    assert ranged.status_code == 206 and len(ranged.data) == 1000
    csv_response = web.client.get("/exports/log.csv?date_from=2026-11-23&date_to=2026-11-23")
    web.client.get("/exports/log.xlsx?date_from=2026-11-23&date_to=2026-11-23")
    with web.app.sessions() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["playback", "export", "export"]
    assert all(e.user_id == web.seeded.supervisor for e in events)
    assert csv_response.data.startswith(b"\xef\xbb\xbf")


def test_csv_and_xlsx_follow_the_paper_book(web: Desk) -> None:
    web.login("supervisor")
    body = web.client.get("/exports/log.csv?date_from=2026-11-23&date_to=2026-11-23").data
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["来电时间", "来电号码", "姓氏"] and rows[0][-1] == "首问负责人"
    assert len(rows) == 3 and rows[1][3] == "3栋2单元501" and rows[1][5] == "报修"
    assert rows[1][1] == "13812345678"  # supervisors are not masked by default
    data = web.client.get("/exports/log.xlsx?date_from=2026-11-23&date_to=2026-11-23").data
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert [c.value for c in sheet[1]][:2] == ["来电时间", "来电号码"]
    assert sheet.max_row == 3
    # Real dates in local time, widths, the header frozen and filters (issue 21).
    assert sheet["A2"].is_date and sheet["A2"].value.strftime("%Y-%m-%d %H:%M") == rows[1][0]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:N3"
    assert sheet.column_dimensions["H"].width == 40
    assert (
        web.client.get("/exports/log.csv?date_from=2026-11-24&date_to=2026-11-01").status_code
        == 400
    )


def test_daily_log_masks_for_clerks(web: Desk) -> None:
    web.login("clerk")
    page = web.client.get("/exports/daily?day=2026-11-23").text
    assert "电话接待记录本" in page and "138****5678" in page and "13812345678" not in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("漏水", True),  # two characters: below the trigram size
        ("厨房水管", True),
        ("3栋2单元", True),
        ("5678", True),
        ("水管 漏水", True),
        ("煤气", False),
        ("' OR 1=1 --", False),
        ("%", False),
        ("_", False),
        ('"; DROP TABLE log_entries; --', False),
        ("100%_", False),
    ],
)
def test_search_finds_chinese_substrings_and_treats_sql_as_text(
    both: Desk, query: str, expected: bool
) -> None:
    both.login("clerk")
    response = both.client.get("/", query_string={"date_from": "", "date_to": "", "q": query})
    assert response.status_code == 200
    assert ("3栋2单元501" in response.text) is expected


def test_search_covers_transcripts_and_follows_edits(both: Desk) -> None:
    both.login("supervisor")
    assert "3栋2单元501" in both.client.get("/?date_from=&date_to=&q=您好").text
    both.post(f"/entries/{both.seeded.entry}", entry_form(both, handling="已派维修工小刘"))
    assert "3栋2单元501" in both.client.get("/?date_from=&date_to=&q=维修工小刘").text


def test_admin_adds_and_deactivates_users(web: Desk) -> None:
    web.login("admin")
    form = {
        "username": "newbie",
        "display_name": "新员工",
        "job_number": "099",
        "role": "clerk",
        "password": "long enough pw",
        "extension": "",
    }
    assert web.post("/admin/users", form) == 302
    assert web.post("/admin/users", form) == 400  # exists already
    with web.app.sessions() as session:
        user = session.scalars(select(User).where(User.username == "newbie")).one()
        assert user.independent is False  # the box was not ticked
    prefix = f"u{user.id}-"
    assert (
        web.post(f"/admin/users/{user.id}", {prefix + "role": "supervisor"}, page="/admin/users")
        == 302
    )
    with web.app.sessions() as session:
        user = session.get(User, user.id)
        assert user is not None and not user.active and user.role.value == "supervisor"
        # Each change of a user is a revision row saying who made it (issue 21).
        changes = session.scalars(
            select(MatterRevision).where(
                MatterRevision.kind == "user", MatterRevision.row_id == user.id
            )
        ).all()
        assert {(r.field, r.old_value, r.new_value, r.user_id) for r in changes} == {
            ("role", "clerk", "supervisor", web.seeded.admin),
            ("active", "True", "False", web.seeded.admin),
        }
    assert web.login("newbie", "long enough pw") == 401


def test_settings_view_hides_secrets(tmp_path: Path) -> None:
    gen = build(tmp_path, f"sqlite:///{tmp_path / 'h.db'}", secret_key="s3cr3t-value")
    web = next(gen)
    web.login("admin")
    page = web.client.get("/admin/settings").text
    assert "s3cr3t-value" not in page and "********" in page
    assert "幸福家园" in page


def test_audit_page_lists_events(web: Desk) -> None:
    web.login("admin")
    web.client.get(f"/entries/recordings/{web.seeded.recording}/audio")
    page = web.client.get("/audit/").text
    assert "playback" in page and f"recording:{web.seeded.recording}" in page


def test_search_migration_goes_down_and_up(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    db.downgrade(engine, "0003-1")
    db.upgrade(engine)
    assert "0003" in db.current_revisions(engine)
    engine.dispose()


def test_retention_view_counts_recordings_past_their_period(web: Desk) -> None:
    from datetime import timedelta

    from recorder.models import Call, Direction, Recording, RecordingState

    with web.app.sessions.begin() as session:
        for n, age in enumerate((200, 100)):
            call = Call(call_id=f"old-{n}", direction=Direction.INBOUND, invite_at=desk.NOW)
            session.add(call)
            session.flush()
            session.add(
                Recording(
                    call_pk=call.id,
                    path=f"/nonexistent/old-{n}.wav",
                    state=RecordingState.COMPLETE,
                    started_at=desk.NOW - timedelta(days=age),
                )
            )
    web.login("admin")
    page = web.client.get("/admin/retention").text
    assert '<td class="due-recordings">1</td>' in page
    assert '<td class="due-complaints">0</td>' in page


@pytest.mark.parametrize("query", ["", "1"])
def test_pages_of_the_log_with_and_without_search(both: Desk, query: str) -> None:
    both.flask.config["PAGE_SIZE"] = 1
    both.login("supervisor")
    args = {"date_from": "", "date_to": "", "q": query}
    first = both.client.get("/", query_string=args).text
    second = both.client.get("/", query_string={**args, "page": "2"}).text
    beyond = both.client.get("/", query_string={**args, "page": "9"}).text
    assert "1 / 2" in first and "2 / 2" in second and "2 / 2" in beyond
    assert ("13900001111" in first) != ("13900001111" in second)
    assert ("13900001111" in second) == ("13900001111" in beyond)


@pytest.mark.parametrize("query", ["", "1"])
def test_the_count_stops_at_the_cap_and_later_pages_still_come(
    both: Desk, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big log counts its matches only up to queries.COUNT_CAP (counting every match
    of a common word cost seconds a page at 1,000,000 entries): the desk says "over N",
    offers the next page, and that page counts as far as it needs."""
    from admin import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 1)
    both.flask.config["PAGE_SIZE"] = 1
    both.login("supervisor")
    args = {"date_from": "", "date_to": "", "q": query}
    first = both.client.get("/", query_string=args).text
    second = both.client.get("/", query_string={**args, "page": "2"}).text
    assert "1 / 1+" in first and 'rel="next"' in first
    assert "2 / 2" in second and "2 / 2+" not in second and 'rel="next"' not in second
    assert ("13900001111" in first) != ("13900001111" in second)
