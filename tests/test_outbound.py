"""Calls the agent places (issue 22): the rules a resident expects, the shared task
queue, and the follow-up survey on the fake phone (ivr/phone_fake.py) with a clock seam.

What the resident would notice: no call outside 09:00-20:00 local or on a quiet day; at
most N attempts, M minutes apart; pressing 9 stops survey calls to that number for good;
one call per number at a time even with two agents; the key pressed lands on the entry
as the follow-up a clerk would have written (3 reopens the work).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.content import load_content
from hotline.settings import CONFIG_DIR, OutboundSettings, PathSettings, Settings, SipSettings
from ivr.flow_timers import ThreadScheduler
from ivr.outbound import Dialer
from ivr.outbound_attempts import attempt_of
from ivr.phone_fake import FakeCall, FakePhone
from recorder import outbound as tasks
from recorder.calls import DatabaseCallLog
from recorder.dispatch import record_follow_up
from recorder.models import (
    AuditEvent,
    Call,
    Direction,
    Disposition,
    EntryStatus,
    FieldSource,
    FollowUp,
    LogEntry,
    Recording,
    WorkOrder,
)
from recorder.outbound_models import Attempt, OptOut, OutboundTask, TaskState
from recorder.outbound_rules import CallingHours, parse_hours
from recorder.reception_log import new_entry
from recorder.service_level import service_level
from recorder.work_orders import complete, dispatch

ZONE = ZoneInfo("Asia/Shanghai")
#: Monday 7 December 2026, 10:00 in Shanghai.
MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=ZONE)
NUMBER = "13800138000"
#: Registered mode: the resident is dialled through the registrar (sip.outbound_uri_template).
URI = f"sip:{NUMBER}@127.0.0.1:5060"


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=ZONE)


# ------------------------------------------------------------------ the rules


@pytest.mark.parametrize(
    ("at", "allowed"),
    [
        (local(7, 8, 59), False),  # before 09:00
        (local(7, 9, 0), True),
        (local(7, 19, 59), True),
        (local(7, 20, 0), False),  # 20:00 is already too late
        (local(13, 10, 0), False),  # Sunday: a quiet weekday here
        (local(8, 10, 0), False),  # a quiet date
        (local(7, 2, 0).astimezone(UTC), False),  # UTC in, local hours applied
    ],
)
def test_calling_hours(at: datetime, allowed: bool) -> None:
    hours = CallingHours(
        "Asia/Shanghai", quiet_weekdays=frozenset({7}), quiet_dates=frozenset({date(2026, 12, 8)})
    )
    assert hours.allows(at) is allowed


@pytest.mark.parametrize(
    ("after", "next_at"),
    [
        (local(7, 10, 0), local(7, 11, 0)),  # spaced 60 minutes, within the hours
        (local(7, 19, 30), local(8, 9, 0)),  # would be 20:30: the next morning at 09:00
        (local(12, 19, 30), local(14, 9, 0)),  # Saturday evening: Sunday is quiet
    ],
)
def test_attempts_are_spaced_and_kept_within_the_hours(after: datetime, next_at: datetime) -> None:
    plan = OutboundSettings(quiet_weekdays=[7]).plan("Asia/Shanghai")
    following = plan.after_attempt(after, attempts_left=3, not_after=None)
    assert (following.at, following.attempts_left) == (next_at, 2)


def test_no_attempt_after_the_last_or_past_the_deadline() -> None:
    plan = OutboundSettings(attempts=3, spacing_minutes=60).plan("Asia/Shanghai")
    assert plan.after_attempt(local(7, 10), 1, None).at is None  # that was the third
    deadline = local(7, 10, 30)
    gone = plan.after_attempt(local(7, 10), 3, deadline)
    assert gone.at is None and "last moment" in gone.why


@pytest.mark.parametrize("bad", ["9-20", "20:00-09:00", "09:00-25:00", "nine to five"])
def test_bad_hours_are_refused_with_the_value(bad: str) -> None:
    with pytest.raises(ValueError, match="HH:MM|start before"):
        parse_hours(bad)
    with pytest.raises(ValueError, match="hours"):
        OutboundSettings(hours=bad)


@pytest.mark.parametrize(
    ("status", "attempt"),
    [
        (486, Attempt.BUSY),
        (600, Attempt.BUSY),
        (603, Attempt.REJECTED),
        (480, Attempt.NO_ANSWER),
        (None, Attempt.NO_ANSWER),
        (404, Attempt.FAILED),
    ],
)
def test_how_an_unanswered_attempt_is_recorded(status: int | None, attempt: Attempt) -> None:
    assert attempt_of(status) is attempt


# ------------------------------------------------------------------ the queue


def done_repair(
    s: Session, number: str = NUMBER, completed: datetime = MONDAY_10 - timedelta(days=1)
) -> LogEntry:
    """A repair reported, dispatched to 工程部 and returned done at `completed`."""
    entry = new_entry(
        s,
        {
            "received_at": completed - timedelta(hours=3),
            "caller_number": number,
            "unit": "3号楼1201",
            "category": "repair",
            "summary": "厨房水管漏水",
            "follow_up_due": (completed + timedelta(days=7)).astimezone(ZONE).date(),
        },
        FieldSource.AUTO,
    )
    s.flush()
    order = dispatch(s, entry, "工程部", ["工程部"], None, completed - timedelta(hours=2))
    complete(s, order, True, None, now=completed)
    return entry


PLAN = OutboundSettings().plan("Asia/Shanghai")
DELAY = timedelta(hours=24)


def test_a_completed_repair_gets_one_follow_up_task_when_due(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        entry_id = done_repair(s, completed=MONDAY_10 - timedelta(hours=2)).id
    with sessions.begin() as s:  # returned two hours ago: not due yet
        assert tasks.create_follow_ups(s, MONDAY_10, PLAN, DELAY) == []
    later = MONDAY_10 + timedelta(days=1)
    with sessions.begin() as s:
        made = tasks.create_follow_ups(s, later, PLAN, DELAY)
        again = tasks.create_follow_ups(s, later, PLAN, DELAY)  # a second sweep adds none
    assert len(made) == 1 and again == []
    task = made[0]
    assert (task.entry_id, task.number, task.state, task.attempts_left) == (
        entry_id,
        NUMBER,
        TaskState.DUE,
        3,
    )
    # Called by the end of the entry's follow-up date (seed 000 1.4.3.6.2: within a week).
    assert task.not_after == datetime(2026, 12, 15, tzinfo=ZONE)


def test_two_agents_never_take_one_task_nor_call_one_number_twice(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        done_repair(s)
        done_repair(s)  # a second repair, the same resident's number
        done_repair(s, number="13900139000")
        assert len(tasks.create_follow_ups(s, MONDAY_10, PLAN, DELAY)) == 3
    claimed: list[OutboundTask | None] = []
    for owner in ("agent-a", "agent-b", "agent-c"):
        with sessions.begin() as s:
            claimed.append(tasks.claim(s, MONDAY_10, owner, PLAN.hours))
    numbers = [task.number if task else None for task in claimed]
    # The third agent finds nothing: the other task of 13800138000 waits for the first.
    assert numbers == [NUMBER, "13900139000", None]
    with sessions() as s:
        calling = s.scalars(select(OutboundTask).where(OutboundTask.state == TaskState.CALLING))
        assert sorted((t.owner or "") for t in calling) == ["agent-a", "agent-b"]


def test_agents_racing_for_one_number_ring_it_once(sessions: sessionmaker[Session]) -> None:
    """Four agents claim at the same instant; two tasks wait for one number: one call."""
    with sessions.begin() as s:
        done_repair(s)
        done_repair(s)
        tasks.create_follow_ups(s, MONDAY_10, PLAN, DELAY)
    won: list[str] = []
    barrier = threading.Barrier(4)

    def agent(owner: str) -> None:
        barrier.wait(10)
        with sessions.begin() as s:
            if tasks.claim(s, MONDAY_10, owner, PLAN.hours) is not None:
                won.append(owner)

    threads = [threading.Thread(target=agent, args=(f"agent-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(won) == 1
    with sessions() as s:
        calling = s.scalars(select(OutboundTask).where(OutboundTask.state == TaskState.CALLING))
        assert [task.owner for task in calling] == won


def test_nothing_is_claimed_outside_the_hours(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        done_repair(s)
        tasks.create_follow_ups(s, MONDAY_10, PLAN, DELAY)
    with sessions.begin() as s:
        assert tasks.claim(s, local(7, 20, 5), "agent-a", PLAN.hours) is None
        assert (
            tasks.claim(
                s,
                local(13, 10),
                "agent-a",
                OutboundSettings(quiet_weekdays=[7]).plan("Asia/Shanghai").hours,
            )
            is None
        )
        assert tasks.claim(s, MONDAY_10, "agent-a", PLAN.hours) is not None


def test_a_matter_followed_up_by_a_clerk_meanwhile_is_not_called(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        entry = done_repair(s)
        tasks.create_follow_ups(s, MONDAY_10, PLAN, DELAY)
        record_follow_up(s, entry, True, True, "电话回访：满意", None, MONDAY_10)
    with sessions.begin() as s:
        assert tasks.cancel_settled(s) == 1
        assert tasks.claim(s, MONDAY_10, "agent-a", PLAN.hours) is None
        task = s.scalars(select(OutboundTask)).one()
    assert (task.state, task.last_attempt) == (TaskState.CANCELLED, "settled")


# ------------------------------------------------------------------ the survey call


class Clock:
    """The dialer's clock seam: the wall time the test sets, real monotonic time."""

    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return time.monotonic()


