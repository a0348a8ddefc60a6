"""The classifier on the corpus (corpus/lines): what the desk would notice.

The learned model answers; config/rules/categories.toml holds the few overrides and hard
triggers. Phrase-by-phrase pinning of the former rules is gone: these tests hold the corpus-level
figures (bench/category_model.py gives the held-out-by-source ones) and the user-visible contracts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline.content import Content, load_content
from hotline.settings import Settings
from tests import labelled
from transcripts.classify import classify
from transcripts.fields import fill_entry
from transcripts.text import clean
from transcripts.urgency_rules import triggered

RECEIVED = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
RESIDENTS = labelled.LINES / "resident-web.tsv"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(Settings())


def test_every_safety_line_of_the_corpus_is_marked_safety(content: Content) -> None:
    """A missed safety call is the worst error: every line labelled safety, own or real, comes
    out safety with the shipped model (flagged for a clerk where the model is unsure)."""
    missed = []
    for path in sorted(labelled.LINES.glob("*.tsv")):
        for item in labelled.utterances(path):
            if item.expected["urgency"] == "safety":
                got = fill_entry(item.text, content, RECEIVED, item.lang)
                if got.urgency != "safety":
                    missed.append((path.name, item.text))
    assert len(missed) <= 3, missed


def test_the_shipped_model_answers_the_residents_lines(content: Content) -> None:
    """In-sample floor on the residents' lines (the held-out figure is the bench's): the model
    was trained on them, so a drop means a broken build, not a harder set."""
    items = labelled.utterances(RESIDENTS)
    right = sum(
        fill_entry(i.text, content, RECEIVED).category == i.expected["category"] for i in items
    )
    assert right / len(items) >= 0.9


@pytest.mark.parametrize(
    ("said", "urgency"),
    [
        ("电梯 突然 往下 掉 我 被 困 在 里面", "safety"),
        ("楼道 里 好 大 一 股 煤气 味", "safety"),
        ("消防通道 又 被 车 堵 死 了", "safety"),
        ("我 家 天花板 在 漏水", "leak"),
        ("如果 漏水 了 怎么办", "normal"),
        ("不是 漏水 是 水 洒 了", "normal"),
    ],
)
def test_hard_triggers_raise_the_urgency_unless_denied_or_imagined(
    content: Content, said: str, urgency: str
) -> None:
    assert triggered(clean(said), content.categories) == urgency


def test_an_override_decides_the_category(content: Content) -> None:
    """A category keyword said is the call's, whatever the model says; a complaint said in a
    second request makes the call a complaint (首问责任制培训细则 1.4.4.3)."""
    assert classify("我 要 投诉 你们 保安", content.categories).category == "complaint"
    got = fill_entry("我 家 水龙头 坏 了 另外 我 要 投诉 保安", content, RECEIVED)
    assert got.category == "complaint"
    assert fill_entry("不好意思 打错了", content, RECEIVED).category == "other"


def test_the_rules_file_is_short() -> None:
    """The rules are the exception: a few phrases, not thousands."""
    import tomllib

    rules = tomllib.loads((ROOT / "config/rules/categories.toml").read_text(encoding="utf-8"))
    phrases = sum(len(c.get("keywords", [])) for c in rules["category"])
    phrases += sum(
        len(u.get(k, []))
        for u in rules["urgency"].values()
        for k in ("keywords", "things", "faults")
    )
    assert phrases <= 150


def test_an_empty_line_is_flagged_and_loses_nothing(content: Content) -> None:
    got = fill_entry("", content, RECEIVED)
    assert got.needs_review and got.category == "other" and got.raw_text == ""
