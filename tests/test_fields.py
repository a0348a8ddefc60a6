"""A reception-log entry filled from a call's text: deadlines, summary, review flag, keys."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from hotline.content import Content, load_content
from hotline.settings import Settings
from recorder.models import FieldSource, LogEntry, Urgency
from recorder.reception_log import new_entry
from transcripts.fields import NO_SPEECH, fill_entry

# 2026-11-24 01:30 in Shanghai: the follow-up date counts from the local date.
RECEIVED = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)
JSON_KEYS = {"category", "category_label", "urgency", "surname", "unit", "phone", "summary"}


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(Settings())


@pytest.mark.parametrize(
    ("said", "category", "urgency", "reply_minutes", "follow_up"),
    [
        # 首问责任制培训细则 1.4.5 (ten minutes) and 1.4.3.6.2 (safety two days,
        # leaks three days, other repairs within a week)
        ("电梯 坏 了 困 人", "repair", "safety", 10, date(2026, 11, 26)),
        ("卫生间 漏水 了", "repair", "leak", 10, date(2026, 11, 27)),
        ("灯 不 亮 了", "repair", "normal", 10, date(2026, 12, 1)),
        # 1.4.4.3: a complaint answered within 8 hours, remedied within three days
        ("我 要 投诉 报修 一直 没 修", "complaint", "normal", 480, date(2026, 11, 27)),
        ("我 要 投诉 漏水 报修 一直 没 修", "complaint", "leak", 480, date(2026, 11, 27)),
        ("请问 物业费 怎么 交", "inquiry", "normal", 60, date(2026, 11, 26)),
    ],
)
def test_deadlines_follow_the_seed_rules(
    content: Content, said: str, category: str, urgency: str, reply_minutes: int, follow_up: date
) -> None:
    fields = fill_entry(said, content, RECEIVED)
    assert (fields.category, fields.urgency) == (category, urgency)
    assert (fields.promised_reply_at - RECEIVED).total_seconds() == reply_minutes * 60
    assert fields.follow_up_due == follow_up


@pytest.mark.parametrize("said", ["", "   ", "喂 喂 听 得 到 吗", "嗯 啊 那个"])
def test_nothing_usable_is_flagged_for_a_clerk(content: Content, said: str) -> None:
    fields = fill_entry(said, content, RECEIVED)
    assert (fields.category, fields.needs_review) == ("other", True)
    if not said.strip():
        assert fields.summary == NO_SPEECH


def test_a_surname_alone_is_enough_to_skip_review(content: Content) -> None:
    fields = fill_entry("喂 我 姓 王 算 了 没 事 了", content, RECEIVED)
    assert (fields.category, fields.surname, fields.needs_review) == ("other", "王", False)


def test_summaries_drop_fillers_and_stay_short(content: Content) -> None:
    fields = fill_entry("喂 你好 嗯 那个 就是 我 家 " + "水管 漏水 " * 20, content, RECEIVED)
    assert fields.summary.startswith("我家水管漏水") and len(fields.summary) == 60
    assert fields.raw_text.startswith("喂 你好") and fields.clean_text.startswith("喂你好嗯")


def test_times_and_departments_are_kept(content: Content) -> None:
    fields = fill_entry("帮 我 转告 工程部 的 李 师傅 明天 上午 十 点 我 在 家", content, RECEIVED)
    assert fields.category == "message"
    assert fields.times == ["明天上午10点"] and "工程部" in fields.departments


def test_json_has_exactly_the_cli_contract_keys(content: Content) -> None:
    assert set(fill_entry("三 栋 灯 坏 了", content, RECEIVED).as_json()) == JSON_KEYS
    assert fill_entry("", content, RECEIVED).as_json()["surname"] is None


class Fallback:
    """A fake learned model (unit test): the same answer where the rules found nothing, and
    over the rules' answer too when `sure`; or none."""

    def __init__(self, answer: str | None, sure: bool = False) -> None:
        self.answer, self.sure = answer, sure
        self.asked: list[tuple[str, bool]] = []

    def predict(self, clean_text: str, no_evidence: bool) -> str | None:
        self.asked.append((clean_text, no_evidence))
        return self.answer if no_evidence or self.sure else None


def test_the_learned_model_answers_where_the_rules_find_nothing(content: Content) -> None:
    praise = Fallback("praise")
    # the rules found a repair, or a wrong number (打错了 is evidence for `other`): they decide
    assert fill_entry("灯 不 亮 了", content, RECEIVED, learned=praise).category == "repair"
    assert fill_entry("不好意思 打错了", content, RECEIVED, learned=praise).category == "other"
    assert praise.asked == [("灯不亮了", False), ("不好意思打错了", False)]  # told so
    fields = fill_entry("那个 你们 小区 真 是 没得 说", content, RECEIVED, learned=praise)
    assert (fields.category, fields.category_label, fields.urgency) == ("praise", "表扬", "normal")
    assert fields.needs_review is False
    # a repair answered by the model gets its urgency from the same words (煤气: safety)
    repair = fill_entry("家里 一股 煤气 的 味道", content, RECEIVED, learned=Fallback("repair"))
    assert (repair.category, repair.urgency, repair.dispatch_department) == (
        "repair",
        "safety",
        "工程部",
    )
    # an unsure model (None) leaves the rules' `other`, flagged for a clerk
    unsure = fill_entry("那个 你们 小区 真 是 没得 说", content, RECEIVED, learned=Fallback(None))
    assert (unsure.category, unsure.needs_review) == ("other", True)
    # English lines (with the English model): asked only where the English rules found nothing
    english = Fallback("praise")
    assert fill_entry("the lift is broken", content, RECEIVED, "en", learned=english).category == (
        "repair"
    )
    assert english.asked == []
    said = fill_entry(
        "the guy who mowed the grass did a lovely job", content, RECEIVED, "en", english
    )
    assert said.category == "praise" and english.asked == [
        ("the guy who mowed the grass did a lovely job", True)
    ]


