"""The shipped phone script as the seeds ask for it, heard call by call (the
simulated call flow plays the real script): the contact number asked for, 报号
after hours too, one instruction to leave a message, no open question before a key
menu, no word said twice in a row of prompts."""

from __future__ import annotations

import pytest

from hotline.content import Content, load_content
from hotline.settings import Settings
from ivr.flow import CallContext
from ivr.flow_config import FlowConfig, load_flow
from tests.support.flow import CLERKS, SimulatedCall
from transcripts.compliance import check_agent_call


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(Settings())


@pytest.fixture(scope="module")
def flow(content: Content) -> FlowConfig:
    return load_flow(Settings(), content)


def _until_recording(c: SimulatedCall) -> list[str]:
    """The texts the caller heard before the message beep."""
    assert c.media.recording
    return c.media.texts()


def test_the_message_prompt_asks_for_a_contact_number(flow: FlowConfig, content: Content) -> None:
    """Seed 000 1.4.5 (姓名和联络电话); seed 001 篇2 3.1.3 (须请客户留下电话号码)."""
    c = SimulatedCall(flow, content).answer()
    c.media.press("1")
    ask = _until_recording(c)[-1]
    assert ask == "请在提示音后说出您的姓氏、房号、联系电话和需要办理的事项，说完请按井号键结束。"


@pytest.mark.parametrize("steps", [[3.0], ["9", 30.0]], ids=["no-key", "on-call-rings-out"])
def test_after_hours_one_instruction_to_leave_a_message(
    flow: FlowConfig, content: Content, steps: list[str | float]
) -> None:
    c = SimulatedCall(flow, content, context=CallContext(after_hours=True, vad=True)).answer()
    for step in steps:
        if isinstance(step, float):
            c.wait(step)
        else:
            c.media.press(step)
    heard = _until_recording(c)
    instructions = [t for t in heard if "留言" in t or "提示音后" in t]
    assert instructions == [content.prompt("ask_details")], heard


def test_when_nobody_answers_one_instruction_to_leave_a_message(
    flow: FlowConfig, content: Content
) -> None:
    c = SimulatedCall(flow, content, roster=CLERKS[:1]).answer()
    c.media.press("0")
    c.wait(flow.person.ring_timeout_s)  # the one clerk on duty does not answer
    heard = _until_recording(c)
    assert c.media.played()[-2:] == ["clerk_unavailable", "ask_details"]
    assert [t for t in heard if "留言" in t or "提示音后" in t] == [content.prompt("ask_details")]


def test_after_hours_the_job_number_is_announced_and_it_is_non_working_time(
    content: Content,
) -> None:
    """报号 in every opening (客服中心接待岗位工作质量标准 2); 非工作时间, the company word."""
    after = content.prompt("after_hours")
    assert after.startswith("您好，幸福家园物业服务中心，8001号话务员为您服务。")
    assert "现在是非工作时间" in after and "08:00至18:00" in after
    every = [*content.script.prompts.values(), *content.script.closing.values()]
    assert not [t for t in every if "下班时间" in t]
    played = [after, content.prompt("after_hours_closing")]
    report = check_agent_call(played, True, "幸福家园物业服务中心", content.compliance)
    assert report.checks["staff_id"] and report.checks["offer_help"] and report.checks["closing"]


def test_no_open_question_right_before_a_key_menu(flow: FlowConfig, content: Content) -> None:
    c = SimulatedCall(flow, content).answer()
    assert c.media.played() == ["greeting", "menu"]
    before_menu = c.media.texts()[0]
    assert not before_menu.endswith("？") and "有什么可以帮" not in before_menu
    night = SimulatedCall(flow, content, context=CallContext(after_hours=True)).answer()
    assert "？" not in night.media.texts()[0]  # the after-hours prompt is itself a key menu


def test_no_thanks_or_record_said_twice_in_a_row(flow: FlowConfig, content: Content) -> None:
    repair = content.closing("repair")
    assert repair.count("谢谢") == 1 and repair.endswith("再见。")
    c = SimulatedCall(flow, content, context=CallContext(after_hours=True, vad=True)).answer()
    c.wait(3.0)
    c.wait(5.0)  # silence ends the message
    confirm, closing = c.media.texts()[-2:]
    assert "已经为您记录" in confirm and "记录" not in closing