def short_prompt(_name: str, _text: str) -> bytes:
    return b"\x00" * 320 * 5  # 0.1 s: the survey's pace, not the voice, is under test


@pytest.fixture
def desk(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> Iterator[tuple[sessionmaker[Session], FakePhone, Dialer, Clock]]:
    settings = Settings(
        paths=PathSettings(data_dir=tmp_path),
        sip=SipSettings(registrar="127.0.0.1:5060"),
        outbound=OutboundSettings(enabled=True, key_wait_s=0.2, ring_timeout_s=0.5),
    )
    phone, clock, timers = FakePhone(), Clock(MONDAY_10), ThreadScheduler()
    dialer = Dialer(
        settings,
        sqlite_sessions,
        DatabaseCallLog(sqlite_sessions, data_dir=tmp_path),
        phone.call,
        short_prompt,
        load_content(settings, CONFIG_DIR),
        timers,
        clock,
        owner="agent-test",
    )
    with sqlite_sessions.begin() as s:
        done_repair(s)
    yield sqlite_sessions, phone, dialer, clock
    dialer.stop()  # joins the calls, then the timers' thread


def resident(
    phone: FakePhone, keys: str = "", answered: bool = True, status: int | None = None
) -> FakeCall:
    """The resident's phone as the next call dialled to it finds it."""
    call = FakeCall("out-1")
    call.keys, call.answered, call.final_status = keys, answered, status
    call.ended = not answered and status is not None
    phone.prepared[URI] = call
    return call


def run_once(dialer: Dialer) -> None:
    for thread in dialer.tick():
        thread.join(20)
        assert not thread.is_alive()


def test_key_1_lands_on_the_entry_as_a_satisfied_follow_up(desk: tuple) -> None:
    sessions, phone, dialer, _clock = desk
    call = resident(phone, keys="1#")  # and # at the invitation: no comment
    run_once(dialer)
    assert phone.dialled == [URI]
    assert call.sent, "the resident heard the survey"
    with sessions() as s:
        entry = s.scalars(select(LogEntry)).one()
        follow = s.scalars(select(FollowUp)).one()
        stored = s.scalars(select(Call)).one()
        task = s.scalars(select(OutboundTask)).one()
        recording = s.scalars(select(Recording)).one()
    assert (follow.reached, follow.satisfied, follow.by_user_id) == (True, True, None)
    assert entry.status is EntryStatus.FOLLOWED_UP
    assert (stored.direction, stored.disposition, stored.called_number) == (
        Direction.OUTBOUND,
        Disposition.ANSWERED,
        NUMBER,
    )
    assert recording.call_pk == stored.id
    assert (task.state, task.result, task.history[0]["call_id"]) == (
        TaskState.DONE,
        "satisfied",
        "out-1",
    )
    with sessions() as s:  # the outbound call is not inbound service
        level = service_level(s, MONDAY_10 - timedelta(days=1), MONDAY_10 + timedelta(days=1))
    assert level.calls == 0


def test_key_3_reopens_the_work_with_a_new_order_for_the_same_department(desk: tuple) -> None:
    sessions, phone, dialer, _clock = desk
    resident(phone, keys="3#")
    run_once(dialer)
    with sessions() as s:
        entry = s.scalars(select(LogEntry)).one()
        orders = list(s.scalars(select(WorkOrder).order_by(WorkOrder.id)))
        follow = s.scalars(select(FollowUp)).one()
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == tasks.REOPENED)).one()
    assert (follow.reached, follow.satisfied) == (True, False)
    assert entry.status is EntryStatus.DISPATCHED
    assert [(o.department, o.completed, o.previous_id) for o in orders] == [
        ("工程部", True, None),
        ("工程部", None, orders[0].id),
    ]
    assert audit.detail["work_order"] == orders[1].number


