"""The urgency thresholds a model ships with, chosen for recall on its own training lines' folds.

A missed safety call costs far more than a false alarm (issue 18), so the safety and leak
thresholds are not fixed numbers: when a model is trained with the source of each line
(`fit(..., groups=...)`), its training lines are split by source (`INNER_FOLDS` groups of whole
sources), the urgency head is trained on the others and gives each held-out line its P(safety)
and P(leak), and the thresholds are the largest that reach `TARGET_RECALL` on those lines. Only
the training lines are read: a source the model is judged on (bench/category_model.py) is never
seen here. Real residents' lines (`real`) are what the product meets, so they decide when there are
at least `MIN_LINES` of the level among them; else every line does. scikit-learn is needed here
only (training), never at run time: the thresholds are stored in the model file's `about`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: The recall each level's threshold is chosen for (issue 18's targets).
TARGET_RECALL = {"safety": 0.95, "leak": 0.95}

#: Never below these (a threshold of 0 marks every call): below the floor the target is not met
#: and the figures say so. Never above the former fixed values either (safety_sure for safety).
FLOOR = {"safety": 0.1, "leak": 0.1}
CEILING = {"safety": 0.4, "leak": 0.3}

#: Groups of whole sources the training lines are split into.
INNER_FOLDS = 2

#: Lines of a level among the real lines needed for those to decide its threshold.
MIN_LINES = 10

STEP = 0.01


def choose(
    features: Any, urgencies: Sequence[str], groups: Sequence[str], real: Sequence[bool]
) -> dict[str, float]:
    """`safety_review` and `leak` for a model trained on these lines (`features`: the rows of its
    own vectorizer; `groups`: each line's source; `real`: whether a line is a real resident's)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    levels = sorted(set(urgencies))
    if len(set(groups)) < INNER_FOLDS or not {"safety", "leak"} & set(levels):
        return {}
    held: list[dict[str, float]] = [{} for _ in urgencies]
    for train_at, test_at in GroupKFold(INNER_FOLDS).split(features, urgencies, groups):
        wanted = [urgencies[i] for i in train_at]
        if len(set(wanted)) < 2:
            continue
        head = LogisticRegression(max_iter=2000, C=10.0, class_weight="balanced")
        head.fit(features[train_at], wanted)
        for i, row in zip(test_at, head.predict_proba(features[test_at]), strict=True):
            held[i] = dict(zip(head.classes_, row, strict=True))
    chosen: dict[str, float] = {}
    deciding = {level: _deciding(level, urgencies, held, real) for level in ("safety", "leak")}
    if deciding["safety"]:
        odds = [held[i].get("safety", 0.0) for i in deciding["safety"]]
        chosen["safety_review"] = _largest(
            odds, TARGET_RECALL["safety"], FLOOR["safety"], CEILING["safety"]
        )
    review = chosen.get("safety_review", CEILING["safety"])
    # Unsure of safety (review <= P(safety) < sure) and a leak likelier: leak, flagged for a
    # clerk, only where that keeps the safety lines' recall at the target on these folds.
    kept = [_as_safety(held[i], review, True) for i in deciding["safety"]]
    if deciding["safety"] and sum(kept) >= TARGET_RECALL["safety"] * len(kept):
        chosen["leak_over_unsure_safety"] = 1.0
    diverts = bool(chosen.get("leak_over_unsure_safety"))
    leaks = [i for i in deciding["leak"] if not _as_safety(held[i], review, diverts)]
    if leaks:
        odds = [held[i].get("leak", 0.0) for i in leaks]
        chosen["leak"] = _largest(odds, TARGET_RECALL["leak"], FLOOR["leak"], CEILING["leak"])
    return chosen


def _deciding(
    level: str, urgencies: Sequence[str], held: Sequence[dict[str, float]], real: Sequence[bool]
) -> list[int]:
    """The lines of `level` a threshold is chosen on: the real ones if MIN_LINES, else all."""
    at = [i for i, u in enumerate(urgencies) if u == level and held[i]]
    mine = [i for i in at if real[i]]
    return mine if len(mine) >= MIN_LINES else at


def _as_safety(odds: dict[str, float], review: float, diverts: bool) -> bool:
    """Whether a line with these probabilities is taken as safety (transcripts.learned.judge)."""
    safety = odds.get("safety", 0.0)
    if safety >= CEILING["safety"]:
        return True
    return safety >= review and not (diverts and odds.get("leak", 0.0) > safety)


def _largest(odds: Sequence[float], recall: float, floor: float, ceiling: float) -> float:
    """The largest threshold (a STEP multiple, floor..ceiling) with the share of `odds` at or
    above it at least `recall`; the floor when none reaches it."""
    steps = round((ceiling - floor) / STEP)
    for k in range(steps, -1, -1):
        threshold = round(floor + k * STEP, 2)
        if sum(p >= threshold for p in odds) >= recall * len(odds):
            return threshold
    return floor