def test_a_sure_model_answers_over_the_rules(content: Content) -> None:
    """transcripts.learned.answer: where the model is sure it is taken over the rules' answer;
    the urgency then follows the model's category (a complaint about a lift: safety)."""
    assert fill_entry("五 号楼 电梯 坏 了", content, RECEIVED).category == "repair"
    sure = Fallback("complaint", sure=True)
    fields = fill_entry("五 号楼 电梯 坏 了", content, RECEIVED, learned=sure)
    assert (fields.category, fields.urgency) == ("complaint", "safety")
    assert sure.asked == [("五号楼电梯坏了", False)]


def test_log_values_make_a_real_entry(
    content: Content, sqlite_sessions: sessionmaker[Session]
) -> None:
    fields = fill_entry("我 姓 王 三 栋 二 单元 五 零 一 卫生间 漏水 了", content, RECEIVED)
    with sqlite_sessions.begin() as session:
        values = {**fields.as_log_values(), "received_at": RECEIVED}
        entry = new_entry(session, values, FieldSource.AUTO)
        session.flush()
        entry_id = entry.id
    with sqlite_sessions() as session:
        entry = session.get(LogEntry, entry_id)
        assert entry is not None
        assert (entry.category, entry.urgency, entry.unit) == (
            "repair",
            Urgency.LEAK,
            "3栋2单元501",
        )
        assert (entry.dispatch_department, entry.follow_up_due) == ("工程部", date(2026, 11, 27))
        assert entry.needs_review is False


def test_a_learned_category_the_rules_no_longer_have_is_ignored(content: Content) -> None:
    stale = Fallback("parking")
    assert fill_entry("嗯 那个 说 一下", content, RECEIVED, learned=stale).category == "other"
    assert stale.asked == [("嗯那个说一下", True)]


@pytest.mark.parametrize(
    ("said", "category", "urgency"),
    [
        # Round 10 English, in words held-out9 does not hold: gas hissing or smelt, water
        # pouring from a split hose or running down a wall, something leaning over people.
        ("The boiler cupboard smells of gas and the pipe is hissing", "repair", "safety"),
        (
            "The washing machine hose has split and water is pouring across the floor",
            "repair",
            "leak",
        ),
        ("A burst pipe upstairs and water is running down my hallway", "repair", "leak"),
        (
            "The notice board is cracked and leaning forward it could hit a child",
            "repair",
            "safety",
        ),
        # Staff who pass it off, a fee paid for nothing: complaints.
        ("The sauna has been shut all winter and we still pay for it", "complaint", "normal"),
        ("The guards say the dumped sofa is not their job", "complaint", "normal"),
        # "who I should send it to" asks; paid favours at the desk; the press is an outsider.
        ("I'd like to know who I should send my parking permit form to", "inquiry", "normal"),
        (
            "Could you print a parking notice for my visitor I'm happy to pay",
            "convenience",
            "normal",
        ),
        ("This is a journalist from the local radio station", "other", "normal"),
    ],
)
def test_round_ten_english(content: Content, said: str, category: str, urgency: str) -> None:
    got = fill_entry(said, content, RECEIVED, "en")
    assert (got.category, got.urgency) == (category, urgency)


@pytest.mark.parametrize(
    ("said", "category", "urgency"),
    [
        # Round 11 English, in words held-out10 does not hold: broken glass where people pass
        # and a smoke alarm that goes off for nothing are safety; a lift named as a place (the
        # lift lobby, beside the lifts) raises nothing, so water there stays a leak.
        (
            "The bus shelter panel shattered and broken glass is all over the path",
            "repair",
            "safety",
        ),
        ("My smoke alarm keeps going off in the night for no reason", "repair", "safety"),
        ("Rain is dripping onto the floor in the lift lobby on level 2", "repair", "leak"),
        ("The bench beside the lifts lost its armrest", "repair", "normal"),
        ("The radiator goes cold every evening", "repair", "normal"),
        # Charged above the list, rung again and again: complaints (seed 000 1.4.4.3).
        ("The cleaner charged me double and nobody warned me", "complaint", "normal"),
        ("I have rung three times about the gate and heard nothing", "complaint", "normal"),
        # Praise for a difference made, a sign the estate could put up, where to take things.
        ("The new ramp has made a real difference for my mother", "praise", "normal"),
        ("Could you put up a no parking sign by the bins", "suggestion", "normal"),
        ("Is there somewhere I can leave old paint tins", "inquiry", "normal"),
    ],
)
def test_round_eleven_english(content: Content, said: str, category: str, urgency: str) -> None:
    got = fill_entry(said, content, RECEIVED, "en")
    assert (got.category, got.urgency) == (category, urgency)