def test_key_9_stops_survey_calls_to_that_number_for_good(desk: tuple) -> None:
    sessions, phone, dialer, clock = desk
    resident(phone, keys="9")
    run_once(dialer)
    with sessions.begin() as s:
        assert s.scalars(select(OptOut.number)).all() == [NUMBER]
        done_repair(s, completed=MONDAY_10)  # a later repair of the same household
    clock.at = MONDAY_10 + timedelta(days=2)
    phone.dialled.clear()
    run_once(dialer)
    assert phone.dialled == []  # no task made for it, nothing called
    with sessions() as s:
        assert len(s.scalars(select(OutboundTask)).all()) == 1


def test_key_0_asks_the_desk_for_a_clerk_and_records_no_follow_up_yet(desk: tuple) -> None:
    sessions, phone, dialer, _clock = desk
    resident(phone, keys="0")
    run_once(dialer)
    with sessions() as s:
        assert s.scalars(select(FollowUp)).all() == []
        assert s.scalars(select(AuditEvent.action)).all() == [tasks.CLERK_ASKED]
        assert s.scalars(select(OutboundTask.result)).one() == "clerk"


@pytest.mark.parametrize(
    ("answered", "status", "attempt", "cause"),
    [
        (False, 486, "busy", "486 busy"),
        (False, 603, "rejected", "603 rejected"),
        (False, None, "no_answer", "CANCEL no_answer"),  # rang past ring_timeout_s
        (True, None, "no_key", "agent BYE"),  # answered, asked twice, no key
    ],
)
def test_an_attempt_that_does_not_reach_an_answer_is_recorded_and_retried(
    desk: tuple, answered: bool, status: int | None, attempt: str, cause: str
) -> None:
    sessions, phone, dialer, clock = desk
    resident(phone, answered=answered, status=status)
    run_once(dialer)
    with sessions() as s:
        task = s.scalars(select(OutboundTask)).one()
        stored = s.scalars(select(Call)).one()
        assert s.scalars(select(FollowUp)).all() == []
    assert (task.state, task.last_attempt, task.attempts_left) == (TaskState.DUE, attempt, 2)
    assert task.not_before == MONDAY_10 + timedelta(minutes=60)
    assert stored.direction is Direction.OUTBOUND and stored.hangup_cause == cause
    phone.dialled.clear()
    run_once(dialer)  # not again before the spacing has passed
    assert phone.dialled == []
    clock.at = MONDAY_10 + timedelta(minutes=61)
    resident(phone, keys="1#")
    run_once(dialer)
    with sessions() as s:
        task = s.scalars(select(OutboundTask)).one()
        assert (task.state, [h["attempt"] for h in task.history]) == (
            TaskState.DONE,
            [attempt, "answered"],
        )


