"""A matter from call to close through the desk (Flask test client), on SQLite and
PostgreSQL (issue 21): a clerk reclassifies a call as a leak (the rules fill the promised
reply and follow-up date), dispatches a numbered work order to a named technician from the
entry page, the return comes back not done (reason) and done after a re-dispatch (parts,
paid-service fee), the follow-up clock restarts from the completion, the 18:00 check counts
the orders, the follow-up clears 逾期未回访, and only a supervisor closes it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from recorder import dispatch
from recorder.models import (
    AuditEvent,
    EntryRevision,
    EntryStatus,
    FieldSource,
    FollowUp,
    LogEntry,
    WorkOrder,
)
from recorder.reception_log import new_entry
from tests.browser import desk
from tests.test_admin import Desk, build

ZONE = "Asia/Shanghai"


class Clock:
    """The desk's clock seam, moved on by the test."""

    def __init__(self) -> None:
        self.now = desk.NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(name="matter")
def matter_fixture(tmp_path: Path, database_url: str) -> Iterator[tuple[Desk, Clock, int]]:
    clock = Clock()
    gen = build(tmp_path, database_url)
    plain = next(gen)
    with plain.app.sessions.begin() as session:
        entry = new_entry(
            session,
            {
                "received_at": desk.NOW - timedelta(minutes=5),
                "caller_number": "13912345678",
                "surname": "王",
                "unit": "3栋2单元501",
                "summary": "厨房水管漏水, 回电 13987654321",
                "responsible_user_id": plain.seeded.clerk,
            },
            FieldSource.AUTO,
        )
        session.flush()
        entry_id = entry.id
    yield Desk(plain.app, desk.web(plain.app, CLOCK=clock), plain.seeded), clock, entry_id
    gen.close()


def _form(**changes: str) -> dict[str, str]:
    base = {
        "received_at": "2026-11-23T09:55",
        "surname": "王",
        "unit": "3栋2单元501",
        "category": "other",
        "urgency": "normal",
        "summary": "厨房水管漏水, 回电 13987654321",
        "handling": "",
        "dispatch_department": "",
        "promised_reply_at": "",
        "follow_up_due": "",
        "reason": "",
    }
    return {**base, **changes}


def _entry(web: Desk, entry_id: int) -> LogEntry:
    with web.app.sessions() as s:
        return s.get_one(LogEntry, entry_id)


