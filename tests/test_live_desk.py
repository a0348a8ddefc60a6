"""The live desk (issue 19): the agent's call-progress rows (through the call log and its
journal), the flow's stages, the desk's server-sent events read by Flask's test client
with a bound, the notification switches per user, and missed calls grouped per number.

What each test keeps: a replayed event never brings an ended call back; a refused
已回电 changes nothing; a stream ends by itself."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.content import Content, load_content
from hotline.settings import Settings
from ivr.flow import CallContext
from ivr.flow_config import FlowConfig, load_flow
from recorder import live_calls, residents
from recorder.calls import DatabaseCallLog
from recorder.journal import JournaledCallLog
from recorder.live_calls import AlertSwitches
from recorder.models import (
    AnsweredBy,
    AuditEvent,
    Call,
    Direction,
    Disposition,
    EntryRevision,
    EntryStatus,
    FieldSource,
    LogEntry,
    Urgency,
)
from recorder.reception_log import new_entry
from recorder.residents import Address, Change
from tests.browser.desk import NOW
from tests.support.flow import SimulatedCall
from tests.test_admin import Desk, build

T0 = NOW - timedelta(minutes=1)


def stages(sessions: sessionmaker[Session]) -> dict[str, tuple[str, dict[str, Any]]]:
    with sessions() as s:
        return {c.call_id: (c.stage, c.detail) for c in live_calls.in_progress(s)}


def test_a_call_is_in_progress_from_its_invite_to_its_end(sessions: sessionmaker[Session]) -> None:
    log = DatabaseCallLog(sessions)
    log.call_started("live-1", "13812345678", "8001", T0)
    log.call_started("live-1", "13812345678", "8001", T0)  # a retransmitted INVITE
    log.call_started("out-1", "8001", "13900001111", T0, Direction.OUTBOUND)
    assert stages(sessions) == {"live-1": ("ringing", {})}  # the agent's own calls stay off
    log.call_answered("live-1", T0 + timedelta(seconds=2), 1, AnsweredBy.AGENT)
    log.call_stage("live-1", "greeting", T0 + timedelta(seconds=2))
    log.call_stage("live-1", "message", T0 + timedelta(seconds=9), {"category": "repair"})
    assert stages(sessions) == {"live-1": ("message", {"category": "repair"})}
    log.call_ended("live-1", T0 + timedelta(seconds=30), Disposition.ANSWERED, "caller BYE", "x")
    assert stages(sessions) == {}
    # The journal replays events after a crash: a stage applied again after the end
    # leaves the call ended, off the desk.
    log.call_stage("live-1", "closing", T0 + timedelta(seconds=29))
    log.call_started("live-1", "13812345678", "8001", T0)
    assert stages(sessions) == {}


def test_a_call_the_agent_never_ended_leaves_the_desk_once_recovery_ends_it(
    sessions: sessionmaker[Session],
) -> None:
    from recorder.recovery import recover

    DatabaseCallLog(sessions).call_started("crashed", "13812345678", "8001", T0)
    assert list(stages(sessions)) == ["crashed"]
    recover(sessions)
    assert stages(sessions) == {}


def test_stages_go_through_the_journal_and_survive_a_restart(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = tmp_path / "journal"
    first = JournaledCallLog(DatabaseCallLog(sqlite_sessions), folder)
    first.call_started("j-1", "13812345678", "8001", T0)
    first.call_stage("j-1", "bridge", T0, {"extension": "8101", "user_id": None})
    first.close(timeout=0)  # nothing applied: both events wait on disk
    assert stages(sqlite_sessions) == {}
    with JournaledCallLog(DatabaseCallLog(sqlite_sessions), folder) as second:
        assert second.wait_applied(10)
    assert stages(sqlite_sessions) == {"j-1": ("bridge", {"extension": "8101", "user_id": None})}


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(Settings())


@pytest.fixture(scope="module")
def flow(content: Content) -> FlowConfig:
    return load_flow(Settings(), content)


def test_the_flow_reports_each_stage_once_with_the_choice_and_the_clerk(
    flow: FlowConfig, content: Content
) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    call = SimulatedCall(
        flow,
        content,
        context=CallContext(vad=True),
        auto_finish=False,
        on_stage=lambda *a: seen.append(a),
    )
    call.answer()
    assert seen == [("greeting", {})]
    call.media.finish_prompt()
    call.media.press("0")
    call.media.finish_prompt()  # "transferring you"
    call.wait(1.0)
    call.media.answer("leg-1")
    call.media.hang_up("clerk")
    assert seen[1:] == [
        ("menu", {}),
        ("bridge", {}),  # the clerks' phones ring
        ("bridge", {"extension": "8101", "user_id": 1}),
        ("closing", {}),
    ]
    menu: list[tuple[str, dict[str, Any]]] = []
    SimulatedCall(flow, content, on_stage=lambda *a: menu.append(a)).answer().media.press("1")
    assert menu[-1] == ("message", {"category": "repair"})


# The desk's stream.


@pytest.fixture(name="web")
def web_fixture(tmp_path: Path) -> Iterator[Desk]:
    for desk in build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}"):
        desk.flask.config.update(LIVE_POLL_S=0.01, LIVE_HEARTBEAT_S=0.2, LIVE_LIFETIME_S=5.0)
        with desk.app.sessions.begin() as s:
            key = residents.phone_key("13812345678")
            assert key is not None
            change = Change(Address("3栋", "2", "501"), "王建国", [key], "业主", "独居", True)
            residents.save(s, change, "import erp.csv")
        yield desk


class Stream:
    """The desk's event stream, read event by event with a deadline."""

    def __init__(self, web: Desk, headers: dict[str, str] | None = None) -> None:
        self.response = web.client.get("/live/stream", buffered=False, headers=headers or {})
        assert self.response.status_code == 200
        assert self.response.headers["X-Accel-Buffering"] == "no"
        assert self.response.mimetype == "text/event-stream"
        self._chunks = iter(self.response.response)
        self._pending = ""

    def next_event(self, name: str, within_s: float = 5.0, having: str = "") -> dict[str, Any]:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            while "\n\n" in self._pending:
                block, self._pending = self._pending.split("\n\n", 1)
                fields = dict(
                    line.split(": ", 1)
                    for line in block.splitlines()
                    if ": " in line and not line.startswith(":")
                )
                if fields.get("event") == name and having in fields.get("data", ""):
                    return {**json.loads(fields.get("data", "{}")), "_id": fields.get("id")}
                if block.startswith(": heartbeat"):
                    self.heartbeats = getattr(self, "heartbeats", 0) + 1
            chunk = next(self._chunks)
            self._pending += chunk.decode() if isinstance(chunk, bytes) else chunk
        raise AssertionError(f"no {name!r} event within {within_s} s")

    def close(self) -> None:
        self.response.close()


