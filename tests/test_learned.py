"""The learned fallback: trained on folds against the rules, used only where the rules find
nothing, and only when it is sure enough. Unit tests with a tiny model trained here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotline.commands.classify import training_lines
from hotline.content import CategoryRules, Content, load_content
from hotline.settings import Settings
from transcripts import classify
from transcripts.learned import (
    FIGURES_FILE,
    MIN_CONFIDENCE,
    MODEL_FILE,
    LearnedCategories,
    _pipeline,
    answer,
    train,
)

#: Wordings no rule knows (checked below), each said several ways, and lines of `other`.
TINY = [
    *(
        (f"{who}把电梯擦得锃亮{end}", "praise")
        for who in ("保洁张姐", "李阿姨", "小王", "保洁")
        for end in ("", "天天如此", "我们都看见了")
    ),
    *(
        (f"{where}多摆几张长椅{end}", "suggestion")
        for where in ("花园", "广场", "河边", "门口")
        for end in ("", "老人能歇歇脚", "吧")
    ),
    *(
        (said, "other")
        for said in ("喂喂听得到吗", "喂喂喂", "喂喂没声音", "喂你好喂喂", "喂喂喂喂")
    ),
]
#: A praise line in new words: the rules find nothing in it.
UNSEEN_PRAISE = "六号楼的保洁把电梯擦得锃亮"


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(Settings())


def _without_keywords(rules: CategoryRules) -> CategoryRules:
    """Rules that find nothing: every line is `other` for lack of evidence."""
    data = rules.model_dump()
    for category in data["category"]:
        category.update(keywords=[], things=[], faults=[], strong_keywords=[])
    return CategoryRules.model_validate(data)


@pytest.fixture(scope="module")
def tiny_model() -> LearnedCategories:
    model = _pipeline().fit([t for t, _ in TINY], [c for _, c in TINY])
    return LearnedCategories.fitted(model)


def test_the_tiny_set_is_new_to_the_rules(content: Content) -> None:
    for said in [UNSEEN_PRAISE, *(t for t, c in TINY if c != "other")]:
        assert classify.classify(said, content.categories).no_evidence, said


def test_a_sure_model_answers_an_unsure_one_does_not(tiny_model: LearnedCategories) -> None:
    guess = tiny_model.guess(UNSEEN_PRAISE)
    assert guess is not None and guess[0] == "praise" and guess[1] >= MIN_CONFIDENCE
    assert tiny_model.predict(UNSEEN_PRAISE) == "praise"
    unsure = LearnedCategories.fitted(tiny_model._model, min_confidence=guess[1] + 0.01)
    assert unsure.predict(UNSEEN_PRAISE) is None  # kept: the rules' `other`
    assert tiny_model.predict("") is None


def test_no_model_on_disk_answers_nothing(tmp_path: Path) -> None:
    assert LearnedCategories(tmp_path).predict(UNSEEN_PRAISE) is None


@pytest.mark.parametrize(
    ("rules_say", "no_evidence", "confidence", "expected"),
    [
        ("repair", False, 0.99, "repair"),  # the rules found something: they decide
        ("other", False, 0.99, "other"),  # 打错了 said: evidence for `other`
        ("other", True, 0.99, "praise"),  # nothing found, model sure: the model
        ("other", True, 0.10, "other"),  # nothing found, model unsure: the rules
    ],
)
def test_the_combination(
    rules_say: str, no_evidence: bool, confidence: float, expected: str
) -> None:
    assert answer(rules_say, no_evidence, "praise", confidence, MIN_CONFIDENCE) == expected


def test_kept_when_the_fallback_wins_on_folds(content: Content, tmp_path: Path) -> None:
    blind = _without_keywords(content.categories)
    report = train(TINY, blind, tmp_path, corrections_count=len(TINY) - 5)
    assert report.rules_accuracy == pytest.approx(5 / len(TINY))  # only the `other` lines
    assert report.combined_accuracy > report.rules_accuracy and report.saved is not None
    assert report.no_evidence == len(TINY) and report.fallback_answered > 0
    assert [s.name for s in report.sources] == ["clerks' corrections", "labelled files"]
    figures = json.loads((tmp_path / FIGURES_FILE).read_text())
    assert figures["min_confidence"] == MIN_CONFIDENCE
    assert LearnedCategories(tmp_path).predict(UNSEEN_PRAISE) == "praise"
    printed = "\n".join(training_lines(report))
    assert "rules alone" in printed and "cross-validated" in printed
    assert "optimistic" in printed and "used from now on" in printed


def test_dropped_when_the_rules_already_know_the_lines(content: Content, tmp_path: Path) -> None:
    """Lines the rules classify (here: with a keyword each) leave the fallback nothing to win;
    an older saved model is removed."""
    (tmp_path / MODEL_FILE).write_bytes(b"old")
    known = [(f"{said}我要投诉", "complaint") for said, _ in TINY]
    report = train(known, content.categories, tmp_path, corrections_count=0)
    assert report.rules_accuracy == 1.0 and report.combined_accuracy == 1.0
    assert report.no_evidence == 0 and report.saved is None
    assert not (tmp_path / MODEL_FILE).exists()
    assert "the rules stay in use alone" in "\n".join(training_lines(report))


def test_held_out_lines_decide_when_given(content: Content, tmp_path: Path) -> None:
    """Folds of lines the rules were written on favour the rules (here: every example has a
    keyword); lines nobody tuned the rules on, where the rules find nothing, decide instead."""
    known = [(f"{said}我要投诉", "complaint") for said, _ in TINY] + TINY
    unseen = [(UNSEEN_PRAISE, "praise"), ("菜市场门口多摆几张长椅", "suggestion")]
    report = train(known, content.categories, tmp_path, corrections_count=0, holdout=unseen)
    assert report.holdout is not None and report.holdout.examples == 2
    assert report.holdout.rules_accuracy == 0.0  # the rules find nothing in either line
    assert report.holdout.combined_accuracy == 1.0 and report.saved is not None
    figures = json.loads((tmp_path / FIGURES_FILE).read_text())
    assert figures["holdout"]["combined_accuracy"] == 1.0
    assert "(this decides)" in "\n".join(training_lines(report))