def test_a_repair_from_call_to_order_to_return_to_follow_up_to_close(
    matter: tuple[Desk, Clock, int],
) -> None:
    web, clock, entry_id = matter
    page = f"/entries/{entry_id}"
    web.login("clerk")
    # 1. Reclassified as a leak repair: 承诺答复时间 +10 min (000 1.4.5), 回访期限 +3 days (1.4.3.6.2).
    # The status and owner posted with the form are not taken (only by their own steps).
    changed = _form(category="repair", urgency="leak", status="closed", reason="漏水报修")
    assert web.post(page, changed) == 302
    entry = _entry(web, entry_id)
    assert entry.promised_reply_at == desk.NOW - timedelta(minutes=5) + timedelta(minutes=10)
    assert entry.follow_up_due == desk.TODAY + timedelta(days=3)
    assert entry.status is EntryStatus.RECEIVED
    # 2. A work order from the entry page, to a named technician, due at the 18:00 check.
    order = {"department": "工程部", "technician": "李师傅"}
    assert web.post(f"{page}/orders", order, page=page) == 302
    with web.app.sessions() as s:
        (first,) = s.scalars(select(WorkOrder)).all()
        assert (first.number, first.technician) == ("PG-2026-0001", "李师傅")
        assert first.due_at == datetime(2026, 11, 23, 10, 0, tzinfo=desk.NOW.tzinfo)  # 18:00 local
        assert s.get_one(LogEntry, entry_id).status is EntryStatus.DISPATCHED
        (moved,) = s.scalars(
            select(EntryRevision).where(
                EntryRevision.entry_id == entry_id, EntryRevision.field == "status"
            )
        ).all()
        assert (moved.new_value, moved.reason) == ("dispatched", "派工 PG-2026-0001 工程部 李师傅")
    web.client.post("/logout", data={"csrf_token": web.token("/")})
    web.login("supervisor")
    daily = web.client.get("/supervision/daily?day=2026-11-23").text
    assert (
        re.search(r'id="dispatched"[^>]*>\s*(\d+)', daily).group(1) == "1"
    )  # the clerk's order counts
    web.client.post("/logout", data={"csrf_token": web.token("/")})
    web.login("clerk")
    # The technician's page lists it; its notice has the letterhead and the due time.
    listed = web.client.get("/orders/?technician=李师傅").text
    assert "PG-2026-0001" in listed and "139****4321" in listed  # the spoken number masked
    notice = web.client.get(f"/orders/{first.id}").text
    assert "幸福家园物业服务中心" in notice and "2026-11-23 18:00" in notice
    # 3. No follow-up while the order is open: refused, nothing written.
    follow = {"reached": "yes", "satisfied": "yes", "notes": "已修好"}
    assert web.post(f"{page}/follow-up", follow, page=page) == 409
    # 4. Not done needs a reason; with one, the entry is back to received.
    back = f"{page}/orders/{first.id}/return"
    assert web.post(back, {"outcome": "not_done", "reason": " "}, page=page) == 400
    assert web.post(back, {"outcome": "not_done", "reason": "缺配件"}, page=page) == 302
    assert _entry(web, entry_id).status is EntryStatus.RECEIVED
    # 5. Dispatched again, then re-dispatched to another technician with the reason.
    assert web.post(f"{page}/orders", order, page=page) == 302
    with web.app.sessions() as s:
        second = s.scalars(select(WorkOrder).order_by(WorkOrder.id)).all()[-1]
    again = {"department": "工程部", "technician": "张师傅", "reason": ""}
    redispatch = f"{page}/orders/{second.id}/redispatch"
    assert web.post(redispatch, again, page=page) == 400  # a reason is required
    assert web.post(redispatch, {**again, "reason": "李师傅休假"}, page=page) == 302
    with web.app.sessions() as s:
        third = s.scalars(select(WorkOrder).order_by(WorkOrder.id)).all()[-1]
        assert (third.number, third.technician, third.previous_id) == (
            "PG-2026-0003",
            "张师傅",
            second.id,
        )
        assert s.get_one(WorkOrder, second.id).reason == "改派: 李师傅休假"
    # 6. Done two days later, with parts and a paid-service fee; a paid one needs its fee.
    clock.now = desk.NOW + timedelta(days=2)
    web.login("clerk")  # the login of two days ago has ended (admin.session_hours)
    back = f"{page}/orders/{third.id}/return"
    done = {"outcome": "done", "parts": "水管接头", "paid": "y", "fee": ""}
    assert web.post(back, done, page=page) == 400
    assert web.post(back, {**done, "fee": "35.50"}, page=page) == 302
    with web.app.sessions() as s:
        returned = s.get_one(WorkOrder, third.id)
        assert (returned.completed, returned.parts, returned.paid, returned.fee_fen) == (
            True,
            "水管接头",
            True,
            3550,
        )
        entry = s.get_one(LogEntry, entry_id)
        # The follow-up clock counts from the completion: leak, three days (1.4.3.6.2).
        assert entry.status is EntryStatus.DONE
        assert entry.follow_up_due == date(2026, 11, 28)
        # Each revision names who made it: the clerk's return, the system's new date.
        made = {
            (r.field, r.new_value): r.user_id
            for r in s.scalars(select(EntryRevision).where(EntryRevision.entry_id == entry_id))
        }
        assert made[("status", "done")] == web.seeded.clerk
        assert made[("follow_up_due", "2026-11-28")] is None
    # 7. Four days on it is overdue; the follow-up clears it.
    clock.now = desk.NOW + timedelta(days=6)
    web.login("clerk")
    shown = web.client.get(page).text
    assert 'id="follow-up-overdue"' in shown
    with web.app.sessions() as s:
        assert entry_id in [e.id for e in dispatch.overdue(s, date(2026, 11, 29))]
    assert web.post(f"{page}/follow-up", follow, page=page) == 302
    shown = web.client.get(page).text
    assert 'id="follow-up-overdue"' not in shown
    with web.app.sessions() as s:
        assert entry_id not in [e.id for e in dispatch.overdue(s, date(2026, 11, 29))]
        assert s.get_one(LogEntry, entry_id).status is EntryStatus.FOLLOWED_UP
    # 8. Clerks do not close; a supervisor approves it.
    assert web.post(f"{page}/close", {"reason": ""}, page=page) == 403
    web.client.post("/logout", data={"csrf_token": web.token("/")})
    web.login("supervisor")
    assert web.post(f"{page}/close", {"reason": ""}, page=page) == 302
    shown = web.client.get(page).text
    assert _entry(web, entry_id).status is EntryStatus.CLOSED
    # One timeline: the orders, their returns, the follow-up, the status moves, in order.
    timeline = shown[shown.index('id="timeline"') :]
    marks = ["PG-2026-0001", "缺配件", "李师傅休假", "PG-2026-0003", "¥35.50", "已修好", "已结案"]
    positions = [timeline.index(m) for m in marks]
    assert positions == sorted(positions), marks
    with web.app.sessions() as s:
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert {"dispatch", "redispatch", "work_order", "follow_up", "close"} <= set(actions)
        assert len(s.scalars(select(FollowUp)).all()) == 1