def test_a_call_appears_with_its_card_moves_on_and_leaves_at_hang_up(web: Desk) -> None:
    web.login("clerk")
    web.flask.config["LIVE_LIFETIME_S"] = 1.5
    log = DatabaseCallLog(web.app.sessions)
    stream = Stream(web)
    try:
        stream.next_event("reset")
        log.call_started("live-1", "13812345678", "8001", T0)
        first = stream.next_event("call")  # at once, while the directory is looked up
        assert "directory-pending" in first["html"] and "138****5678" in first["html"]
        card = stream.next_event("call")
        assert card["id"] == first["id"]
        html = card["html"]
        assert "138****5678" in html and "13812345678" not in html  # masked for a clerk
        assert "3栋2单元501" in html and "王建国" in html and "priority-resident" in html
        assert "厨房水管漏水" in html  # the unit's past call (the seeded entry)
        log.call_stage("live-1", "message", T0, {"category": "repair"})
        moved = stream.next_event("call")
        assert moved["id"] == card["id"] and 'data-stage="message"' in moved["html"]
        log.call_ended("live-1", T0, Disposition.ANSWERED, "caller BYE", "message")
        assert stream.next_event("gone") == {"id": card["id"], "_id": None}
        stream.next_event("bye", within_s=3)  # the stream ends by itself
        assert getattr(stream, "heartbeats", 0) >= 1
    finally:
        stream.close()
    with web.app.sessions() as s:  # the directory card shown is a directory view
        seen = s.scalars(select(AuditEvent).where(AuditEvent.action == "view_household")).all()
    assert [e.detail["live_call"] for e in seen] == ["live-1"]


def test_a_supervisor_sees_the_whole_number(web: Desk) -> None:
    web.login("supervisor")
    DatabaseCallLog(web.app.sessions).call_started("live-2", "13812345678", "8001", T0)
    stream = Stream(web)
    try:
        assert "13812345678" in stream.next_event("call", having="household")["html"]
    finally:
        stream.close()


def missed(web: Desk, number: str, minutes: int, urgency: Urgency = Urgency.NORMAL) -> int:
    with web.app.sessions.begin() as s:
        call = Call(
            call_id=f"missed-{number}-{minutes}",
            direction=Direction.INBOUND,
            caller_number=number,
            invite_at=NOW - timedelta(minutes=minutes),
            disposition=Disposition.MISSED,
        )
        s.add(call)
        s.flush()
        entry = new_entry(
            s,
            {"call_pk": call.id, "received_at": call.invite_at, "caller_number": number,
             "summary": "未接来电", "urgency": urgency},
            FieldSource.AUTO,
        )  # fmt: skip
        s.flush()
        return entry.id


