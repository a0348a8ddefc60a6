"""Reply letters and the shift handover through the desk (Flask test client), on SQLite and
PostgreSQL (issue 21).

Letters (客户回函作业指导书, seed 001 篇1): a letter for a complaint concerning the property
is reviewed by the 项目管理处主任, 客户中心主管, the department's manager and the 物业部经理
(3.3), refused approval while one is missing or returned it, approved for the 营销部经理 by
a supervisor (3.4), mailed by registered mail with its number, put on the clerks' list of
confirmation calls due three days later (3.6), confirmed and archived with the matter (3.8).

Handover (001 篇5 3, 002 四 2): the leaving clerk hands the open matters over (what, whose,
due when); the next shift, not the same person, acknowledges it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from recorder.models import Handover, LetterReview, MatterRevision, ReplyLetter
from recorder.reception_log import register_complaint
from tests.browser import desk
from tests.test_admin import Desk, build


@pytest.fixture(name="web")
def web_fixture(tmp_path: Path, database_url: str) -> Iterator[Desk]:
    for web in build(tmp_path, database_url):
        with web.app.sessions.begin() as session:
            from recorder.models import LogEntry

            register_complaint(session, session.get_one(LogEntry, web.seeded.entry))
        yield web


def _switch(web: Desk, role: str) -> None:
    web.client.post("/logout", data={"csrf_token": web.token("/")})
    assert web.login(role) == 302


def _letter(web: Desk) -> ReplyLetter:
    with web.app.sessions() as s:
        letter = s.scalars(select(ReplyLetter)).one()
        s.expunge(letter)
        return letter


def test_a_reply_letter_from_review_to_archive(web: Desk) -> None:
    notice = "/complaints/1/notice"
    web.login("clerk")
    draft = {
        "letter-subject": "关于厨房漏水的回复",
        "letter-body": "王先生: 您好...",
        "letter-involves_property": "y",
    }
    assert web.post("/letters/complaint/1", draft, page=notice) == 302
    letter = _letter(web)
    review = f"/letters/{letter.id}/review"
    steps = [
        ("project_director", "张主任"),
        ("service_supervisor", "李主管"),
        ("department_manager", "工程部 陈经理"),
    ]
    for step, name in steps:
        form = {"review-step": step, "review-reviewer": name, "review-verdict": "yes"}
        assert web.post(review, form, page=notice) == 302
    # A lawyer is not asked (no law involved); a return needs its reason.
    lawyer = {"review-step": "lawyer", "review-reviewer": "刘律师", "review-verdict": "yes"}
    assert web.post(review, lawyer, page=notice) == 409
    returned = {
        "review-step": "property_manager",
        "review-reviewer": "赵经理",
        "review-verdict": "no",
    }
    assert web.post(review, returned, page=notice) == 409
    assert web.post(review, {**returned, "review-note": "赔偿金额需再核"}, page=notice) == 302
    _switch(web, "supervisor")
    approve = {"approve-approver": "营销部 孙经理"}
    # Returned by the 物业部经理: not approved, nothing written.
    assert web.post(f"/letters/{letter.id}/approve", approve, page=notice) == 409
    assert _letter(web).approved_at is None
    again = {**returned, "review-verdict": "yes", "review-note": "已核"}
    assert web.post(review, again, page=notice) == 302
    assert web.post(f"/letters/{letter.id}/approve", approve, page=notice) == 302
    # Mailed by registered mail: the confirmation call is due three days later.
    _switch(web, "clerk")
    mailing = {"mail-mailed_at": "2026-11-23T14:00", "mail-number": ""}
    assert web.post(f"/letters/{letter.id}/mail", mailing, page=notice) == 400
    mailing["mail-number"] = "XA123456789CN"
    assert web.post(f"/letters/{letter.id}/mail", mailing, page=notice) == 302
    mailed = _letter(web)
    assert mailed.confirm_due == mailed.mailed_at + timedelta(days=3)  # type: ignore[operator]
    assert mailed.confirm_due is not None and mailed.confirm_due.isoformat().startswith(
        "2026-11-26T06:00"
    )
    tasks = web.client.get("/letters/").text
    assert "XA123456789CN" in tasks and "2026-11-26 14:00" in tasks
    # Archived only once confirmed; then off the list.
    _switch(web, "supervisor")
    assert web.post(f"/letters/{letter.id}/archive", {}, page=notice) == 409
    _switch(web, "clerk")
    confirm = {"confirm-note": "业主已收到, 无异议"}
    assert web.post(f"/letters/{letter.id}/confirm", confirm, page=notice) == 302
    assert "XA123456789CN" not in web.client.get("/letters/").text
    _switch(web, "supervisor")
    assert web.post(f"/letters/{letter.id}/archive", {}, page=notice) == 302
    with web.app.sessions() as s:
        done = s.get_one(ReplyLetter, letter.id)
        assert done.archived_at == desk.NOW and done.approver == "营销部 孙经理"
        reviews = s.scalars(select(LetterReview).order_by(LetterReview.id)).all()
        assert [(r.step, r.approved) for r in reviews][-2:] == [
            ("property_manager", False),
            ("property_manager", True),
        ]
        changed = {
            r.field
            for r in s.scalars(select(MatterRevision).where(MatterRevision.kind == "letter"))
        }
        assert {"approved_at", "mailed_at", "mail_number", "confirmed_at", "archived_at"} <= changed
    # On the entry's timeline, with the matter.
    timeline = web.client.get(f"/entries/{web.seeded.entry}").text
    assert "回函：关于厨房漏水的回复" in timeline and "XA123456789CN" in timeline


def test_the_next_shift_acknowledges_the_open_matters(web: Desk) -> None:
    web.login("clerk")
    page = web.client.get("/handover/").text
    assert "厨房水管漏水" in page  # the seeded open repair, what and whose
    assert web.post("/handover/", {"notes": "3栋漏水待工程部回复"}, page="/handover/") == 302
    with web.app.sessions() as s:
        handover = s.scalars(select(Handover)).one()
        entries = {m["entry"] for m in handover.matters}
        assert web.seeded.entry in entries and web.seeded.missed_entry in entries
        mine = next(m for m in handover.matters if m["entry"] == web.seeded.entry)
        assert (mine["owner"], mine["status"]) == ("王芳", "dispatched")
    # The one who handed over does not acknowledge it; the next shift does.
    path = f"/handover/{handover.id}"
    assert web.post(f"{path}/ack", {}, page=path) == 302
    with web.app.sessions() as s:
        assert s.get_one(Handover, handover.id).acknowledged_at is None
    _switch(web, "supervisor")
    assert web.post(f"{path}/ack", {}, page=path) == 302
    with web.app.sessions() as s:
        taken = s.get_one(Handover, handover.id)
        assert (taken.acknowledged_by, taken.acknowledged_at) == (web.seeded.supervisor, desk.NOW)
    assert "李主管" in web.client.get(path).text
