"""The desk's outbound plan page (issue 22: "the day's outbound plan and results, per task
type") through Flask's test client, on a constructed day: what a supervisor sees per
kind (survey, letter confirmation, call-back), each task's due time, attempts, state and
result, links to the matter and the call's recording, the counts per kind; another day's
tasks kept off the page; a bad day refused with a clear 400, nothing changed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recorder import letters
from recorder.models import Call, Direction, Disposition, LogEntry, Recording, RecordingState
from recorder.outbound_models import OutboundTask, TaskKind, TaskState
from recorder.reception_log import register_complaint
from tests.browser.desk import NOW
from tests.test_admin import Desk, build

DAY = "2026-11-23"  # NOW is 10:00 that day in Asia/Shanghai


@pytest.fixture(name="day", scope="module")
def day_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Desk, dict[str, int]]]:
    """One constructed day for the module's tests, which only read it."""
    tmp_path = tmp_path_factory.mktemp("outbound-plan")
    for web in build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}"):
        with web.app.sessions.begin() as s:
            tasks = _constructed_day(s, web)
        yield web, tasks


def _attempt(at: datetime, call_id: str | None, attempt: str, **more: object) -> dict[str, object]:
    return {"at": at.isoformat(), "call_id": call_id, "attempt": attempt, **more}


def _outbound_call(s: Session, call_id: str, at: datetime, tmp: Path) -> int:
    call = Call(
        call_id=call_id,
        direction=Direction.OUTBOUND,
        caller_number="agent",
        called_number="13800001111",
        invite_at=at,
        answered_at=at + timedelta(seconds=4),
        disposition=Disposition.ANSWERED,
    )
    s.add(call)
    s.flush()
    recording = Recording(
        call_pk=call.id,
        path=str(tmp / f"{call_id}.wav"),
        channels="caller",
        duration_s=20.0,
        state=RecordingState.COMPLETE,
    )
    s.add(recording)
    s.flush()
    return recording.id


def _task(s: Session, kind: TaskKind, number: str, due: datetime, **values: Any) -> int:
    values = {"attempts_left": 3, "state": TaskState.DUE, "history": [], **values}
    task = OutboundTask(
        kind=kind, number=number, not_before=due, not_after=due + timedelta(days=2), **values
    )
    s.add(task)
    s.flush()
    return task.id


def _constructed_day(s: Session, web: Desk) -> dict[str, int]:
    """The morning of 2026-11-23: a survey answered 1 (recorded), one busy and tried
    again at 11:00, one still to call at 15:00; a letter's complainant put through to a
    clerk; a missed call returned and reached, another given up unanswered; yesterday's
    survey, settled yesterday, which is not today's."""
    entry, tmp = web.seeded.entry, web.app.settings.paths.data_dir
    early = NOW - timedelta(hours=1)  # 09:00 local
    complaint = register_complaint(s, s.get_one(LogEntry, entry))
    clerk = web.seeded.clerk
    letter = letters.draft(
        s, complaint, "关于楼道卫生的回复", "……", clerk, early - timedelta(days=3)
    )
    heard = _outbound_call(s, "out-satisfied@test", early, tmp)
    bridged = _outbound_call(s, "out-letter@test", early + timedelta(minutes=5), tmp)
    return {
        "recording": heard,
        "letter_recording": bridged,
        "complaint": complaint.id,
        "satisfied": _task(
            s,
            TaskKind.FOLLOW_UP,
            "13800001111",
            early,
            entry_id=entry,
            state=TaskState.DONE,
            result="satisfied",
            last_attempt="answered",
            attempts_left=2,
            history=[_attempt(early, "out-satisfied@test", "answered")],
        ),
        "busy": _task(
            s,
            TaskKind.FOLLOW_UP,
            "13800002222",
            NOW + timedelta(hours=1),
            entry_id=entry,
            last_attempt="busy",
            attempts_left=2,
            history=[_attempt(early, None, "busy")],
        ),
        "planned": _task(s, TaskKind.FOLLOW_UP, "13800003333", NOW + timedelta(hours=5)),
        "letter": _task(
            s,
            TaskKind.LETTER_CONFIRMATION,
            "13800004444",
            early,
            letter_id=letter.id,
            state=TaskState.DONE,
            result="clerk",
            last_attempt="answered",
            attempts_left=2,
            history=[
                _attempt(
                    early + timedelta(minutes=5), "out-letter@test", "answered", put_through=True
                )
            ],
        ),
        "reached": _task(
            s,
            TaskKind.CALL_BACK,
            "13900001111",
            early,
            entry_id=web.seeded.missed_entry,
            state=TaskState.DONE,
            result="reached",
            last_attempt="answered",
            attempts_left=2,
            history=[_attempt(early + timedelta(minutes=9), None, "answered")],
        ),
        "gave_up": _task(
            s,
            TaskKind.CALL_BACK,
            "13900002222",
            early,
            state=TaskState.GAVE_UP,
            last_attempt="no_answer",
            attempts_left=0,
            history=[_attempt(early + timedelta(minutes=m), None, "no_answer") for m in (1, 31)],
        ),
        "yesterday": _task(
            s,
            TaskKind.FOLLOW_UP,
            "13800005555",
            early - timedelta(days=1),
            entry_id=entry,
            state=TaskState.DONE,
            result="not_fixed",
            last_attempt="answered",
            history=[_attempt(early - timedelta(days=1), None, "answered")],
        ),
    }


