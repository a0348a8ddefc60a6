"""What a call to an estate is answered with (issue 23), without a phone: the estate's
name and hours in the company's script, its own script checked as the company's is,
its hours deciding after hours; and the company answering when the lookup fails."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline.content import load_content
from hotline.errors import ConfigError
from hotline.estates import estate_content
from hotline.settings import CONFIG_DIR, Settings
from ivr.estates import EstateCall, answer_with
from ivr.phone_fake import FakeCall
from ivr.schedule import Schedule
from recorder.estates import Estate

#: 10:00 in Shanghai on a Monday.
MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _estate(**values: object) -> Estate:
    return Estate(**{"code": "LY", "name": "绿园小区", **values})


def test_the_estate_s_name_and_hours_fill_the_company_s_script() -> None:
    settings = Settings()
    content = load_content(settings)
    made = estate_content(settings, content, _estate(opening_hours="13:00-17:00"))
    assert made.content.prompt("greeting").startswith("您好，绿园小区，")
    assert "13:00至17:00" in made.content.prompt("after_hours")
    company = estate_content(settings, content, _estate(name="", opening_hours=None))
    assert company.content.prompt("greeting") == content.prompt("greeting")  # the company's
    assert company.schedule == Schedule.from_settings(settings.organization)
    # The company's content is untouched.
    assert "绿园" not in content.prompt("greeting")


def test_an_estate_s_own_script_is_checked_like_the_company_s(tmp_path: Path) -> None:
    settings = Settings()
    content = load_content(settings)
    own = tmp_path / "scripts" / "ly.toml"
    own.parent.mkdir()
    text = (CONFIG_DIR / "scripts" / "zh-CN.toml").read_text(encoding="utf-8")
    own.write_text(text.replace('greeting = "您好，', 'greeting = "喂，'), encoding="utf-8")
    with pytest.raises(ConfigError, match="greeting contains the forbidden phrase"):
        estate_content(settings, content, _estate(script="scripts/ly.toml"), tmp_path)


def test_the_estate_s_hours_decide_after_hours_and_a_failed_lookup_leaves_the_company(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings()
    content = load_content(settings)
    schedule = Schedule.from_settings(settings.organization)  # 08:00-18:00 every day
    closed = estate_content(settings, content, _estate(opening_hours="13:00-17:00"))
    call = FakeCall("c-ly")
    call.called = "02088880002"
    caplog.set_level(logging.INFO, logger="ivr.estates")

    def lookup(_called: str | None) -> EstateCall:
        return closed

    said, context = answer_with(lookup, call, content, schedule, MONDAY_10)
    assert context.after_hours and said.prompt("greeting").startswith("您好，绿园小区")
    assert "called 02088880002: estate LY, after hours" in caplog.text

    def broken(_called: str | None) -> EstateCall:
        raise ConnectionError("database away")

    said, context = answer_with(broken, call, content, schedule, MONDAY_10)
    assert not context.after_hours and said is content  # the company answers, open at 10:00
    assert "estate (company), open" in caplog.text
