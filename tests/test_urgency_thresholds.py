"""The safety and leak thresholds a model records, chosen for recall on its own training lines'
folds by source (transcripts/urgency_thresholds.py), and what an entry gets from them: unsure of
safety with a leak likelier, a leak flagged for a clerk, only where the model turned that on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hotline.content import Content, load_content
from hotline.settings import Settings
from transcripts import text
from transcripts.fields import fill_entry
from transcripts.learned import LearnedCategories
from transcripts.training import fit
from transcripts.urgency_thresholds import CEILING, FLOOR, _largest

WHEN = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
#: Words no hard trigger of config/rules/categories.toml knows, so the model alone sets urgency.
LINES = [
    *((f"{where}的大门整夜敞着没人管", "repair", "safety") for where in ("七栋", "南门", "地库")),
    *((f"{where}的大门敞着好几天了", "repair", "safety") for where in ("东区", "北门", "西门")),
    *(
        (f"{where}天花板往下淌水{end}", "repair", "leak")
        for where in ("厨房", "客厅", "卧室")
        for end in ("", "接了一盆")
    ),
    *(
        (f"{where}多摆几张长椅{end}", "suggestion", "normal")
        for where in ("花园", "广场", "河边")
        for end in ("", "老人能歇歇脚")
    ),
]


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(Settings())


def _model(about: dict[str, float], groups: bool = False) -> LearnedCategories:
    said = [text.clean(t) for t, _, _ in LINES]
    sources = [f"source{i % 4}" for i in range(len(LINES))] if groups else []
    return LearnedCategories(
        fit(
            [(t, c) for t, (_, c, _) in zip(said, LINES, strict=True)],
            about,
            [u for _, _, u in LINES],
            sources,
            [True] * len(sources),
        )
    )


def test_the_largest_threshold_reaching_the_recall_is_taken() -> None:
    # 3 of 4 safety lines at or above 0.35: recall 0.75 there, 0.5 above it.
    assert _largest([0.9, 0.5, 0.35, 0.12], 0.75, 0.1, 0.4) == pytest.approx(0.35)
    assert _largest([0.9, 0.8], 0.95, 0.1, 0.4) == pytest.approx(0.4)  # never above the ceiling
    assert _largest([0.05, 0.02], 0.95, 0.1, 0.4) == pytest.approx(0.1)  # the floor, target missed


def test_a_model_trained_with_its_sources_records_thresholds_it_chose() -> None:
    chosen = _model({}, groups=True).model
    assert chosen is not None
    assert chosen.about["thresholds_chosen_on"] == "the training lines' folds by source"
    assert FLOOR["safety"] <= chosen.about["safety_review"] <= CEILING["safety"]
    assert FLOOR["leak"] <= chosen.about["leak"] <= CEILING["leak"]
    plain = _model({}).model
    assert plain is not None and "safety_review" not in plain.about  # no sources: defaults


def test_unsure_of_safety_with_a_leak_likelier_is_a_leak_for_a_clerk(content: Content) -> None:
    """The entry a clerk sees: with the knob on (a model whose folds allowed it) a leak flagged
    for review; with it off, safety flagged for review (unsure between safety and normal)."""
    said = "楼道天花板往下淌水"
    probe = _model({})
    assert probe.model is not None
    odds = probe.model.urgency_probabilities(text.clean(said))
    assert odds["leak"] > odds["safety"]
    band = {"safety_review": odds["safety"] - 0.01, "safety_sure": odds["safety"] + 0.01}
    diverted = fill_entry(
        said, content, WHEN, learned=_model({**band, "leak_over_unsure_safety": 1})
    )
    assert (diverted.urgency, diverted.needs_review) == ("leak", True)
    kept = fill_entry(said, content, WHEN, learned=_model(band))
    assert (kept.urgency, kept.needs_review) == ("safety", True)
    sure = {"safety_review": odds["safety"] - 0.02, "safety_sure": odds["safety"] - 0.01}
    certain = fill_entry(
        said, content, WHEN, learned=_model({**sure, "leak_over_unsure_safety": 1})
    )
    assert certain.urgency == "safety"  # above safety_sure the knob never applies
