"""The supervisor's checks as records through the desk (Flask test client), on SQLite and
PostgreSQL (issue 21; 检查作业指导书, seed 001 篇3): the monthly follow-up spot check takes
every paid work order and a tenth of the others (3.4); the weekly check returns a record
not in order to its writer, who corrects it (3.6); the daily sample is drawn once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from recorder import dispatch
from recorder.models import CheckMark, FieldSource, Role
from recorder.reception_log import new_entry
from tests.browser import desk
from tests.test_admin import Desk, build

DEPARTMENTS = ["工程部"]


@pytest.fixture(name="web")
def web_fixture(tmp_path: Path, database_url: str) -> Iterator[tuple[Desk, set[int]]]:
    """25 returned work orders this month: 3 paid, 22 not."""
    for web in build(tmp_path, database_url):
        paid_entries = set()
        with web.app.sessions.begin() as session:
            for n in range(25):
                at = desk.NOW - timedelta(days=10, hours=n)
                entry = new_entry(
                    session,
                    {"received_at": at, "summary": f"报修 {n}", "category": "repair",
                     "responsible_user_id": web.seeded.clerk},
                    FieldSource.AUTO,
                )  # fmt: skip
                session.flush()
                order = dispatch.dispatch(
                    session, entry, "工程部", DEPARTMENTS, web.seeded.clerk, at, role=Role.CLERK
                )
                paid = n % 8 == 0
                dispatch.complete(
                    session, order, True, web.seeded.clerk, now=at + timedelta(hours=1),
                    paid=paid, fee_fen=5000 if paid else None,
                )  # fmt: skip
                if paid:
                    paid_entries.add(entry.id)
        yield web, paid_entries


def test_monthly_spot_check_takes_every_paid_order_and_a_tenth_of_the_rest(
    web: tuple[Desk, set[int]],
) -> None:
    desk_, paid = web
    desk_.login("supervisor")
    page = "/checks/?kind=monthly&day=2026-11-23"
    assert desk_.post("/checks/draw", {"kind": "monthly", "day": "2026-11-23"}, page=page) == 302
    with desk_.app.sessions() as s:
        marks = s.scalars(select(CheckMark).where(CheckMark.kind == "monthly")).all()
    sampled = {m.entry_id for m in marks}
    assert paid <= sampled  # 有偿服务是全部检查
    assert len(sampled - paid) == 3  # 非有偿服务检查10%: ceil(22 × 10 %)
    # Drawing again adds nothing: the sample is kept.
    assert desk_.post("/checks/draw", {"kind": "monthly", "day": "2026-11-01"}, page=page) == 302
    with desk_.app.sessions() as s:
        assert len(s.scalars(select(CheckMark)).all()) == len(marks)


def test_a_weekly_record_not_in_order_goes_back_to_its_writer(web: tuple[Desk, set[int]]) -> None:
    desk_, _ = web
    desk_.login("supervisor")
    page = "/checks/?kind=weekly&day=2026-11-23"
    assert desk_.post("/checks/draw", {"kind": "weekly", "day": "2026-11-23"}, page=page) == 302
    with desk_.app.sessions() as s:
        first = s.scalars(select(CheckMark).order_by(CheckMark.id)).first()
        assert first is not None and first.kind == "weekly"
    path = f"/checks/{first.id}"
    # Not in order needs the reason; with it, the record is returned to its owner.
    assert desk_.post(path, {"verdict": "not_ok", "note": ""}, page=page) == 302
    with desk_.app.sessions() as s:
        assert s.get_one(CheckMark, first.id).checked_at is None
    assert desk_.post(path, {"verdict": "not_ok", "note": "房号未填"}, page=page) == 302
    desk_.client.post("/logout", data={"csrf_token": desk_.token("/")})
    desk_.login("clerk")
    mine = desk_.client.get("/checks/mine").text
    assert "房号未填" in mine
    assert desk_.post(f"/checks/{first.id}/corrected", {}, page="/checks/mine") == 302
    with desk_.app.sessions() as s:
        done = s.get_one(CheckMark, first.id)
        assert (done.ok, done.returned_to, done.corrected_at) == (
            False,
            desk_.seeded.clerk,
            desk.NOW,
        )
    assert "房号未填" not in desk_.client.get("/checks/mine").text
