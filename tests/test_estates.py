"""Estates as data (issue 23), on SQLite and PostgreSQL: the estates file, the called
number picking the estate of a call and its entry, the scope that shows a clerk only
their estates' entries, and the migration that makes a single-organisation database
one estate without losing a row.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from hotline.commands.estates import _month
from hotline.errors import ConfigError, HotlineError
from hotline.settings import CONFIG_DIR
from recorder import db, estates
from recorder.models import (
    Call,
    Complaint,
    Direction,
    Disposition,
    FieldSource,
    FollowUp,
    LogEntry,
    Role,
    User,
    WorkOrder,
)
from recorder.reception_log import new_entry, register_complaint
from recorder.staff import add_user
from recorder.work_orders import dispatch
from tests.browser.desk import PASSWORD

T0 = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
EXAMPLE = CONFIG_DIR / "estates.example.toml"


def _call_and_entry(s: Session, call_id: str, called: str | None, summary: str) -> LogEntry:
    call = Call(
        call_id=call_id,
        direction=Direction.INBOUND,
        caller_number="13800138000",
        called_number=called,
        invite_at=T0,
    )
    s.add(call)
    s.flush()
    entry = new_entry(
        s,
        {"call_pk": call.id, "received_at": T0, "category": "repair", "summary": summary},
        FieldSource.AUTO,
    )
    s.flush()
    return entry


def test_the_called_number_picks_the_estate_and_a_clerk_sees_only_theirs(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        hx, ly = estates.save_estates(s, estates.load_estates(EXAMPLE))
        _call_and_entry(s, "a@hx", "02088880001", "和谐花园 7栋漏水")
        _call_and_entry(s, "b@ly", "02088880002", "绿园 3栋停电")
        _call_and_entry(s, "c@none", "99999", "打错的号码")  # two estates: the company's
        for name, role in (("wang", Role.CLERK), ("li", Role.SUPERVISOR), ("boss", Role.ADMIN)):
            add_user(s, name, name, f"90{len(name)}{role.value[:1]}", role, "pw-1234567890")
        estates.assign(s, s.scalars(select(User).where(User.username == "wang")).one(), ["HX"])
        estates.assign(s, s.scalars(select(User).where(User.username == "li")).one(), ["LY"])
        hx_id, ly_id = hx.id, ly.id
    with sessions() as s:
        by_call = {c.call_id: c.estate_id for c in s.scalars(select(Call))}
        scopes = {
            u.username: estates.visible_estates(s, u.id, u.role) for u in s.scalars(select(User))
        }
        other = s.scalars(select(LogEntry.id).where(LogEntry.estate_id == ly_id)).one()
    assert by_call == {"a@hx": hx_id, "b@ly": ly_id, "c@none": None}
    seen = {}
    for username, scope in scopes.items():
        with sessions() as scoped:
            estates.restrict(scoped, scope)
            seen[username] = sorted(e.summary for e in scoped.scalars(select(LogEntry)))
            # An entry of another estate is not found at all, even by its id.
            found = scoped.get(LogEntry, other)
            assert (found is not None) == (username in ("li", "boss"))
    assert seen["wang"] == ["和谐花园 7栋漏水"]
    assert seen["li"] == ["绿园 3栋停电"]
    assert seen["boss"] == sorted(["和谐花园 7栋漏水", "绿园 3栋停电", "打错的号码"])


def test_a_bad_estates_file_is_refused_and_the_saved_estates_are_kept(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions.begin() as s:
        estates.save_estates(s, estates.load_estates(EXAMPLE))
    bad = tmp_path / "estates.toml"
    bad.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace("02088880002", "02088880001"), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="02088880001 reaches both HX and LY"):
        estates.load_estates(bad)
    bad.write_text('[[estate]]\ncode = "X"\nname = "x"\nopening_hours = "8-25"\n')
    with pytest.raises(ConfigError, match="estate X: opening_hours: .*08:00-18:00"):
        estates.load_estates(bad)
    with sessions() as s:  # what was saved before is as it was
        assert estates.numbers_of(s, estates.by_code(s, "LY").id) == ["02088880002"]
        assert estates.by_code(s, "HX").opening_hours == "08:00-18:00"


def test_one_estate_answers_every_number(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        (only,) = estates.save_estates(s, estates.load_estates(EXAMPLE)[:1])
        entry = _call_and_entry(s, "x@any", "12345", "任意号码")
        assert entry.estate_id == only.id


def test_a_single_organisation_database_becomes_one_estate(engine: Engine) -> None:
    """Rows written before 0016 (taken back to 0009, the revision it follows) all
    belong to the one estate 'main' afterwards; none is lost or changed otherwise."""
    sessions = db.session_factory(engine)
    with sessions.begin() as s:
        clerk = add_user(s, "wang", "王芳", "8001", Role.CLERK, "pw-1234567890")
        entry = _call_and_entry(s, "old@site", "02000000000", "七栋三单元漏水")
        register_complaint(s, entry, 2026)
        dispatch(s, entry, "工程部", ["工程部"], clerk.id, T0)
    db.downgrade(engine, "0009")
    with engine.connect() as conn:
        assert "estate_id" not in {
            c["name"] for c in __import__("sqlalchemy").inspect(conn).get_columns("calls")
        }
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    with sessions() as s:
        (estate,) = s.scalars(select(estates.Estate)).all()
        assert (estate.code, estate.name) == ("main", "")  # the company's name is said
        for model in (Call, LogEntry, Complaint, WorkOrder):
            rows = s.scalars(select(model)).all()
            assert [r.estate_id for r in rows] == [estate.id], model
        assert s.scalars(select(LogEntry)).one().summary == "七栋三单元漏水"
        assert s.scalars(select(Complaint)).one().number.startswith("TS-2026-")
        assert s.scalars(select(WorkOrder)).one().department == "工程部"
        # A new estate after the migration takes the next id (PostgreSQL's sequence too).
        estates.save_estates(s, estates.load_estates(EXAMPLE))
        s.commit()
        assert s.scalar(text("SELECT count(*) FROM estates")) == 3


def test_each_clerk_logs_into_their_own_estate_on_the_desk(
    tmp_path: Path, database_url: str
) -> None:
    """The desk (Flask's test client on the real app): the clerk of 和谐花园 sees and opens
    only its entry, the supervisor of 绿园 only its, the admin both. What is kept: the
    other estate's entry is there, untouched; it is not found (404) through the other's
    login, so it cannot be edited either."""
    from tests.test_admin import build

    gen = build(tmp_path, database_url)
    web = next(gen)
    try:
        seeded = web.seeded
        with web.app.sessions.begin() as s:
            hx, ly = estates.save_estates(s, estates.load_estates(EXAMPLE))
            s.get_one(LogEntry, seeded.entry).estate_id = hx.id
            s.get_one(LogEntry, seeded.missed_entry).estate_id = ly.id
            estates.assign(s, s.get_one(User, seeded.clerk), ["HX"])
            estates.assign(s, s.get_one(User, seeded.supervisor), ["LY"])
        views = {}
        for username in ("clerk", "supervisor", "admin"):
            web.client = web.flask.test_client()  # a browser of their own
            assert web.login(username) == 302
            page = web.client.get("/").text
            views[username] = (
                f'/entries/{seeded.entry}"' in page,
                f'/entries/{seeded.missed_entry}"' in page,
            )
            opened = {
                "HX": web.client.get(f"/entries/{seeded.entry}").status_code,
                "LY": web.client.get(f"/entries/{seeded.missed_entry}").status_code,
            }
            views[username] += (opened["HX"], opened["LY"])
        assert views["clerk"] == (True, False, 200, 404)
        assert views["supervisor"] == (False, True, 404, 200)
        assert views["admin"] == (True, True, 200, 200)
        with web.app.sessions() as s:  # both entries are still there, as they were
            assert s.get_one(LogEntry, seeded.missed_entry).summary == "未接来电"
            assert s.get_one(LogEntry, seeded.entry).estate_id == hx.id
        # Printed notices carry the matter's estate's name, else the company's.
        with web.app.sessions.begin() as s:
            company = new_entry(s, {"received_at": T0, "summary": "总部来信"}, FieldSource.AUTO)
            s.flush()  # two estates, no call: the company's matter
            assert company.estate_id is None
            of_hx = register_complaint(s, s.get_one(LogEntry, seeded.entry), 2026)
            missed = s.get_one(LogEntry, seeded.missed_entry)
            of_ly = dispatch(s, missed, "工程部", ["工程部"], None, T0)
            of_company = register_complaint(s, company, 2026)
            printed = {
                "HX": f"/complaints/{of_hx.id}/notice",
                "LY": f"/orders/{of_ly.id}",
                "-": f"/complaints/{of_company.id}/notice",
            }
        heads = {}
        for key, url in printed.items():  # the admin's browser, the last one logged in
            page = web.client.get(url)
            assert page.status_code == 200, url
            heads[key] = re.search(r'<div class="org"[^>]*>([^<]*)</div>', page.text).group(1)
        assert heads == {
            "HX": "和谐花园物业服务中心",
            "LY": "绿园小区物业服务中心",
            "-": "幸福家园物业服务中心",
        }
        web.client = web.flask.test_client()  # the clerk of 和谐花园 prints only its notice
        assert web.login("clerk") == 302
        assert web.client.get(printed["HX"]).status_code == 200
        assert web.client.get(printed["LY"]).status_code == 404
    finally:
        gen.close()


def test_complaints_and_work_orders_are_numbered_by_estate_or_by_company(
    sessions: sessionmaker[Session],
) -> None:
    """和谐花园 numbers its own (numbering = "estate"), 绿园 takes the company's."""
    with sessions.begin() as s:
        estates.save_estates(s, estates.load_estates(EXAMPLE))
        numbers = []
        for call_id, called in (
            ("1@hx", "02088880001"),
            ("2@hx", "02088880001"),
            ("3@ly", "02088880002"),
        ):
            entry = _call_and_entry(s, call_id, called, "投诉")
            complaint = register_complaint(s, entry, 2026)
            order = dispatch(s, entry, "工程部", ["工程部"], None, T0)
            numbers.append((complaint.number, order.number))
    assert numbers == [
        ("TS-HX-2026-0001", "PG-HX-2026-0001"),
        ("TS-HX-2026-0002", "PG-HX-2026-0002"),
        ("TS-2026-0001", "PG-2026-0001"),
    ]


def test_the_estates_command_imports_assigns_and_compares(tmp_path: Path) -> None:
    """`hotline estates`: the example imports; a clerk is assigned; the month's
    comparison has a row per estate with its calls, missed calls, entries and
    complaints. (A bad file is refused by load_estates, above, before any change.)"""
    from tests.test_cli import hotline

    url = f"sqlite:///{tmp_path / 'hotline.db'}"
    flags = ["--data-dir", str(tmp_path / "var"), "--database-url", url]
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        sessions = db.session_factory(engine)
        with sessions.begin() as s:
            add_user(s, "wang", "王芳", "8001", Role.CLERK, "pw-1234567890")
        out = hotline(*flags, "estates", "import", str(EXAMPLE), cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert "estate HX: 和谐花园物业服务中心" in out.stdout
        out = hotline(*flags, "estates", "assign", "wang", "HX", cwd=tmp_path)
        assert out.returncode == 0 and "wang: HX" in out.stdout, out.stderr
        with sessions.begin() as s:
            entry = _call_and_entry(s, "a@hx", "02088880001", "漏水")
            register_complaint(s, entry, 2026).registered_at = T0
            _call_and_entry(s, "b@hx", "02088880001", "停电")
            s.add(
                Call(
                    call_id="c@ly",
                    direction=Direction.INBOUND,
                    called_number="02088880002",
                    invite_at=T0,
                    disposition=Disposition.MISSED,
                )
            )
        out = hotline(*flags, "estates", "compare", "--month", "2026-11", cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        rows = {line.split()[0]: line.split()[1:7] for line in out.stdout.splitlines()[1:]}
        # calls, answered, missed, entries, open entries, complaints
        assert rows["HX"] == ["2", "0", "0", "2", "2", "1"]
        assert rows["LY"] == ["1", "0", "1", "0", "0", "0"]
        with pytest.raises(HotlineError, match="use YYYY-MM"):
            _month("11/2026", "Asia/Shanghai")
    finally:
        engine.dispose()


def test_the_company_compares_its_estates_on_the_desk(tmp_path: Path) -> None:
    """The desk's comparison page (Flask's test client, the real app, SQLite: the figures
    are the CLI's, counted on both databases above) on constructed calls: 和谐花园
    answered 2 of 3 (one within three rings), 绿园 its one within; a completed repair of
    和谐花园 followed up. A supervisor of one estate and a clerk are refused (403): the
    other estates' figures are not theirs; the company's supervisor sees them."""
    from tests.test_admin import build

    gen = build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}")
    web = next(gen)
    try:
        with web.app.sessions.begin() as s:
            estates.save_estates(s, estates.load_estates(EXAMPLE))
            for n, (called, disposition, rings) in enumerate(
                [
                    ("02088880001", Disposition.ANSWERED, 2),
                    ("02088880001", Disposition.ANSWERED, 5),
                    ("02088880001", Disposition.MISSED, 4),
                    ("02088880002", Disposition.ANSWERED, 1),
                ]
            ):
                s.add(
                    Call(
                        call_id=f"{n}@cmp",
                        direction=Direction.INBOUND,
                        called_number=called,
                        invite_at=T0,
                        ended_at=T0.replace(minute=31),
                        disposition=disposition,
                        ring_count=rings,
                    )
                )
            entry = _call_and_entry(s, "e@hx", "02088880001", "7栋漏水")
            order = dispatch(s, entry, "工程部", ["工程部"], None, T0)
            order.completed, order.completed_at = True, T0.replace(hour=11)
            s.add(FollowUp(entry_id=entry.id, at=T0.replace(hour=12), reached=True))
            estates.assign(s, s.get_one(User, web.seeded.supervisor), ["LY"])
            add_user(s, "boss", "总部主管", "0099", Role.SUPERVISOR, PASSWORD)
        assert web.login("admin") == 302
        page = web.client.get("/supervision/estates/?month=2026-11")
        assert page.status_code == 200
        cells = {
            code: dict(re.findall(r'<td class="([a-z-]+)">([^<]*)', row))
            for code, row in re.findall(r'<tr data-estate="(\w+)">(.*?)</tr>', page.text, re.S)
        }
        # calls, answered, within three rings, service level, missed, orders, follow-up
        shown = {
            code: tuple(
                c[k].strip()
                for k in ("calls", "answered", "within", "level", "missed", "orders", "follow-up")
            )
            for code, c in cells.items()
            if code in ("HX", "LY")
        }
        # The entry's own call (no disposition) counts among HX's calls: 4.
        assert shown == {
            "HX": ("4", "2", "1", "50.0%", "1", "1", "100.0%"),
            "LY": ("1", "1", "1", "100.0%", "0", "0", "—"),
        }
        assert web.client.get("/supervision/estates/?month=2026-13").status_code == 400
        for username, status in (("supervisor", 403), ("clerk", 403), ("boss", 200)):
            web.client = web.flask.test_client()
            assert web.login(username) == 302
            assert web.client.get("/supervision/estates/").status_code == status, username
    finally:
        gen.close()


def test_an_estate_s_work_orders_go_to_its_own_departments(tmp_path: Path) -> None:
    """An estate with departments of its own (0019) dispatches to those; one without, to
    the company's. What is kept: a work order to a department the entry's estate does not
    have is refused (400) and none is written."""
    from tests.test_admin import build

    gen = build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}")
    web = next(gen)
    try:
        own = estates.load_estates(EXAMPLE)
        own[0] = own[0].model_copy(update={"departments": ["和谐工程部", "和谐保洁部"]})
        with web.app.sessions.begin() as s:
            estates.save_estates(s, own)
            hx = _call_and_entry(s, "d@hx", "02088880001", "7栋漏水").id
            ly = _call_and_entry(s, "d@ly", "02088880002", "3栋漏水").id
        assert web.login("clerk") == 302
        listed = {
            key: web.client.get(f"/entries/{entry}").text for key, entry in (("HX", hx), ("LY", ly))
        }
        assert '<option value="和谐工程部">' in listed["HX"]
        assert '<option value="工程部">' not in listed["HX"]
        assert '<option value="工程部">' in listed["LY"] and "和谐工程部" not in listed["LY"]
        sent = {}
        for key, entry, department in (
            ("HX other", hx, "工程部"),
            ("HX own", hx, "和谐工程部"),
            ("LY company", ly, "工程部"),
            ("LY other", ly, "和谐工程部"),
        ):
            page = f"/entries/{entry}"
            order = {"department": department, "technician": "李师傅"}
            sent[key] = web.post(f"{page}/orders", order, page=page)
        assert sent == {"HX other": 400, "HX own": 302, "LY company": 302, "LY other": 400}
        with web.app.sessions() as s:
            orders = {(o.entry_id, o.department) for o in s.scalars(select(WorkOrder))}
        assert orders == {(hx, "和谐工程部"), (ly, "工程部")}
    finally:
        gen.close()