def _row(page: str, task_id: int) -> str:
    match = re.search(rf'<tr id="task-{task_id}"[^>]*>(.*?)</tr>', page, re.S)
    assert match, f"task {task_id} not on the page"
    return match.group(0)


def _counts(page: str, kind: str) -> tuple[str, str]:
    match = re.search(
        rf'<tr data-kind="{kind}"><td>[^<]*</td><td class="planned">(\d+)</td>'
        rf'<td class="reached">(\d+)</td>',
        page,
    )
    assert match, kind
    return match.group(1), match.group(2)


def test_a_supervisor_sees_the_days_calls_per_kind_with_results_links_and_counts(
    day: tuple[Desk, dict[str, int]],
) -> None:
    web, tasks = day
    assert web.login("supervisor") == 302
    response = web.client.get(f"/outbound/?day={DAY}")
    assert response.status_code == 200
    page = response.text
    assert "外呼" in page  # the page is in the supervisor's language (Simplified Chinese)
    # Counts per kind: planned (on the day's plan), reached.
    assert _counts(page, "follow_up") == ("3", "1")
    assert _counts(page, "letter_confirmation") == ("1", "1")
    assert _counts(page, "call_back") == ("2", "1")
    satisfied = _row(page, tasks["satisfied"])
    assert "13800001111" in satisfied, "a supervisor sees the full number"
    assert "满意" in satisfied and "2026-11-23 09:00" in satisfied
    assert f'href="/entries/{web.seeded.entry}"' in satisfied
    assert f'href="/entries/recordings/{tasks["recording"]}/audio"' in satisfied
    busy = _row(page, tasks["busy"])
    assert 'data-outcome="busy"' in busy and "占线" in busy
    assert "2026-11-23 11:00" in busy, "tried again at 11:00"
    assert 'data-outcome="planned"' in _row(page, tasks["planned"])
    letter = _row(page, tasks["letter"])
    assert 'data-outcome="put_through"' in letter and "转接" in letter
    assert f'href="/complaints/{tasks["complaint"]}' in letter
    assert f"/entries/recordings/{tasks['letter_recording']}/audio" in letter
    assert 'data-outcome="reached"' in _row(page, tasks["reached"])
    gave_up = _row(page, tasks["gave_up"])
    assert 'data-outcome="no_answer"' in gave_up and gave_up.count("无人接听") == 3  # 2 + result
    assert f'id="task-{tasks["yesterday"]}"' not in page, "yesterday's call is not today's"


def test_another_day_shows_that_days_calls(day: tuple[Desk, dict[str, int]]) -> None:
    web, tasks = day
    web.login("supervisor")
    page = web.client.get("/outbound/?day=2026-11-22").text
    assert 'data-outcome="not_fixed"' in _row(page, tasks["yesterday"])
    assert f'id="task-{tasks["satisfied"]}"' not in page
    assert f'id="task-{tasks["planned"]}"' not in page, "still waiting: today's, not yesterday's"


def test_a_clerk_sees_masked_numbers_and_a_bad_day_is_refused(
    day: tuple[Desk, dict[str, int]],
) -> None:
    web, tasks = day
    web.login("clerk")
    page = web.client.get("/outbound/").text  # today by default
    assert "13800001111" not in _row(page, tasks["satisfied"])
    with web.app.sessions() as s:
        before = s.scalar(select(func.count()).select_from(OutboundTask))
    assert web.client.get("/outbound/?day=23-11-2026").status_code == 400
    with web.app.sessions() as s:  # nothing changed by the refused request
        assert s.scalar(select(func.count()).select_from(OutboundTask)) == before
    web.client.post("/logout", data={"csrf_token": web.token("/")})
    assert web.client.get("/outbound/").status_code == 302