def test_new_missed_calls_raise_an_alert_unless_switched_off(web: Desk) -> None:
    web.login("clerk")
    stream = Stream(web)
    try:
        reset = stream.next_event("reset")
        first = missed(web, "13700001111", 1)
        alert = stream.next_event("alert")
        assert alert["kind"] == "missed" and alert["_id"] == str(first)
        assert "137****1111" in alert["body"] and alert["url"] == f"/entries/{first}"
    finally:
        stream.close()
    # Only safety calls, silently: a missed call says nothing, a safety call does.
    form = {"safety": "y"}
    assert web.post("/live/alerts", form, page="/live/") == 302
    with web.app.sessions() as s:
        assert live_calls.alerts_of(s, web.seeded.clerk) == AlertSwitches(
            frozenset({"safety"}), False, False
        )
    # A browser that reconnects says what it saw last: nothing after it is lost.
    stream = Stream(web, {"Last-Event-ID": str(reset["_id"])})
    try:
        missed(web, "13700002222", 1)
        safety = missed(web, "13700003333", 1, Urgency.SAFETY)
        alert = stream.next_event("alert")
        assert alert["_id"] == str(safety) and alert["kind"] == "safety"
        assert alert["sound"] is False and alert["browser"] is False
    finally:
        stream.close()


def test_missed_calls_from_one_number_are_one_row_until_called_back(web: Desk) -> None:
    ids = [
        missed(web, n, m) for n, m in (("02162345678", 30), ("62345678", 20), ("02162345678", 5))
    ]
    other = missed(web, "13700009999", 3)
    web.login("clerk")
    page = web.client.get("/live/").text
    assert page.count('class="callback"') == 3  # the seeded missed call, this number, another
    assert 'data-count="3"' in page and "021****5678" in page and "02162345678" not in page
    # 已回电 on an entry that is not a waiting missed call: refused, nothing changes.
    assert web.post("/live/called-back", {"entry": str(web.seeded.entry)}, page="/live/") == 302
    assert "未更改" in web.client.get("/live/").text  # "Not changed: ..." in the clerk's language
    assert web.post("/live/called-back", {"entry": str(ids[0])}, page="/live/") == 302
    with web.app.sessions() as s:
        status = {i: st for i, st in s.execute(select(LogEntry.id, LogEntry.status))}
        reasons = s.scalars(
            select(EntryRevision.reason).where(EntryRevision.entry_id.in_(ids))
        ).all()
    assert [status[i] for i in ids] == [EntryStatus.DONE] * 3 and status[
        other
    ] is EntryStatus.RECEIVED
    assert reasons == ["已回电"] * 3
    page = web.client.get("/live/").text
    assert page.count('class="callback"') == 2 and 'data-count="3"' not in page


def test_a_new_caller_is_not_held_behind_earlier_callers_directory_cards(web: Desk) -> None:
    """A burst (issue 19's latency): each turn looks up directory cards for at most
    `poll_s` (here 0 s: one card), then polls again, so a call that came meanwhile is on
    the desk before the earlier callers' remaining cards; every card still comes."""
    web.login("clerk")
    web.flask.config["LIVE_POLL_S"] = 0.0
    log = DatabaseCallLog(web.app.sessions)
    stream = Stream(web)  # the generator runs only as it is read: the order is exact
    try:
        stream.next_event("reset")
        log.call_started("burst-a", "13812345678", "8001", T0)
        log.call_started("burst-b", "13900000001", "8001", T0)
        with web.app.sessions() as s:
            pks = dict(s.execute(select(Call.call_id, Call.id)).tuples().all())
        both = stream.next_event("call"), stream.next_event("call")
        assert [e["id"] for e in both] == [pks["burst-a"], pks["burst-b"]]
        assert all("directory-pending" in e["html"] for e in both)
        card_a = stream.next_event("call")
        assert card_a["id"] == pks["burst-a"] and "王建国" in card_a["html"]
        log.call_started("burst-c", "13900000002", "8001", T0)
        with web.app.sessions() as s:
            pks.update(s.execute(select(Call.call_id, Call.id)).tuples().all())
        then = [stream.next_event("call") for _ in range(3)]
        assert [e["id"] for e in then] == [pks["burst-c"], pks["burst-b"], pks["burst-c"]]
        assert "directory-pending" in then[0]["html"]  # c on the desk before b's card
        assert "directory-pending" not in then[1]["html"] + then[2]["html"]
    finally:
        stream.close()
