"""The call flow, path by path: menu, message taking, transfer, after hours, hang-ups."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hotline.content import Content, load_content
from hotline.settings import Settings
from ivr.flow import CallContext, Stage
from ivr.flow_config import FlowConfig, load_flow
from ivr.flow_events import (
    Answered,
    Digit,
    FarEndAnswered,
    HungUp,
    PromptFinished,
    RecordingFinished,
    Silence,
    SpeechStarted,
    SpeechStopped,
)
from ivr.flow_runner import call_disposition
from tests.support.flow import SimulatedCall


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(Settings())


@pytest.fixture(scope="module")
def flow(content: Content) -> FlowConfig:
    return load_flow(Settings(), content)


@pytest.fixture
def call(flow: FlowConfig, content: Content) -> Callable[..., SimulatedCall]:
    def make(**kwargs: object) -> SimulatedCall:
        return SimulatedCall(flow, content, **kwargs)  # type: ignore[arg-type]

    return make


# ------------------------------------------------------------------- menu


@pytest.mark.parametrize(
    ("digit", "category", "closing", "promise", "minutes"),
    [
        ("1", "repair", "closing.repair", "十分钟内", 10),  # 首问责任制培训细则 1.4.5
        ("2", "complaint", "closing.complaint", "8小时内", 480),  # 1.4.4.3
        ("3", "inquiry", "closing.default", "尽快", 60),
    ],
)
def test_menu_choice_takes_a_message_and_closes_with_the_promise(
    call: Callable[..., SimulatedCall],
    digit: str,
    category: str,
    closing: str,
    promise: str,
    minutes: int,
) -> None:
    c = call().answer()
    assert c.media.played() == ["greeting", "menu"]
    c.media.press(digit)
    c.media.press("#")
    assert c.media.played() == ["greeting", "menu", "ask_details", "confirm", closing]
    assert c.kinds()[2:] == [
        "play",
        "beep",
        "start_recording",
        "stop_recording",
        "beep",
        "play",
        "play",
        "hangup",
    ]
    last = c.media.texts()[-1]
    assert promise in last and "谢谢" in last and last.endswith("再见。")
    assert {k: c.outcome[k] for k in ("menu_digit", "route", "category", "message_end")} == {
        "menu_digit": digit,
        "route": "message",
        "category": category,
        "message_end": "digit",
    }
    assert c.outcome["promised_reply_minutes"] == minutes
    assert c.outcome["ended_in"] == "closing" and c.outcome["hangup_by"] == "agent"
    assert call_disposition(c.outcome) == "answered"
    assert c.done and c.clock.pending() == 0


def test_greeting_announces_the_job_number_and_offers_help(
    call: Callable[..., SimulatedCall], content: Content
) -> None:
    c = call().answer()
    greeting = c.media.texts()[0]
    assert greeting.startswith("您好，幸福家园物业服务中心，8001号")  # 报号
    assert any(offer in greeting for offer in content.compliance.offer_help)  # 为您服务
    # The key menu comes next: no open question (请问有什么可以帮您？) before it.
    assert "？" not in greeting and "请问" not in greeting
    assert c.media.played() == ["greeting", "menu"]


@pytest.mark.parametrize(
    ("steps", "prompts", "route"),
    [
        (["7", "2"], ["invalid", "menu", "ask_details"], "message"),
        (["7", "8"], ["invalid", "menu", "transfer"], "person"),  # twice invalid: as 0
        ([6.0, "1"], ["no_input", "menu", "ask_details"], "message"),
        ([6.0, 6.0], ["no_input", "menu", "transfer"], "person"),  # twice nothing: as 0
        ([6.0, "*"], ["no_input", "menu", "transfer"], "person"),
        (["5", 5.9, 0.2], ["invalid", "menu", "transfer"], "person"),
    ],
)
def test_invalid_or_no_key_asks_once_more_then_means_zero(
    call: Callable[..., SimulatedCall], steps: list[str | float], prompts: list[str], route: str
) -> None:
    c = call().answer()
    for step in steps:
        if isinstance(step, str):
            c.media.press(step)
        else:
            c.wait(step)
    assert c.media.played()[2:] == prompts
    assert c.outcome["route"] == route
    assert c.outcome.get("menu_fallback", False) is (route == "person")
    if route == "person":
        assert c.media.dialled()[0][1] == "sip:8101@127.0.0.1:5060"


def test_the_menu_waits_its_timeout_before_asking_again(call: Callable[..., SimulatedCall]) -> None:
    c = call().answer()
    c.wait(5.9)
    assert c.media.played() == ["greeting", "menu"]
    c.wait(0.2)
    assert c.media.played() == ["greeting", "menu", "no_input", "menu"]


def test_a_key_during_the_menu_stops_it_and_a_late_finish_is_ignored(
    call: Callable[..., SimulatedCall],
) -> None:
    c = call(auto_finish=False).answer()
    c.media.press("3")  # during the greeting: it is heard in full (报号)
    assert c.media.played() == ["greeting"]
    c.media.finish_prompt()
    c.media.press("1")  # barges into the menu
    assert c.kinds()[-2:] == ["stop_playing", "play"]
    assert c.media.played()[-1] == "ask_details"
    c.feed(PromptFinished("menu"))  # the adapter's late report
    assert c.media.played()[-1] == "ask_details" and not c.media.recording
    c.media.finish_prompt()
    assert c.media.recording


# ---------------------------------------------------------- message taking


def _recording(c: SimulatedCall) -> None:
    c.answer()
    c.media.press("1")
    assert c.media.recording


@pytest.mark.parametrize(
    ("events", "end", "stopped_by_flow"),
    [
        ([Digit("#")], "digit", True),
        ([5.0], "silence", True),  # nobody speaks after the beep
        ([Silence(5.0)], "silence", True),  # the adapter's VAD counted it
        ([SpeechStarted(), 30.0, SpeechStopped(), 5.0], "silence", True),
        ([SpeechStarted(), 120.0], "max_length", True),
        ([SpeechStarted(), 60.0, SpeechStopped(), 4.0, SpeechStarted(), 56.0], "max_length", True),
        ([RecordingFinished("disk_full")], "disk_full", False),
    ],
)
def test_a_message_ends_by_key_silence_or_length(
    call: Callable[..., SimulatedCall],
    events: list[object],
    end: str,
    stopped_by_flow: bool,
) -> None:
    c = call()
    _recording(c)
    for event in events:
        if isinstance(event, float):
            c.wait(event)
        else:
            if isinstance(event, RecordingFinished):
                c.media.recording = False  # the recorder stopped by itself
            c.feed(event)  # type: ignore[arg-type]
    assert c.outcome["message_end"] == end
    assert (
        ("stop_recording",) in c.media.log
        if stopped_by_flow
        else ("stop_recording",) not in c.media.log
    )
    assert c.media.played()[-2:] == ["confirm", "closing.repair"]
    assert c.kinds().count("beep") == 2  # "speak now" and the confirmation
    assert c.done and c.clock.pending() == 0


@pytest.mark.parametrize(
    "events",
    [[Silence(4.9)], [Digit("1"), Digit("*")], [SpeechStarted(), 10.0], [4.9]],
)
def test_a_message_goes_on_while_the_caller_talks(
    call: Callable[..., SimulatedCall], events: list[object]
) -> None:
    c = call()
    _recording(c)
    for event in events:
        c.wait(event) if isinstance(event, float) else c.feed(event)  # type: ignore[arg-type]
    assert c.media.recording and "message_end" not in c.outcome


# ---------------------------------------------------------------- hang-ups


def _to(stage: str) -> Callable[[SimulatedCall], None]:
    def ringing(c: SimulatedCall) -> None:
        return None

    def greeting(c: SimulatedCall) -> None:
        c.feed(Answered())

    def menu(c: SimulatedCall) -> None:
        greeting(c)
        c.media.finish_prompt()
        c.media.finish_prompt()

    def message(c: SimulatedCall) -> None:
        menu(c)
        c.media.press("2")

    def recording(c: SimulatedCall) -> None:
        message(c)
        c.media.finish_prompt()

    def dialling(c: SimulatedCall) -> None:
        menu(c)
        c.media.press("0")
        c.media.finish_prompt()

    def bridged(c: SimulatedCall) -> None:
        dialling(c)
        c.media.answer(c.media.ringing_leg())

    def closing(c: SimulatedCall) -> None:
        recording(c)
        c.media.press("#")

    return locals()[stage]


@pytest.mark.parametrize(
    ("reach", "ended_in", "after", "disposition"),
    [
        ("ringing", "ringing", [], "abandoned"),
        ("greeting", "greeting", [], "abandoned"),
        ("menu", "menu", [], "abandoned"),
        ("message", "message", [], "abandoned"),  # during the question: nothing recorded
        ("recording", "message", ["stop_recording"], "answered"),  # the message is kept
        ("dialling", "bridge", ["drop_leg"], "abandoned"),
        ("bridged", "bridge", ["drop_leg"], "answered"),
        ("closing", "closing", [], "answered"),
    ],
)
def test_a_hang_up_anywhere_records_where_the_call_ended(
    call: Callable[..., SimulatedCall],
    reach: str,
    ended_in: str,
    after: list[str],
    disposition: str,
) -> None:
    c = call(auto_finish=False)
    _to(reach)(c)
    before = len(c.media.log)
    c.media.hang_up("caller")
    assert c.outcome["ended_in"] == ended_in and c.outcome["hangup_by"] == "caller"
    assert call_disposition(c.outcome) == disposition
    tail = [entry[0] for entry in c.media.log[before:]]
    for kind in after:
        assert kind in tail
    assert "hangup" not in tail  # the caller is gone already
    assert c.done and c.clock.pending() == 0 and not c.media.recording
    if reach == "recording":
        assert c.outcome["message_end"] == "hangup"  # the message is kept
    c.media.press("1")
    c.wait(300)
    assert len(c.media.log) == before + len(tail)  # nothing happens after the end


def test_a_hang_up_after_hours_records_after_hours(call: Callable[..., SimulatedCall]) -> None:
    c = call(context=CallContext(after_hours=True, vad=True), auto_finish=False).answer()
    c.media.hang_up("caller")
    assert c.outcome["ended_in"] == "after_hours" and c.outcome["after_hours"] is True


def test_the_machine_ignores_everything_after_the_end(flow: FlowConfig, content: Content) -> None:
    c = SimulatedCall(flow, content).answer()
    c.media.hang_up()
    machine = c.machine
    assert machine.ended and machine.stage is Stage.MENU
    for event in (Answered(), Digit("1"), FarEndAnswered("leg-1"), HungUp("caller")):
        assert machine.handle(event) == []


def test_a_site_may_let_keys_cut_the_greeting_short(flow: FlowConfig, content: Content) -> None:
    site = flow.model_copy(update={"greeting": flow.greeting.model_copy(update={"barge_in": True})})
    c = SimulatedCall(site, content, auto_finish=False).answer()
    c.media.press("2")
    assert c.kinds()[-2:] == ["stop_playing", "play"] and c.media.played()[-1] == "ask_details"
    assert c.outcome["category"] == "complaint" and c.machine.stage is Stage.MESSAGE


def test_without_a_vad_the_flow_never_cuts_a_caller_off_for_silence(
    flow: FlowConfig, content: Content
) -> None:
    c = SimulatedCall(flow, content, context=CallContext(vad=False)).answer()
    c.media.press("1")
    assert c.media.log[-1] == ("start_recording", 120.0, 5.0, "#")  # the recorder's own limits
    c.wait(60.0)  # a long message, nothing heard by the flow
    assert c.media.recording
    c.feed(Silence(5.0))  # the recorder measured the silence
    assert c.outcome["message_end"] == "silence"


def test_without_a_vad_a_message_still_ends_at_its_maximum(
    flow: FlowConfig, content: Content
) -> None:
    c = SimulatedCall(flow, content, context=CallContext(vad=False)).answer()
    c.media.press("1")
    c.wait(120.0)
    assert c.outcome["message_end"] == "max_length" and c.done
