"""The honest service level (recorder/service_level.py) on a constructed day, with the
figures worked out by hand below, on SQLite and PostgreSQL.

Threshold: 3 rings at China's cadence (1 s on, 4 s off) = 3 + 2 × 4 = 11 s; short
abandons: within 5 s of calling.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import null
from sqlalchemy.orm import Session, sessionmaker

from recorder.models import AnsweredBy, Call, Direction, Disposition
from recorder.service_level import (
    ServiceLevel,
    Threshold,
    service_level,
    service_level_by_bucket,
    total,
)
from tests.test_admin import build

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
D, A, M, F = Direction, Disposition.ANSWERED, Disposition.MISSED, Disposition.FAILED
B = Disposition.ABANDONED

#: (direction, disposition, rings heard, seconds from calling to hanging up, ended_in,
#:  answered elsewhere)
DAY = [
    # answered: 4 within 3 rings (one by a colleague's phone in the ring group), 1 after 4
    (D.INBOUND, A, 2, 120, "closing", False),
    (D.INBOUND, A, 3, 90, "bridge", False),
    (D.INBOUND, A, 1, 40, "elsewhere", True),
    (D.INBOUND, A, 2, 60, "message", False),
    (D.INBOUND, A, 4, 75, "closing", False),
    # gave up while it rang: one after 8 s (within 11 s), one after 20 s, one after 3 s (short)
    (D.INBOUND, M, 2, 8, "ringing", False),
    (D.INBOUND, M, 4, 20, "ringing", False),
    (D.INBOUND, M, 1, 3, "ringing", False),
    # hung up in the greeting (10 s: within) or the menu (25 s and 40 s: not); 4 s: short
    (D.INBOUND, B, 2, 10, "greeting", False),
    (D.INBOUND, B, 2, 25, "menu", False),
    (D.INBOUND, B, 2, 40, "menu", False),
    (D.INBOUND, B, 1, 4, "greeting", False),
    # imported recordings: rings unknown
    (D.IMPORTED, A, None, 200, None, False),
    (D.IMPORTED, A, None, 300, None, False),
    # could not be connected
    (D.INBOUND, F, 0, 1, "ringing", False),
]


def _day(s: Session, start: datetime = T0) -> None:
    for n, (direction, disposition, rings, seconds, ended_in, elsewhere) in enumerate(DAY):
        invite = start + timedelta(minutes=n)
        s.add(
            Call(
                call_id=f"c{n}",
                direction=direction,
                invite_at=invite,
                ringing_at=invite,
                ended_at=invite + timedelta(seconds=seconds),
                disposition=disposition,
                ring_count=null() if rings is None else rings,
                ended_in=ended_in,
                answered_elsewhere=elsewhere,
                answered_by=AnsweredBy.STAFF if elsewhere else None,
            )
        )


def test_a_constructed_day_by_hand(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        _day(s)
    day = (T0 - timedelta(hours=1), T0 + timedelta(days=1))
    with sessions() as s:
        level = service_level(s, *day, Threshold(3, 1.0, 4.0, 5.0))
    # By hand: 15 calls; answered (live) 5, within 3 rings 4, one of them elsewhere;
    # rang out 2 (8 s within, 20 s not) + 1 short; greeting/menu 3 (10 s within) + 1 short;
    # imported 2; failed 1.
    assert level == ServiceLevel(
        calls=15,
        answered=5,
        answered_within=4,
        missed=2,
        missed_within=1,
        abandoned=3,
        abandoned_within=1,
        short_abandons=2,
        imported=2,
        answered_elsewhere=1,
        failed=1,
    )
    assert level.answered_share == pytest.approx(4 / 5)
    # (4 answered within + 2 who gave up within 11 s) ÷ (5 answered + 5 who gave up)
    assert level.offered_share == pytest.approx(6 / 10)


def test_the_old_count_would_have_shown_100_percent_for_a_menu_of_quitters(
    sessions: sessionmaker[Session],
) -> None:
    """Issue 20's day: 21 callers, 15 of whom hung up in the menu (after 30 s each) and
    6 answered within 2 rings. Hanging up in the menu is abandoning: 6 of 21, not 100 %."""
    with sessions.begin() as s:
        for n in range(21):
            invite = T0 + timedelta(minutes=n)
            quit_ = n < 15
            s.add(
                Call(
                    call_id=f"q{n}",
                    direction=Direction.INBOUND,
                    invite_at=invite,
                    ended_at=invite + timedelta(seconds=30),
                    disposition=Disposition.ABANDONED if quit_ else Disposition.ANSWERED,
                    ring_count=2,
                    ended_in="menu" if quit_ else "closing",
                )
            )
    with sessions() as s:
        level = service_level(s, T0, T0 + timedelta(hours=1))
    assert (level.answered, level.abandoned, level.gave_up_within) == (6, 15, 0)
    assert level.answered_share == 1.0  # of those answered, all were in time ...
    assert level.offered_share == pytest.approx(6 / 21)  # ... but 15 callers gave up


def test_buckets_add_up_to_the_day(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        _day(s)
    bounds = [T0 + timedelta(minutes=m) for m in (0, 5, 10, 30)]
    with sessions() as s:
        parts = service_level_by_bucket(s, bounds, Threshold(3, 1.0, 4.0, 5.0))
        whole = service_level(s, bounds[0], bounds[-1], Threshold(3, 1.0, 4.0, 5.0))
    assert [p.calls for p in parts] == [5, 5, 5]
    for field in ServiceLevel.__dataclass_fields__:
        assert sum(getattr(p, field) for p in parts) == getattr(whole, field), field
    assert total(parts) == whole  # what the dashboard shows for its period
    assert service_level_by_bucket(s, bounds[:1]) == []


def test_the_dashboard_says_how_each_figure_is_computed_with_its_numbers(tmp_path: Path) -> None:
    """The constructed day on a day of its own (2026-11-02, nothing else seeded there):
    the dashboard's sentences carry the hand-worked numbers."""
    for web in build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}"):
        with web.app.sessions.begin() as s:
            _day(s, T0 - timedelta(days=21))
        web.login("supervisor")
        page = web.client.get("/supervision/?period=today&day=2026-11-02").text
        how = {
            key: re.sub(r"\s+", " ", html.unescape(text))
            for key, text in re.findall(r'<li id="how-([a-z-]+)">(.*?)</li>', page, re.S)
        }
        assert sorted(how) == ["answered", "elsewhere", "left-out", "offered"]
        # The one answered elsewhere: the PBX's CANCEL named nobody, so "a colleague".
        answerers = re.findall(r'<span class="answerer">(.*?)</span>', how["elsewhere"])
        assert answerers == ["同事: 1"]  # 同事: "a colleague" on the zh-CN desk
        assert re.search(r'id="answered-share" data-value="0\.8"', page)
        assert re.search(r'id="offered-share" data-value="0\.6"', page)
        # 5 answered, 1 of them by a colleague's phone in the ring group, 4 within 3 rings.
        assert [int(n) for n in re.findall(r"\d+", how["answered"])] == [3, 5, 1, 4, 3]
        # 5 gave up (2 ringing, 3 greeting/menu), 2 within 11 s (3 rings): (4 + 2) ÷ (5 + 5).
        assert "(4 + 2) ÷ (5 + 5)" in how["offered"]
        assert [int(n) for n in re.findall(r"\d+", how["offered"])][:6] == [5, 2, 3, 2, 11, 3]
        # Left out: 2 short abandons (within 5 s), 2 imported recordings, 1 failed call.
        assert [int(n) for n in re.findall(r"\d+", how["left-out"])] == [2, 5, 2, 1]
