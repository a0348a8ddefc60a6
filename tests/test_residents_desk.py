"""The resident directory in the desk (issue 19), through Flask's test client: staff look,
the admin edits; numbers masked per role; every view and change audited; the entry page
shows the caller's household and the unit's past calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from recorder import residents
from recorder.directory import DirectoryRevision, Household
from recorder.models import AuditEvent
from recorder.residents import Address, Change
from tests.test_admin import Desk, build


@pytest.fixture(name="web")
def web_fixture(tmp_path: Path) -> Iterator[Desk]:
    for desk in build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}"):
        # The seeded entry's caller (13812345678) lives in 3栋2单元501 with an elderly mother.
        with desk.app.sessions.begin() as s:
            home = Address("3栋", "2", "501")
            for name, number, priority in (
                ("王建国", "13812345678", False),
                ("王奶奶", "62345678", True),
            ):
                key = residents.phone_key(number)
                assert key is not None
                residents.save(
                    s,
                    Change(home, name, [key], "业主", "独居" if priority else None, priority),
                    "import erp.csv",
                )
        yield desk


def household_id(web: Desk) -> int:
    with web.app.sessions() as s:
        return s.scalars(select(Household.id)).one()


def audits(web: Desk, action: str) -> list[AuditEvent]:
    with web.app.sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_clerk_finds_a_household_with_numbers_masked_and_the_look_is_audited(web: Desk) -> None:
    assert web.login("clerk") == 302
    page = web.client.get("/residents/?q=王奶奶").text
    assert "3栋2单元501" in page and "138****5678" in page and "13812345678" not in page
    assert "priority-resident" in page  # 重点业户 marked
    shown = web.client.get(f"/residents/{household_id(web)}").text
    assert "Save resident" not in shown and 'name="name"' not in shown  # staff only look
    assert "import erp.csv" in shown  # where each field came from
    assert [e.detail["q"] for e in audits(web, "view_directory")] == ["王奶奶"]
    assert [e.target for e in audits(web, "view_household")] == [f"household:{household_id(web)}"]
    # A clerk cannot change the directory.
    assert (
        web.post(f"/residents/{household_id(web)}", {"name": "王建国"}, page="/residents/") == 403
    )


def test_a_supervisor_sees_whole_numbers(web: Desk) -> None:
    web.login("supervisor")
    assert "13812345678" in web.client.get(f"/residents/{household_id(web)}").text


def test_the_admin_edits_a_resident_and_the_change_is_kept_and_audited(web: Desk) -> None:
    web.login("admin")
    page = f"/residents/{household_id(web)}"
    form = {"name": "王建国", "phones": "13812345678、13900001111", "relation": "业主", "notes": ""}
    assert web.post(page, form) == 302
    assert "13900001111" in web.client.get(page).text  # the admin's role sees whole numbers
    with web.app.sessions() as s:
        changed = s.scalars(
            select(DirectoryRevision).where(DirectoryRevision.origin == "desk")
        ).one()
    assert (changed.field, changed.old_value, changed.new_value) == (
        "phones",
        "13812345678",
        "13812345678、13900001111",
    )
    assert changed.user_id == web.seeded.admin
    assert [e.detail["name"] for e in audits(web, "edit_resident")] == ["王建国"]
    # A number that is none is refused, and nothing is changed.
    assert web.post(page, {**form, "phones": "12345"}) == 302
    with web.app.sessions() as s:
        last = s.scalar(select(DirectoryRevision.id).order_by(DirectoryRevision.id.desc()))
    assert last == changed.id
    assert "13900001111" in web.client.get(page).text  # the numbers kept as they were


def test_the_entry_page_shows_the_callers_household_and_the_units_past_calls(web: Desk) -> None:
    web.login("clerk")
    page = web.client.get(f"/entries/{web.seeded.entry}").text
    assert 'id="directory-card"' in page and "王建国" in page and "王奶奶" in page
    assert "138****5678" in page and "623*5678" in page and "62345678" not in page
    assert 'id="unit-calls"' in page
