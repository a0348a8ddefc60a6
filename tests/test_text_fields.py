"""Text to reception-log fields: cleaning, extraction, classification, deadlines, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from hotline.content import Content, load_content
from hotline.settings import Settings
from tests.labelled import DATA, FIELDS, utterances
from transcripts import extract, text
from transcripts.fields import NO_SPEECH, fill_entry
from transcripts.learned import TrainingError, read_labelled, train

# 2026-11-24 01:30 in Shanghai: the follow-up date counts from the local date.
RECEIVED = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(Settings())


@pytest.mark.parametrize(
    ("raw", "clean", "numeric"),
    [
        ("我 姓 王 三 栋 二 单元 五 零 一", "我姓王三栋二单元五零一", "我姓王3栋2单元501"),
        ("五 百 零 一 室", "五百零一室", "501室"),
        ("电话 幺 三 八 一 二 三 四 五 六 七 八", "电话幺三八一二三四五六七八", "电话13812345678"),
        ("  my   name is Mr Smith ", "my name is Mr Smith", "my name is Mr Smith"),
        ("", "", ""),
    ],
)
def test_cleaning_and_numbers(raw: str, clean: str, numeric: str) -> None:
    assert text.clean(raw) == clean
    assert text.numeric(clean) == numeric


def test_traditional_display() -> None:
    assert text.for_display("卫生间漏水了", "zh-TW") == "衛生間漏水了"
    assert text.for_display("卫生间漏水了", "zh-CN") == "卫生间漏水了"


@pytest.mark.parametrize(
    ("said", "surname"),
    [
        ("我姓王", "王"),
        ("免贵姓欧阳", "欧阳"),
        ("我是五栋的李女士", "李"),
        ("找一下你们经理我是陈先生", "陈"),
        ("姓张弓长张", "张"),
        ("我姓章立早章", "章"),
        ("维修师傅态度不好", None),
        ("我先生不在家", None),
        ("司马先生", "司马"),
        ("姓名不方便说", None),
    ],
)
def test_surnames(said: str, surname: str | None) -> None:
    assert extract.surname(said) == surname


@pytest.mark.parametrize(
    ("said", "unit"),
    [
        ("三栋二单元五零一", "3栋2单元501"),
        ("十二号楼一单元七百零二", "12栋1单元702"),
        ("十二栋", "12栋"),
        ("五幢三零二室", "5栋302"),
        ("二单元", "2单元"),
        ("我家在六零三室", "603室"),
        ("明天三点", None),
    ],
)
def test_units(said: str, unit: str | None) -> None:
    assert extract.unit(text.numeric(said)) == unit


@pytest.mark.parametrize(
    ("said", "phone"),
    [
        ("电话幺三八一二三四五六七八", "13812345678"),
        ("打零二一六二三四五六七八", "02162345678"),
        ("电话一二三四五", None),
        ("五零一室电话一三九零零零零一一一一", "13900001111"),
    ],
)
def test_phones(said: str, phone: str | None) -> None:
    assert extract.phone(text.numeric(said)) == phone


def test_times_and_departments() -> None:
    found = extract.extract(
        "明天下午三点找一下张经理工程部", text.numeric("明天下午三点找一下张经理工程部")
    )
    assert found.times == ["明天下午3点"]
    assert found.departments == ["工程部", "张经理"]


def test_the_labelled_set_meets_its_targets(content: Content) -> None:
    """>= 95 % on category, urgency, surname, unit and phone (issue 7's targets)."""
    items = utterances()
    assert len(items) >= 150
    right: Counter[str] = Counter()
    for item in items:
        got = fill_entry(item.text, content, RECEIVED, item.lang).as_json()
        right.update(name for name in FIELDS if got[name] == item.expected[name])
    accuracy = {name: right[name] / len(items) for name in FIELDS}
    assert all(value >= 0.95 for value in accuracy.values()), accuracy


@pytest.mark.parametrize(
    ("said", "category", "urgency", "reply_minutes", "follow_up"),
    [
        ("电梯 坏 了 困 人", "repair", "safety", 10, date(2026, 11, 26)),  # 两天内回访
        ("卫生间 漏水 了", "repair", "leak", 10, date(2026, 11, 27)),  # 三天内回访
        ("灯 不 亮 了", "repair", "normal", 10, date(2026, 12, 1)),  # 一星期之内
        (
            "我 要 投诉 报修 一直 没 修",
            "complaint",
            "normal",
            480,
            date(2026, 11, 27),
        ),  # 8 小时 / 三天
    ],
)
def test_deadlines_follow_the_seed_rules(
    content: Content, said: str, category: str, urgency: str, reply_minutes: int, follow_up: date
) -> None:
    fields = fill_entry(said, content, RECEIVED)
    assert (fields.category, fields.urgency) == (category, urgency)
    assert (fields.promised_reply_at - RECEIVED).total_seconds() == reply_minutes * 60
    assert fields.follow_up_due == follow_up


def test_an_empty_call_is_flagged_for_a_clerk(content: Content) -> None:
    fields = fill_entry("", content, RECEIVED)
    assert (fields.category, fields.summary, fields.needs_review) == ("other", NO_SPEECH, True)
    nothing = fill_entry("喂 喂 听 得 到 吗", content, RECEIVED)
    assert nothing.category == "other" and nothing.needs_review
    values = fill_entry("三 栋 灯 坏 了", content, RECEIVED).as_log_values()
    assert values["needs_review"] is False and values["dispatch_department"] == "工程部"


def test_summaries_drop_fillers_and_stay_short(content: Content) -> None:
    fields = fill_entry("喂 你好 嗯 那个 就是 我 家 " + "水管 漏水 " * 20, content, RECEIVED)
    assert fields.summary.startswith("我家水管漏水") and len(fields.summary) == 60
    assert fields.raw_text.startswith("喂 你好")


def test_learned_classifier_is_kept_only_when_it_beats_the_rules(
    content: Content, tmp_path: Path
) -> None:
    examples = read_labelled(DATA)
    report = train(examples, content.categories, tmp_path, corrections_count=0)
    assert report.examples == len(examples)
    assert (report.saved is not None) == (report.learned_accuracy > report.rules_accuracy)
    assert (tmp_path / "classifier.joblib").exists() == (report.saved is not None)
    with pytest.raises(TrainingError, match="at least 20"):
        train(examples[:5], content.categories, tmp_path, corrections_count=0)


def _classify(*args: str, stdin: str | None = None) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "hotline", "classify", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_cli_contract_single_text_and_stdin_batch(tmp_path: Path) -> None:
    (one,) = _classify("--json", "我 姓 王 三 栋 二 单元 五 零 一 卫生间 漏水 了")
    assert one == {
        "category": "repair",
        "category_label": "报修",
        "urgency": "leak",
        "surname": "王",
        "unit": "3栋2单元501",
        "phone": None,
        "summary": "我姓王三栋二单元五零一卫生间漏水了",
    }
    lines = [u.text for u in utterances() if u.lang == "zh"] * 5
    results = _classify("--json", stdin="\n".join(lines) + "\n")
    assert len(results) == len(lines)
    assert {r["category"] for r in results} >= {
        "repair",
        "complaint",
        "inquiry",
        "praise",
        "convenience",
    }
    (english,) = _classify(
        "--lang", "en", "--json", "my name is Mr Smith flat 501 building 3 my sink is leaking"
    )
    assert (english["surname"], english["unit"], english["category"]) == (
        "Smith",
        "3栋501",
        "repair",
    )
