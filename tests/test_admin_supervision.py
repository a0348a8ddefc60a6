"""The supervisor's pages through Flask's test client, on SQLite and PostgreSQL:
roles, the figures against recorder/supervision.py, the once-a-day sign-off,
CSRF on every form, and dispatch/follow-up writes that leave revisions and audit rows.

When an assertion fails, the database of the failing test is kept under
pytest's tmp_path (SQLite file) or on the session's PostgreSQL server until it stops.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from admin import supervision_figures as figures
from recorder import dispatch, supervision
from recorder.models import (
    AuditEvent,
    Call,
    Direction,
    Disposition,
    EntryRevision,
    EntryStatus,
    FollowUp,
    LogCheck,
    LogEntry,
    WorkOrder,
)
from tests.browser import desk
from tests.test_admin import Desk, build

ZONE = ZoneInfo("Asia/Shanghai")
PAGES = ["/supervision/", "/supervision/overdue", "/supervision/daily", "/supervision/monthly"]


@dataclass
class Supervised:
    web: Desk
    extra: desk.SupervisionSeeded

    def count(self, model: type, *where: object) -> int:
        with self.web.app.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _supervised(tmp_path: Path, url: str) -> Iterator[Supervised]:
    for web in build(tmp_path, url):  # the loop lets build() dispose of its engine
        with web.app.sessions.begin() as session:
            extra = desk.seed_supervision(session, web.seeded)
        yield Supervised(web, extra)


@pytest.fixture(name="sup")
def sup_fixture(tmp_path: Path, database_url: str) -> Iterator[Supervised]:
    """SQLite and the real PostgreSQL server."""
    yield from _supervised(tmp_path, database_url)


@pytest.fixture(name="lite")
def lite_fixture(tmp_path: Path) -> Iterator[Supervised]:
    """SQLite only: for what does not depend on the database kind."""
    yield from _supervised(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}")


def test_only_supervisors_and_admins_get_in(lite: Supervised) -> None:
    web, entry = lite.web, lite.extra.late_order_entry
    posts = [f"/supervision/entries/{entry}/{action}" for action in ("dispatch", "complete")]
    posts += [f"/supervision/entries/{entry}/follow-up", "/supervision/sign-off"]
    orders = lite.count(WorkOrder)
    assert web.login("clerk") == 302
    for path in [*PAGES, "/supervision/monthly.csv"]:
        assert web.client.get(path).status_code == 403, path
    for path in posts:
        assert web.post(path, {"department": "工程部", "day": "2026-11-23"}, page="/") == 403
    assert 'id="nav-supervision"' not in web.client.get("/").text
    assert lite.count(WorkOrder) == orders and lite.count(LogCheck) == 0  # nothing was written
    for role in ("supervisor", "admin"):
        web.client.post("/logout", data={"csrf_token": web.token("/")})
        assert web.login(role) == 302
        assert 'id="nav-supervision"' in web.client.get("/").text
        for path in PAGES:
            assert web.client.get(path).status_code == 200, (role, path)


def _value(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', page)
    assert match, element_id
    return match.group(1).strip()


def _count(page: str, section: str) -> int:
    match = re.search(rf'<section id="{section}">\s*<h2>[^<]*<span class="count">(\d+)<', page)
    assert match, section
    return int(match.group(1))


@pytest.mark.parametrize("period", ["today", "week", "month"])
def test_dashboard_shows_the_recorder_figures(sup: Supervised, period: str) -> None:
    web = sup.web
    web.login("supervisor")
    page = web.client.get(f"/supervision/?period={period}&day=2026-11-23").text
    bounds = figures.period_of(period, desk.TODAY, ZONE)
    with web.app.sessions() as s:
        level = supervision.service_level(s, bounds.start, bounds.end, 3)
        missed = supervision.missed_not_called_back(s, bounds.start, bounds.end)
        staff = supervision.compliance_by_staff(s, bounds.start, bounds.end)
        flagged = supervision.flagged_calls(s, bounds.start, bounds.end)
    # By hand, from desk.seed + seed_supervision: today 3 answered (2 within three
    # rings), 2 missed (1 within), 1 abandoned; the month adds one answered call.
    expected = {"today": (6, 3, 2), "week": (6, 3, 2), "month": (7, 4, 3)}[period]
    assert (level.calls, level.answered, level.answered_within) == expected
    assert _value(page, "calls-total") == str(level.calls)
    answered = re.search(r'id="answered-share" data-value="([^"]*)"', page)
    offered = re.search(r'id="offered-share" data-value="([^"]*)"', page)
    assert answered and float(answered.group(1)) == pytest.approx(level.answered_share)
    assert offered and float(offered.group(1)) == pytest.approx(level.offered_share)
    assert _count(page, "missed") == len(missed) == 2
    assert _count(page, "flagged") == len(flagged) == {"month": 2}.get(period, 1)
    for row in staff:
        cells = re.search(
            rf'data-staff="{row["answered_by"]}-{row["user_id"] or ""}">.*?class="calls">(\d+)<'
            r'.*?class="passed">(\d+)<.*?class="within">(\d+)<',
            page,
            re.S,
        )
        assert cells, row
        assert tuple(map(int, cells.groups())) == (row["calls"], row["passed"], row["within_rings"])
    chart = re.search(r"id=\"service-chart\"[^>]*data-chart='([^']*)'", page)
    assert chart
    data = json.loads(chart.group(1).replace("&#34;", '"'))
    assert len(data["labels"]) == len(bounds.bounds) - 1
    within, later, missed_n, abandoned = (sum(d["data"]) for d in data["datasets"])
    assert (within, later) == (level.answered_within, level.answered - level.answered_within)
    assert (missed_n, abandoned) == (level.missed, level.abandoned)


def test_flagged_call_plays_from_the_finding(lite: Supervised) -> None:
    web = lite.web
    web.login("supervisor")
    page = web.client.get("/supervision/").text
    link = f"/entries/{lite.extra.flagged_entry}?t=2.3"
    assert f'href="{link}"' in page
    assert "不知道" in page  # the forbidden phrase, shown with its time
    entry_page = web.client.get(link).text
    assert re.search(r"<audio[^>]*autoplay[^>]*\s+src=\"[^\"]+/audio#t=2\.3\"", entry_page)
    for bad in ("nan", "-1", "abc", "1e9"):
        shown = web.client.get(f"/entries/{lite.extra.flagged_entry}?t={bad}").text
        assert "#t=" not in shown and "autoplay" not in shown, bad


def test_sign_off_once_per_day_with_csrf(sup: Supervised) -> None:
    web = sup.web
    web.login("supervisor")
    no_token = web.client.post("/supervision/sign-off", data={"day": "2026-11-23"})
    assert no_token.status_code == 400 and sup.count(LogCheck) == 0
    assert web.post("/supervision/sign-off", {"day": "2026-11-24"}, page="/supervision/") == 400
    form = {"day": "2026-11-23", "notes": "记录清楚"}
    assert web.post("/supervision/sign-off", form, page="/supervision/") == 302
    page = web.client.get("/supervision/?day=2026-11-23").text
    assert 'id="signed-off"' in page and "李主管" in page and "sign-off-button" not in page
    web.client.post("/logout", data={"csrf_token": web.token("/")})
    web.login("admin")
    assert web.post("/supervision/sign-off", form, page="/supervision/") == 302
    assert "已审核过" in web.client.get("/supervision/").text  # the flash: already signed off
    with web.app.sessions() as s:
        (check,) = s.scalars(select(LogCheck)).all()
        assert (check.checked_by, check.notes, check.checked_at) == (
            web.seeded.supervisor,
            "记录清楚",
            desk.NOW,
        )
        audits = s.scalars(select(AuditEvent).where(AuditEvent.action == "sign_off")).all()
        assert [a.target for a in audits] == ["log:2026-11-23"]


def test_dispatch_complete_and_follow_up_leave_revisions_and_audit(sup: Supervised) -> None:
    web, extra = sup.web, sup.extra
    web.login("supervisor")
    received, orders = desk_entry_received(sup), sup.count(WorkOrder)
    base = f"/supervision/entries/{received}"
    # Without the CSRF token, or to a department that is not configured: nothing happens.
    assert web.client.post(f"{base}/dispatch", data={"department": "工程部"}).status_code == 400
    assert web.post(f"{base}/dispatch", {"department": "绿化部"}, page="/supervision/") == 400
    assert sup.count(WorkOrder) == orders
    assert web.post(f"{base}/dispatch", {"department": "保洁部"}, page="/supervision/") == 302
    # Not done needs a reason (如未完成请备注原因); another entry's order is not found.
    late = f"/supervision/entries/{extra.late_order_entry}/complete"
    order = {"order_id": str(extra.late_order), "outcome": "not_done", "reason": " "}
    assert web.post(late, order, page="/supervision/") == 400
    wrong = f"/supervision/entries/{received}/complete"
    assert web.post(wrong, {**order, "reason": "x"}, page="/supervision/") == 404
    assert web.post(late, {**order, "reason": "配件未到"}, page="/supervision/") == 302
    still = f"/supervision/entries/{extra.open_order_entry}"
    done = {"order_id": str(extra.open_order), "outcome": "done", "reason": ""}
    assert web.post(f"{still}/complete", done, page="/supervision/") == 302
    follow = {"reached": "yes", "satisfied": "yes", "notes": "已修好, 满意"}
    assert web.post(f"{still}/follow-up", follow, page="/supervision/") == 302
    with web.app.sessions() as s:
        new_order = s.scalars(select(WorkOrder).where(WorkOrder.entry_id == received)).all()[-1]
        assert (new_order.department, new_order.dispatched_by) == ("保洁部", web.seeded.supervisor)
        late_order = s.get_one(WorkOrder, extra.late_order)
        assert (late_order.completed, late_order.reason) == (False, "配件未到")
        assert s.get_one(LogEntry, extra.open_order_entry).status is EntryStatus.FOLLOWED_UP
        (follow_up,) = s.scalars(select(FollowUp)).all()
        assert (follow_up.reached, follow_up.satisfied, follow_up.at) == (True, True, desk.NOW)
        mine = s.scalars(
            select(EntryRevision).where(EntryRevision.user_id == web.seeded.supervisor)
        ).all()
        changes = {(r.entry_id, r.field, r.new_value) for r in mine}
        assert (received, "status", "dispatched") in changes
        assert (received, "dispatch_department", "保洁部") in changes
        assert (extra.late_order_entry, "status", "received") in changes
        assert (extra.open_order_entry, "status", "followed_up") in changes
        assert all(r.new_source == "person" for r in mine)
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.user_id == web.seeded.supervisor)
        ).all()
        assert sorted(actions) == ["dispatch", "follow_up", "work_order", "work_order"]
    page = web.client.get("/supervision/overdue").text
    assert f'id="order-{extra.late_order}"' not in page  # reported: no longer overdue


def desk_entry_received(sup: Supervised) -> int:
    """The overdue entry whose work order came back not done (so it is `received` again)."""
    with sup.web.app.sessions() as s:
        entries = dispatch.overdue(s, desk.TODAY)
        (entry,) = [e for e in entries if e.status is EntryStatus.RECEIVED]
        return entry.id


def test_overdue_lists_and_first_question_owner(sup: Supervised) -> None:
    web = sup.web
    web.login("supervisor")
    page = web.client.get("/supervision/overdue").text
    with web.app.sessions() as s:
        entries = dispatch.overdue(s, desk.TODAY)
        orders = dispatch.overdue_work_orders(s, desk.NOW, "Asia/Shanghai")
        owners = supervision.open_items_by_staff(s)
    assert _count(page, "overdue-follow-ups") == len(entries) == 2
    assert _count(page, "overdue-orders") == len(orders) == 1
    assert [o.id for o in orders] == [sup.extra.late_order]  # today's open order is not late yet
    assert "2026-11-20 18:00" in page  # its deadline: the 18:00 check of its day
    for owner in owners:
        assert re.search(rf">{owner['name']}</a></td><td class=\"open\">{owner['open']}<", page)
    dashboard = web.client.get("/supervision/").text
    assert 'id="reminder"' in dashboard


def test_daily_completion_report(lite: Supervised) -> None:
    web = lite.web
    web.login("supervisor")
    page = web.client.get("/supervision/daily?day=2026-11-23").text
    with web.app.sessions() as s:
        report = dispatch.daily_completion(s, desk.TODAY, "Asia/Shanghai")
    assert (report.dispatched, report.done, len(report.not_done), len(report.open)) == (3, 1, 1, 1)
    for element, value in (
        ("dispatched", report.dispatched),
        ("done", report.done),
        ("not-done", len(report.not_done)),
        ("open", len(report.open)),
    ):
        assert _value(page, element) == str(value)
    assert "业主不在家" in page and 'id="before-check"' in page  # 10:00: not 18:00 yet
    earlier = web.client.get("/supervision/daily?day=2026-11-20").text
    assert _value(earlier, "open") == "1" and 'id="before-check"' not in earlier
    assert web.client.get("/supervision/daily?day=yesterday").status_code == 400


def test_monthly_report_and_csv(sup: Supervised) -> None:
    web = sup.web
    web.login("supervisor")
    page = web.client.get("/supervision/monthly?month=2026-11").text
    start, end = figures.month_bounds(desk.TODAY, ZONE)
    with web.app.sessions() as s:
        stats = supervision.monthly_statistics(s, start, end)
        hours = supervision.resolve_hours(s, start, end)
        level = supervision.service_level(s, start, end, 3)
    assert page.count('class="chart"') == 6
    for section, counts in stats.items():
        block = page.split(f'id="report-{section}"')[1].split("</section>")[0]
        for key, count in counts.items():
            assert f'data-key="{key}"><th>' in block and f">{count}</td>" in block, (section, key)
    assert hours == {"工程部": pytest.approx(1.5)}  # received 08:00, done 09:30
    response = web.client.get("/supervision/monthly.csv?month=2026-11")
    assert response.headers["Content-Disposition"].endswith('monthly-2026-11.csv"')
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    table = {(r[0], r[1]): r[3] for r in rows[1:]}
    for section, counts in stats.items():
        for key, count in counts.items():
            assert table[(section, key)] == str(count)
    assert table[("resolve_hours", "工程部")] == "1.50"
    assert table[("service_level", "answered")] == str(level.answered)
    assert table[("service_level", "offered_share")] == f"{level.offered_share:.4f}"
    assert rows[0] == ["栏目", "键", "名称", "数值"]
    with web.app.sessions() as s:
        assert s.scalar(select(AuditEvent.target).where(AuditEvent.action == "export")) == (
            "monthly:2026-11"
        )
    assert web.client.get("/supervision/monthly?month=11-2026").status_code == 400


@pytest.mark.parametrize(
    ("language", "words"),
    [("zh-CN", ["督导", "审核"]), ("zh-TW", ["督導", "簽核"]), ("en", ["Supervision", "Sign off"])],
)
def test_pages_follow_the_users_language(lite: Supervised, language: str, words: list[str]) -> None:
    web = lite.web
    web.login("supervisor")
    web.post("/language", {"language": language}, page="/")
    page = web.client.get("/supervision/").text
    for word in words:
        assert word in page, (language, word)
    for path in PAGES[1:]:
        assert web.client.get(path).status_code == 200


def test_period_buckets_are_local_days() -> None:
    week = figures.period_of("week", desk.TODAY + timedelta(days=3), ZONE)
    assert (week.first.isoformat(), week.last.isoformat()) == ("2026-11-23", "2026-11-29")
    assert week.start.utcoffset() == timedelta(hours=8) and len(week.labels) == 7
    month = figures.period_of("month", desk.TODAY, ZONE)
    assert len(month.labels) == 30 and month.end.isoformat() == "2026-12-01T00:00:00+08:00"
    assert len(figures.period_of("today", desk.TODAY, ZONE).labels) == 24
    with pytest.raises(ValueError, match="unknown period"):
        figures.period_of("year", desk.TODAY, ZONE)


@pytest.mark.parametrize(
    ("dispatched", "deadline"),
    [
        ("2026-11-23T09:00:00+08:00", "2026-11-23T18:00:00+08:00"),
        ("2026-11-23T17:59:00+08:00", "2026-11-23T18:00:00+08:00"),
        ("2026-11-23T18:00:00+08:00", "2026-11-24T18:00:00+08:00"),  # after the day's check
        ("2026-11-23T23:30:00+08:00", "2026-11-24T18:00:00+08:00"),
    ],
)
def test_work_order_deadline_is_the_next_18_check(dispatched: str, deadline: str) -> None:
    order = WorkOrder(dispatched_at=datetime.fromisoformat(dispatched))
    assert dispatch.work_order_deadline(order, "Asia/Shanghai") == datetime.fromisoformat(deadline)


@pytest.mark.parametrize(
    ("zone_name", "period", "day"),
    [
        ("Asia/Shanghai", "month", "2026-11-23"),  # equal days: integer arithmetic
        ("Asia/Shanghai", "today", "2026-11-23"),  # hours
        ("Europe/Berlin", "month", "2026-03-10"),  # 29 March is 23 hours long: the CASE
    ],
)
def test_buckets_equal_service_level_per_bucket(
    sessions: sessionmaker[Session], zone_name: str, period: str, day: str
) -> None:
    cut = figures.period_of(period, date.fromisoformat(day), ZoneInfo(zone_name))
    rng = random.Random(3)
    with sessions.begin() as s:
        for n, edge in enumerate(cut.bounds[:-1]):
            # One call exactly on each edge, one a microsecond before the next edge.
            for k, at in enumerate((edge, cut.bounds[n + 1] - timedelta(microseconds=1))):
                s.add(
                    Call(
                        call_id=f"b{n}-{k}",
                        direction=Direction.INBOUND,
                        invite_at=at,
                        ring_count=rng.randint(1, 5),
                        disposition=rng.choice(list(Disposition)),
                    )
                )
    with sessions() as s:
        levels = supervision.service_level_by_bucket(s, cut.bounds)
        expected = [supervision.service_level(s, a, b) for a, b in itertools.pairwise(cut.bounds)]
    assert levels == expected and sum(level.calls for level in levels) == 2 * len(levels)


def test_overdue_orders_are_those_past_their_deadline(lite: Supervised) -> None:
    """The SQL filter (dispatched before the latest 18:00 check) against the deadline rule."""
    with lite.web.app.sessions() as s:
        open_orders = s.scalars(select(WorkOrder).where(WorkOrder.completed.is_(None))).all()
        for hours in range(-80, 60, 1):
            now = desk.NOW + timedelta(hours=hours, minutes=hours % 3 * 20)
            expected = [
                o.id
                for o in open_orders
                if o.dispatched_at < now and dispatch.work_order_deadline(o, "Asia/Shanghai") <= now
            ]
            found = dispatch.overdue_work_orders(s, now, "Asia/Shanghai")
            assert [o.id for o in found] == sorted(expected), now
            assert dispatch.overdue_work_order_count(s, now, "Asia/Shanghai") == len(expected)
