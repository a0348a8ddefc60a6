"""Each clerk's ring time: from the flow's rings to CallLeg rows, through the journal.

The issue asks that the clerk's ring time and who answered be recorded. What
is kept: one call_legs row per clerk rung, in roster order, with when it
rang, for how long (until the phone answered, not until the whisper ended)
and how it ended; the same rows after a replay, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.content import Content, load_content
from hotline.settings import Settings
from ivr.flow_config import FlowConfig, load_flow
from ivr.flow_events import FarEndBusy, FarEndNoAnswer, HungUp
from ivr.flow_runner import clerk_rings
from ivr.leg_status import leg_result
from recorder.calls import ClerkRing, DatabaseCallLog
from recorder.db_retry import Backoff
from recorder.journal import JournaledCallLog
from recorder.models import AnsweredBy, Call, CallLeg, LegResult, Role
from recorder.staff import add_user
from tests.support.flow import SimulatedCall
from tests.test_call_media import FakeCall, Harness

T0 = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
FAST = Backoff(first_s=0.01, max_s=0.05)


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(Settings())


@pytest.fixture(scope="module")
def flow(content: Content) -> FlowConfig:
    return load_flow(Settings(), content)


# ------------------------------------------------------------- the flow's view


def test_a_busy_a_silent_and_an_answering_clerk_become_three_legs(
    flow: FlowConfig, content: Content
) -> None:
    c = SimulatedCall(flow, content).answer()
    c.media.press("0")
    c.wait(1.5)
    c.media.busy("leg-1")  # 486 after 1.5 s
    c.wait(20.0)  # 8102 rings out: the flow's ring time
    c.wait(3.0)
    c.media.answer("leg-3")  # answered, whispered to, then reported to the flow
    started = c.clock.now()
    # The phone itself answered 1.2 s before the flow heard of it (the whisper).
    answered_at = {"leg-3": started - 1.2}
    records = clerk_rings(c.outcome["rings"], T0, started, answered_at)
    assert [(r.extension, r.user_id, r.result) for r in records] == [
        ("8101", 1, LegResult.BUSY),
        ("8102", 2, LegResult.NO_ANSWER),
        ("8103", 3, LegResult.ANSWERED),
    ]
    assert [r.ring_seconds for r in records] == [1.5, 20.0, 1.8]
    # Rung one after the other, on the wall clock of `now`.
    assert [r.rang_at for r in records] == [
        T0 - timedelta(seconds=24.5),
        T0 - timedelta(seconds=23.0),
        T0 - timedelta(seconds=3.0),
    ]


def test_how_sip_saw_a_leg_end_overrides_the_flows_no_answer(
    flow: FlowConfig, content: Content
) -> None:
    c = SimulatedCall(flow, content).answer()
    c.media.press("0")
    c.media.no_answer("leg-1")  # the INVITE could not be placed (or 404)
    c.media.hang_up("caller")  # the caller leaves while 8102 rings
    records = clerk_rings(
        c.outcome["rings"], T0, c.clock.now(), refused={"leg-1": "failed", "leg-2": "busy"}
    )
    # leg-2 was dropped by the flow (the caller left): the flow's word stands for it only
    # if SIP said nothing; here SIP's "busy" came in as the leg was given up.
    assert [(r.extension, r.result) for r in records] == [
        ("8101", LegResult.FAILED),
        ("8102", LegResult.BUSY),
    ]


@pytest.mark.parametrize(
    ("status", "result"),
    [
        (None, "no_answer"),
        (486, "busy"),
        (600, "busy"),
        (603, "busy"),
        (408, "no_answer"),
        (480, "no_answer"),
        (487, "no_answer"),
        (404, "failed"),
        (503, "failed"),
        (403, "failed"),
    ],
)
def test_the_final_status_of_a_clerks_invite(status: int | None, result: str) -> None:
    assert leg_result(status) == result


@pytest.mark.parametrize(
    ("status", "event", "result"),
    [
        (486, FarEndBusy, "busy"),
        (404, FarEndNoAnswer, "failed"),
        (None, FarEndNoAnswer, "no_answer"),
    ],
)
def test_call_media_reports_a_refused_leg_as_busy_or_no_answer(
    tmp_path: Path, status: int | None, event: type, result: str
) -> None:
    """A clerk's phone that ends the leg before answering: the flow hears busy on
    486/600/603 (SipCall.final_status) and no answer otherwise."""
    call, clerk = FakeCall(), FakeCall("leg")
    clerk.answered = False
    if status is not None:
        clerk.final_status = status
    h = Harness(tmp_path, call, dial=clerk)
    h.react[event] = lambda _e: h.media.hangup("done")
    h.media.dial("leg-1", "sip:8101@127.0.0.1", "x", timeout_s=20)
    threading.Timer(0.1, lambda: setattr(clerk, "ended", True)).start()
    threading.Timer(5.0, h.done.set).start()  # bounded: the loop ends in any case
    h.run()
    assert event("leg-1") in h.events and HungUp("clerk") not in h.events
    assert h.media.leg_results == {"leg-1": result}
    assert "leg-1" not in h.media.leg_answered_at


# ------------------------------------------------------------- the database


def rung(users: dict[str, int]) -> list[ClerkRing]:
    return [
        ClerkRing("8101", users["wang"], T0 + timedelta(seconds=9), 1.5, LegResult.BUSY),
        ClerkRing("8102", users["li"], T0 + timedelta(seconds=11), 2.25, LegResult.ANSWERED),
    ]


def staff(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions.begin() as s:
        wang = add_user(s, "wang", "王芳", "1001", Role.CLERK, "password-1001", extension="8101")
        li = add_user(s, "li", "李强", "1002", Role.CLERK, "password-1002", extension="8102")
        s.flush()
        return {"wang": wang.id, "li": li.id}


def legs(sessions: sessionmaker[Session]) -> list[tuple[object, ...]]:
    with sessions() as s:
        call = s.scalars(select(Call).where(Call.call_id == "c1")).one()
        return [
            (leg.id, leg.seq, leg.extension, leg.user_id, leg.rang_at, leg.ring_seconds, leg.result)
            for leg in call.legs
        ]


def test_the_legs_are_stored_in_order_and_a_replay_keeps_the_same_rows(
    sessions: sessionmaker[Session],
) -> None:
    users = staff(sessions)
    log = DatabaseCallLog(sessions)
    log.call_started("c1", "13800138000", "8001", T0)
    log.call_answered("c1", T0 + timedelta(seconds=2), 1, AnsweredBy.AGENT)
    log.clerks_rung("c1", rung(users))
    log.staff_joined("c1", users["li"], T0 + timedelta(seconds=14))
    first = legs(sessions)
    assert [row[1:] for row in first] == [
        (1, "8101", users["wang"], T0 + timedelta(seconds=9), 1.5, LegResult.BUSY),
        (2, "8102", users["li"], T0 + timedelta(seconds=11), 2.25, LegResult.ANSWERED),
    ]
    log.clerks_rung("c1", rung(users))  # the journal replays it after a crash
    assert legs(sessions) == first
    with sessions() as s:  # who answered, beside the legs
        assert s.scalars(select(Call.answered_by_user_id)).one() == users["li"]
        s.delete(s.scalars(select(Call)).one())
        s.commit()
        assert s.scalars(select(CallLeg)).all() == []  # the legs go with their call


def test_the_journal_keeps_the_legs_as_json_and_applies_them(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    users = staff(sessions)
    folder = tmp_path / "journal"
    with JournaledCallLog(DatabaseCallLog(sessions), folder, FAST) as log:
        log.call_started("c1", "13800138000", "8001", T0)
        log.clerks_rung("c1", rung(users))
        assert log.wait_applied(30)
    (day,) = folder.glob("*.jsonl")
    lines = [json.loads(line) for line in day.read_text().splitlines()]
    assert lines[-1]["event"] == "clerks_rung"
    assert lines[-1]["args"]["rings"][0] == {
        "extension": "8101",
        "user_id": users["wang"],
        "rang_at": (T0 + timedelta(seconds=9)).isoformat(),
        "ring_seconds": 1.5,
        "result": "busy",
    }
    assert [row[2:] for row in legs(sessions)] == [
        ("8101", users["wang"], T0 + timedelta(seconds=9), 1.5, LegResult.BUSY),
        ("8102", users["li"], T0 + timedelta(seconds=11), 2.25, LegResult.ANSWERED),
    ]
