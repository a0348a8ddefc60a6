"""The transfer to the duty roster (0), the on-call engineer after hours (9), and
where a message goes when nobody answers (首问责任制)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from hotline.content import Content, load_content
from hotline.settings import OrganizationSettings, Settings
from ivr.flow import CallContext
from ivr.flow_config import Choice, FlowConfig, load_flow
from ivr.flow_events import FarEndAnswered
from ivr.flow_runner import call_context, roster_clerks
from ivr.schedule import Schedule
from recorder.models import Role
from recorder.staff import add_user, duty_roster
from tests.support.flow import SimulatedCall


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(Settings())


@pytest.fixture(scope="module")
def flow(content: Content) -> FlowConfig:
    return load_flow(Settings(), content)


def dialling(flow: FlowConfig, content: Content, **kwargs: object) -> SimulatedCall:
    c = SimulatedCall(flow, content, **kwargs).answer()  # type: ignore[arg-type]
    c.media.press("0")
    return c


def test_the_first_clerk_answers_and_is_bridged(flow: FlowConfig, content: Content) -> None:
    c = dialling(flow, content, context=CallContext(unit="3栋2单元501", vad=True))
    assert c.media.played()[-1] == "transfer"
    assert c.media.dialled() == [
        ("leg-1", "sip:8101@127.0.0.1:5060", "来电：人工服务，3栋2单元501")
    ]
    c.wait(4.0)
    c.media.answer("leg-1")
    assert c.media.bridged == "leg-1"
    assert c.outcome["answered_by_user_id"] == 1 and c.outcome["responsible_user_id"] == 1
    assert c.outcome["rings"] == [
        {
            "leg": "leg-1",
            "extension": "8101",
            "user_id": 1,
            "started_s": 0.0,
            "ring_s": 4.0,
            "result": "answered",
        }
    ]
    assert c.clock.pending() == 0  # the ring timer is gone
    c.media.hang_up("clerk")  # the clerk says goodbye and hangs up first
    assert c.media.played()[-1] == "closing.bridged" and c.media.texts()[-1].endswith("再见。")
    assert c.media.hung_up and c.outcome["ended_in"] == "closing"


@pytest.mark.parametrize(
    ("first", "result"),
    [
        ("busy", "busy"),
        ("no_answer", "no_answer"),
        ("timeout", "no_answer"),
        ("clerk", "no_answer"),
    ],
)
def test_a_busy_or_silent_clerk_passes_to_the_next(
    flow: FlowConfig, content: Content, first: str, result: str
) -> None:
    c = dialling(flow, content)
    if first == "timeout":
        c.wait(20.0)
        assert ("drop_leg", "leg-1") in c.media.log
    elif first == "clerk":
        c.media.hang_up("clerk")  # rejected on the phone before answering
    else:
        getattr(c.media, first)("leg-1")
    assert [d[1] for d in c.media.dialled()] == [
        "sip:8101@127.0.0.1:5060",
        "sip:8102@127.0.0.1:5060",
    ]
    c.media.answer("leg-2")
    assert c.media.bridged == "leg-2"
    assert c.outcome["clerks_tried"] == [
        {"extension": "8101", "user_id": 1, "result": result},
        {"extension": "8102", "user_id": 2, "result": "answered"},
    ]
    assert c.outcome["responsible_user_id"] == 2


def test_nobody_answers_the_caller_leaves_a_message_owned_by_the_duty_clerk(
    flow: FlowConfig, content: Content
) -> None:
    c = dialling(flow, content)
    c.media.busy("leg-1")
    c.wait(20.0)  # 8102 rings out
    c.media.no_answer("leg-3")  # 8103 unreachable
    assert c.media.played()[-3:] == ["transfer", "clerk_unavailable", "ask_details"]
    assert c.media.recording
    c.media.press("#")
    assert c.media.played()[-1] == "closing.default" and c.media.hung_up
    out = c.outcome
    assert [t["result"] for t in out["clerks_tried"]] == ["busy", "no_answer", "no_answer"]
    assert out["category"] == "other" and out["responsible_user_id"] == 1  # 首问责任制
    assert "answered_by_user_id" not in out
    assert [r["ring_s"] for r in out["rings"]] == [0.0, 20.0, 0.0]


def test_a_clerk_answering_too_late_is_let_go(flow: FlowConfig, content: Content) -> None:
    c = dialling(flow, content)
    c.wait(20.0)
    c.feed(FarEndAnswered("leg-1"))  # the first clerk picks up as the call moves on
    assert c.media.log[-1] == ("drop_leg", "leg-1")
    assert c.media.bridged is None and c.media.ringing_leg() == "leg-2"


def test_an_empty_roster_goes_straight_to_a_message(flow: FlowConfig, content: Content) -> None:
    c = dialling(flow, content, roster=())
    assert c.media.played()[-2:] == ["clerk_unavailable", "ask_details"]
    assert c.media.dialled() == [] and "responsible_user_id" not in c.outcome


def test_the_whisper_names_the_category_and_unit_when_known(
    flow: FlowConfig, content: Content
) -> None:
    choices = {**flow.menu.choices, "1": Choice(action="person", category="repair")}
    site = flow.model_copy(update={"menu": flow.menu.model_copy(update={"choices": choices})})
    c = SimulatedCall(site, content, context=CallContext(unit="3栋1单元202", vad=True)).answer()
    c.media.press("1")
    assert c.media.dialled()[0][2] == "来电：报修，3栋1单元202"
    c.media.busy("leg-1")
    c.media.busy("leg-2")
    c.media.busy("leg-3")
    c.media.press("#")
    assert c.outcome["category"] == "repair" and c.media.played()[-1] == "closing.repair"


def test_the_roster_never_holds_staff_not_yet_independent(
    sqlite_sessions: sessionmaker[Session], flow: FlowConfig, content: Content
) -> None:
    with sqlite_sessions.begin() as s:
        add_user(s, "wang", "王芳", "1001", Role.CLERK, "password-1001", extension="8101")
        add_user(
            s,
            "newbie",
            "新同事",
            "1002",
            Role.CLERK,
            "password-1002",
            independent=False,
            extension="8102",
        )
        gone = add_user(s, "left", "离职", "1003", Role.CLERK, "password-1003", extension="8103")
        gone.active = False
        add_user(s, "office", "无分机", "1004", Role.SUPERVISOR, "password-1004")
        add_user(s, "li", "李强", "1005", Role.SUPERVISOR, "password-1005", extension="8105")
    with sqlite_sessions() as s:
        roster = roster_clerks(duty_roster(s))
        ids = {u.username: u.id for u in duty_roster(s)}
    assert [clerk.extension for clerk in roster] == ["8101", "8105"]
    c = dialling(flow, content, roster=roster)
    c.wait(20.0)
    c.wait(20.0)
    assert [d[1] for d in c.media.dialled()] == [
        "sip:8101@127.0.0.1:5060",
        "sip:8105@127.0.0.1:5060",
    ]
    assert c.outcome["responsible_user_id"] == ids["wang"]


# ---------------------------------------------------------------- after hours

EVENING = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)  # Monday 20:30 in Shanghai


@pytest.mark.parametrize(
    ("org", "at"),
    [
        (OrganizationSettings(), EVENING),
        (OrganizationSettings(holidays=["2026-10-01"]), datetime(2026, 10, 1, 2, 0, tzinfo=UTC)),
        (
            OrganizationSettings(working_days=[1, 2, 3, 4, 5]),
            datetime(2026, 11, 28, 2, 0, tzinfo=UTC),
        ),
    ],
    ids=["weekday-evening", "holiday", "weekend"],
)
def test_after_hours_the_on_call_engineer_is_on_9(
    flow: FlowConfig, content: Content, org: OrganizationSettings, at: datetime
) -> None:
    context = call_context(Schedule.from_settings(org), at)
    assert context.after_hours
    c = SimulatedCall(flow, content, context=context).answer()
    assert c.media.played() == ["after_hours"]
    assert "紧急情况请按9" in c.media.texts()[0]
    c.media.press("9")
    assert c.media.played()[-1] == "transfer_on_call"
    assert c.media.dialled() == [("leg-1", "sip:8100@127.0.0.1:5060", "非工作时间紧急来电：报修")]
    c.media.answer("leg-1")
    assert c.media.bridged == "leg-1" and c.outcome["route"] == "on_call"
    assert c.outcome["after_hours"] is True


def test_the_same_moment_in_opening_hours_gets_the_greeting(
    flow: FlowConfig, content: Content
) -> None:
    context = call_context(
        Schedule.from_settings(OrganizationSettings()), datetime(2026, 11, 23, 2, tzinfo=UTC)
    )
    assert not context.after_hours
    c = SimulatedCall(flow, content, context=context).answer()
    assert c.media.played() == ["greeting", "menu"]


@pytest.mark.parametrize(
    ("steps", "category"),
    [([3.0], "other"), (["1"], "other"), (["9", 30.0], "repair"), (["9", "busy"], "repair")],
    ids=["no-key", "other-key", "on-call-rings-out", "on-call-busy"],
)
def test_after_hours_otherwise_a_message_for_the_next_morning(
    flow: FlowConfig, content: Content, steps: list[str | float], category: str
) -> None:
    c = SimulatedCall(flow, content, context=CallContext(after_hours=True, vad=True)).answer()
    for step in steps:
        if isinstance(step, float):
            c.wait(step)
        elif step == "busy":
            c.media.busy("leg-1")
        else:
            c.media.press(step)
    assert c.media.played()[-1] == "ask_details" and c.media.recording
    c.wait(5.0)  # silence ends the message
    assert c.media.played()[-2:] == ["confirm", "after_hours_closing"]
    assert c.media.texts()[-1].endswith("再见。")
    out = c.outcome
    assert out["category"] == category and out["reply_after_opening"] is True
    assert "responsible_user_id" not in out  # the engineer is not a desk clerk
    assert c.media.hung_up and out["ended_in"] == "closing"


def test_no_on_call_engineer_configured_means_a_message(flow: FlowConfig, content: Content) -> None:
    site = flow.model_copy(update={"on_call": flow.on_call.model_copy(update={"extensions": []})})
    c = SimulatedCall(site, content, context=CallContext(after_hours=True, vad=True)).answer()
    c.media.press("9")
    assert c.media.played()[-2:] == ["on_call_unavailable", "ask_details"]