@pytest.mark.parametrize(
    ("clerks", "residents", "peer"),
    [
        ("sip:{extension}@{registrar}", "sip:{number}@10.0.0.5:5070", ("10.0.0.5", 5070)),
        ("sip:{extension}@10.0.0.9", "sip:{number}@10.0.0.5", ("10.0.0.9", 5060)),
        ("sip:{extension}@{registrar}", "sip:{number}@{registrar}", None),
    ],
)
def test_direct_mode_sends_invites_to_the_clerks_pbx_else_the_residents_trunk(
    clerks: str, residents: str, peer: tuple[str, int] | None
) -> None:
    from hotline.commands.agent import _peer

    found = _peer(clerks, residents)
    assert (None if found is None else (found.host, found.port)) == peer


def test_an_agent_stopped_mid_call_hands_the_task_back_without_spending_an_attempt(
    desk: tuple,
) -> None:
    sessions, phone, dialer, _clock = desk
    resident(phone, answered=False)  # rings on; the agent is stopped meanwhile
    threads = dialer.tick()
    dialer.stopping.set()
    for thread in threads:
        thread.join(20)
    with sessions() as s:
        task = s.scalars(select(OutboundTask)).one()
    assert (task.state, task.attempts_left, task.owner) == (TaskState.DUE, 3, None)
    assert task.history[-1]["attempt"] == "interrupted"
