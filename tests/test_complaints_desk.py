"""A complaint to its close through the desk (Flask test client), on SQLite and PostgreSQL
(issue 21; 首问责任制培训细则 1.4.2): a letter entered by hand (1.4.2.1.1), escalated as major
to the supervisors' queue the same day (1.4.1.3, 1.4.2.2.2), corrective measures on the
handling notice (1.4.2.2.3), and closed only once the resident is satisfied (1.4.2.2.4).
Every change of the complaint keeps a revision row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from recorder.models import Complaint, EntryStatus, LogEntry, MatterRevision
from tests.browser import desk
from tests.test_admin import Desk, build


@pytest.fixture(name="web")
def web_fixture(tmp_path: Path, database_url: str) -> Iterator[Desk]:
    yield from build(tmp_path, database_url)


def _switch(web: Desk, role: str) -> None:
    web.client.post("/logout", data={"csrf_token": web.token("/")})
    assert web.login(role) == 302


def test_a_letter_escalated_handled_and_closed_when_satisfied(web: Desk) -> None:
    web.login("clerk")
    assert web.client.get("/complaints/new").status_code == 200
    letter = {
        "channel": "letter",
        "received_at": "2026-11-23T09:00",
        "surname": "李",
        "unit": "5栋101",
        "phone": "13700001111",
        "summary": "",
    }
    # Without what it is about: refused, nothing registered.
    assert web.post("/complaints/new", letter) == 400
    with web.app.sessions() as s:
        assert s.scalar(select(func.count(Complaint.id))) == 0
    letter["summary"] = "物业费多收, 来信投诉, 电话 13700001111"
    assert web.post("/complaints/new", letter) == 302
    with web.app.sessions() as s:
        complaint = s.scalars(select(Complaint)).one()
        entry = s.get_one(LogEntry, complaint.entry_id)
        assert (complaint.number, complaint.channel, complaint.severity) == (
            "TS-2026-0001",
            "letter",
            "simple",
        )
        assert (entry.category, entry.responsible_user_id) == ("complaint", web.seeded.clerk)
        # 1.4.4.3: 8 小时内必须向客户答复 (the complaint rule's reply time).
        assert entry.promised_reply_at == entry.received_at + timedelta(hours=8)
    notice_path = f"/complaints/{complaint.id}/notice"
    notice = web.client.get(notice_path).text
    for shown in (
        "幸福家园物业服务中心",
        "客户投诉处理通知单",
        "信函",
        "2026-11-23 17:00",
        "2026-11-26 09:00",
    ):
        assert shown in notice, shown
    assert 'id="print"' in notice and "处理人（签字）" in notice and "业主确认（签字）" in notice
    assert "137****1111" in notice and "13700001111" not in notice  # masked for clerks
    # 2. Major: escalated to the supervisors' queue, reported the same day.
    assert web.post(f"/complaints/{complaint.id}/escalate", {}, page=notice_path) == 302
    assert web.client.get("/complaints/escalated").status_code == 403
    _switch(web, "supervisor")
    queue = web.client.get("/complaints/escalated").text
    assert "TS-2026-0001" in queue
    with web.app.sessions() as s:
        escalated = s.get_one(Complaint, complaint.id)
        assert escalated.severity == "major"
        assert escalated.escalated_at == escalated.reported_at == desk.NOW
    # 3. Corrective measures on the notice; closing without a satisfied follow-up or a
    # decision is refused, and nothing of that save is kept.
    save = {"measures": "核对收费, 退还多收部分", "result": "已退款", "decision": ""}
    assert web.post(f"/complaints/{complaint.id}", {**save, "closed": "y"}, page=notice_path) == 409
    with web.app.sessions() as s:
        assert s.get_one(Complaint, complaint.id).measures is None
    assert web.post(f"/complaints/{complaint.id}", save, page=notice_path) == 302
    assert "核对收费, 退还多收部分" in web.client.get(notice_path).text
    # 4. The work and a follow-up that finds the resident not satisfied: still not closed.
    page = f"/entries/{complaint.entry_id}"
    assert web.post(f"{page}/orders", {"department": "客服部"}, page=page) == 302
    assert web.post(f"{page}/orders/1/return", {"outcome": "done"}, page=page) == 302
    unhappy = {"reached": "yes", "satisfied": "no", "notes": "退款未到账"}
    assert web.post(f"{page}/follow-up", unhappy, page=page) == 302
    assert web.post(f"/complaints/{complaint.id}", {**save, "closed": "y"}, page=notice_path) == 409
    happy = {"reached": "yes", "satisfied": "yes", "notes": "已到账, 满意"}
    assert web.post(f"{page}/follow-up", happy, page=page) == 302
    assert web.post(f"/complaints/{complaint.id}", {**save, "closed": "y"}, page=notice_path) == 302
    # 5. Closed, and a later correction of the result is a revision, not an overwrite.
    later = {**save, "result": "已退款 35 元"}
    assert web.post(f"/complaints/{complaint.id}", later, page=notice_path) == 302
    with web.app.sessions() as s:
        closed = s.get_one(Complaint, complaint.id)
        assert closed.closed_at == desk.NOW and closed.closed_by == web.seeded.supervisor
        assert s.get_one(LogEntry, complaint.entry_id).status is EntryStatus.CLOSED
        revisions = s.scalars(
            select(MatterRevision)
            .where(MatterRevision.kind == "complaint", MatterRevision.row_id == complaint.id)
            .order_by(MatterRevision.id)
        ).all()
        changes = [(r.field, r.old_value, r.new_value) for r in revisions]
        assert ("measures", None, "核对收费, 退还多收部分") in changes
        assert ("result", "已退款", "已退款 35 元") in changes
        assert ("closed_at", None, desk.NOW.isoformat()) in changes
        assert all(r.user_id in (web.seeded.clerk, web.seeded.supervisor) for r in revisions)
    timeline = web.client.get(page).text
    assert "TS-2026-0001 处理结果: 已退款 → 已退款 35 元" in timeline


def test_an_internal_complaint_about_attitude_needs_the_written_explanation(web: Desk) -> None:
    """1.4.4.1-2: a complaint about our own staff's attitude gets a 服务整改通知单, names the
    staff member (counted for their review) and closes only with their written explanation."""
    web.login("clerk")
    letter = {
        "channel": "visit",
        "received_at": "2026-11-23T09:00",
        "summary": "前台员工态度差",
    }
    assert web.post("/complaints/new", letter) == 302
    _switch(web, "supervisor")
    notice = "/complaints/1/notice"
    marked = {
        "result": "已道歉",
        "internal": "y",
        "cause": "attitude",
        "staff_user_id": str(web.seeded.clerk),
        "explanation": "",
        "decision": "主管已约谈, 业主接受道歉",
        "closed": "y",
    }
    assert web.post("/complaints/1", marked, page=notice) == 409  # no explanation yet
    with web.app.sessions() as s:
        assert not s.get_one(Complaint, 1).internal  # nothing of the refused save is kept
    marked["explanation"] = "当时排队人多, 语气急躁, 今后注意"
    assert web.post("/complaints/1", marked, page=notice) == 302
    page = web.client.get(notice).text
    assert "服务整改通知单" in page and "王芳 (000)" in page and "语气急躁" in page
    with web.app.sessions() as s:
        done = s.get_one(Complaint, 1)
        assert (done.internal, done.cause, done.staff_user_id) == (
            True,
            "attitude",
            web.seeded.clerk,
        )
        assert done.closed_at == desk.NOW
    staff = web.client.get("/complaints/escalated").text
    assert "本年度各员工被投诉次数" in staff and "王芳" in staff


def test_a_matter_the_desk_cannot_solve_goes_to_the_supervisors_queue(web: Desk) -> None:
    """003 篇2 5 / 004 三 3: handed over to a supervisor, with the reason; it shows in their
    queue until closed, and the hand-over is in the entry's history."""
    web.login("clerk")
    page = f"/entries/{web.seeded.entry}"
    up = {"to": str(web.seeded.supervisor), "reason": "涉及赔偿, 无权处理"}
    assert web.post(f"{page}/hand-over", up, page=page) == 302
    _switch(web, "supervisor")
    queue = web.client.get("/complaints/escalated").text
    assert f'href="/entries/{web.seeded.entry}"' in queue[queue.index('id="handed-up"') :]
    assert "移交: 涉及赔偿, 无权处理" in web.client.get(page).text
