"""Training and judging the category model (scikit-learn, needed only here).

`train` cross-validates on folds: in each fold the model is trained on the other folds and,
with the rules' overrides as in production, answers the held-out fold, beside the rules
alone. The two figures are not equally honest, and `train` says so per source: the rules
were written on the labelled files (their figure there is optimistic), while clerks'
corrections are lines the desk got wrong (the rules' figure there is pessimistic). `ship`
builds the shipped model from the labelled files (transcripts/learned.py says which files
hold a model; transcripts/training_data.py reads the examples).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from recorder.errors import HotlineError
from recorder.settings import CONFIG_DIR
from transcripts import urgency_thresholds
from transcripts.classify import classify
from transcripts.learned import LEGACY_FILES, MIN_CONFIDENCE, MODEL_FILE, URGENCY_THRESHOLDS
from transcripts.ngram_model import NGRAM_RANGE, NgramModel
from transcripts.rules import CategoryRules
from transcripts.training_data import fingerprint, read_examples, read_labelled, read_sources

MIN_EXAMPLES = 20

MAX_FOLDS = 5

#: N-grams in fewer lines than this are dropped once there are MIN_DF_FROM lines or more
#: (a line's own rare words teach nothing about the next caller's; chosen as above: 3 beat
#: 1 and 2 on every blind set judged chronologically, and keeps the shipped file small).
MIN_DF, MIN_DF_FROM = 3, 200


class TrainingError(HotlineError):
    pass


@dataclass(frozen=True)
class SourceFigures:
    """Rules alone and rules with the learned model, on one source of examples."""

    name: str
    examples: int
    rules_accuracy: float
    combined_accuracy: float


@dataclass(frozen=True)
class TrainingReport:
    examples: int
    corrections: int
    folds: int
    #: The rules alone on every example (the rules are not trained: no folds needed).
    rules_accuracy: float
    #: The learned model alone, cross-validated (for comparison only; never used alone).
    learned_accuracy: float
    #: Rules with the learned model (`answer`), cross-validated: what would be used.
    combined_accuracy: float
    #: Lines in which the rules found nothing.
    no_evidence: int
    #: Lines where the combination answered otherwise than the rules; of those, rightly.
    changed: int
    changed_right: int
    saved: Path | None
    sources: list[SourceFigures] = field(default_factory=list)
    #: Lines the rules were never written on (`--holdout`): when given, the decision.
    holdout: SourceFigures | None = None


def _pipeline(lines: int = MIN_DF_FROM) -> Any:
    """The estimator trained (scikit-learn, needed only here): char n-grams, TF-IDF, LR."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(
            analyzer="char",
            ngram_range=NGRAM_RANGE,
            sublinear_tf=True,
            min_df=MIN_DF if lines >= MIN_DF_FROM else 1,
        ),
        LogisticRegression(max_iter=2000, C=10.0),
    )


def fit(
    examples: Sequence[tuple[str, str]],
    about: dict[str, Any] | None = None,
    urgencies: Sequence[str] = (),
    groups: Sequence[str] = (),
    real: Sequence[bool] = (),
) -> NgramModel:
    """A model trained on all the examples, as data; with `urgencies` (one per example) it has
    an urgency head too, trained with balanced class weights (safety lines are few). With
    `groups` (each example's source) and `real` (whether it is a real resident's), its safety and
    leak thresholds are chosen for recall on its own lines' folds (transcripts.urgency_thresholds)
    and recorded in `about`."""
    from sklearn.linear_model import LogisticRegression

    texts, labels = [t for t, _ in examples], [c for _, c in examples]
    pipeline = _pipeline(len(texts)).fit(texts, labels)
    urgency = None
    about = dict(about or {})
    if len(set(urgencies)) >= 2:  # one level only (no urgency column): no urgency head
        features = pipeline[0].transform(texts)
        urgency = LogisticRegression(max_iter=2000, C=10.0, class_weight="balanced")
        urgency.fit(features, list(urgencies))
        if groups:
            chosen = urgency_thresholds.choose(
                features, list(urgencies), list(groups), list(real) or [False] * len(texts)
            )
            about.update(chosen)
            about["thresholds_chosen_on"] = "the training lines' folds by source" if chosen else ""
    return NgramModel.from_pipeline(pipeline, about, urgency)


def _folds(labels: Sequence[str]) -> tuple[int, Any]:
    """Stratified folds when every category has two examples, else plain shuffled folds."""
    from sklearn.model_selection import KFold, StratifiedKFold

    smallest = min(labels.count(label) for label in set(labels))
    if smallest >= 2:
        folds = max(2, min(MAX_FOLDS, smallest))
        return folds, StratifiedKFold(folds, shuffle=True, random_state=0)
    folds = min(MAX_FOLDS, len(labels))
    return folds, KFold(folds, shuffle=True, random_state=0)


def answer(rules_category: str, no_evidence: bool, guess: str | None) -> str:
    """The combination, as `transcripts.fields.fill_entry` makes it: an override keyword said
    decides; else the model's category (None: it had nothing to read, `other`)."""
    if not no_evidence:
        return rules_category
    return guess or rules_category


def train(
    examples: list[tuple[str, str]],
    rules: CategoryRules,
    model_dir: Path | None,
    corrections_count: int,
    holdout: Sequence[tuple[str, str]] = (),
    urgencies: Sequence[str] = (),
    groups: Sequence[str] = (),
    real: Sequence[bool] = (),
) -> TrainingReport:
    """Cross-validates the model (with the rules' overrides) against the rules alone; saves the
    model if it wins. `urgencies` (one per example, then one per holdout line): the saved model
    gets an urgency head trained on them. `groups` and `real` (one per example: its source, and
    whether it is a real caller's): the saved model's safety and leak thresholds are chosen on
    its lines' folds by source (`fit`), as the shipped model's; without them, the fixed ones.

    The first `corrections_count` examples are clerks' corrections, the rest labelled lines.
    Cross-validation on lines the rules were written on favours the rules; `holdout`, lines
    nobody tuned the rules on, is then the fairer judge: a model trained on the examples
    answers it beside the rules, and that comparison decides. The saved model (in
    `model_dir`; None: only measure) is trained on the examples and the holdout together.
    """
    if len(examples) < MIN_EXAMPLES:
        raise TrainingError(
            f"only {len(examples)} labelled examples; at least {MIN_EXAMPLES} are needed "
            "(clerks' category corrections in the admin, or --labelled FILE)"
        )
    texts = [t for t, _ in examples]
    labels = [c for _, c in examples]
    by_rules = [classify(t, rules) for t in texts]
    folds, splitter = _folds(labels)
    learned: list[str] = [""] * len(texts)
    combined: list[str] = [r.category for r in by_rules]
    for train_at, test_at in splitter.split(texts, labels):
        if len({labels[i] for i in train_at}) < 2:
            continue  # nothing to learn from one category: the rules answer this fold
        model = fit([examples[i] for i in train_at])
        for i in test_at:
            learned[i] = model.guess(texts[i])[0]
            rule = by_rules[i]
            combined[i] = answer(rule.category, rule.no_evidence, learned[i])
    no_evidence = [i for i, r in enumerate(by_rules) if r.no_evidence]
    rules_accuracy = _accuracy([r.category for r in by_rules], labels)
    combined_accuracy = _accuracy(combined, labels)
    sources = [
        SourceFigures(
            name,
            len(part),
            _accuracy([by_rules[i].category for i in part], [labels[i] for i in part]),
            _accuracy([combined[i] for i in part], [labels[i] for i in part]),
        )
        for name, part in (
            ("clerks' corrections", range(corrections_count)),
            ("labelled files", range(corrections_count, len(examples))),
        )
        if part
    ]
    judged = _judge_on_holdout(examples, holdout, rules) if holdout else None
    wins = (
        judged.combined_accuracy > judged.rules_accuracy
        if judged
        else combined_accuracy > rules_accuracy
    )
    figures = {
        "examples": len(examples),
        "corrections": corrections_count,
        "folds": folds,
        "rules_accuracy": round(rules_accuracy, 4),
        "learned_accuracy": round(_accuracy(learned, labels), 4),
        "combined_accuracy": round(combined_accuracy, 4),
        "holdout": asdict(judged) if judged else None,
        "min_confidence": MIN_CONFIDENCE,
        **URGENCY_THRESHOLDS,
    }
    saved = None
    if model_dir is not None:
        for legacy in LEGACY_FILES:
            (model_dir / legacy).unlink(missing_ok=True)
        if wins:
            saved = model_dir / MODEL_FILE
            if groups and holdout:  # the holdout lines' sources are not known: each its own
                groups = [*groups, *(f"held-out line {n}" for n in range(len(holdout)))]
                real = [*real, *([False] * len(holdout))]
            fit([*examples, *holdout], figures, urgencies, groups, real).save(saved)
        else:
            (model_dir / MODEL_FILE).unlink(missing_ok=True)  # an older one no longer wins
    return TrainingReport(
        examples=len(examples),
        corrections=corrections_count,
        folds=folds,
        rules_accuracy=rules_accuracy,
        learned_accuracy=_accuracy(learned, labels),
        combined_accuracy=combined_accuracy,
        no_evidence=len(no_evidence),
        changed=sum(c != r.category for c, r in zip(combined, by_rules, strict=True)),
        changed_right=sum(
            c == w and c != r.category for c, r, w in zip(combined, by_rules, labels, strict=True)
        ),
        saved=saved,
        sources=sources,
        holdout=judged,
    )


def ship(
    examples: Sequence[tuple[str, str]], files: Sequence[Path], path: Path, lang: str = "zh"
) -> NgramModel:
    """See `ship_examples`; the urgency head is trained from the files' urgency column."""
    del examples  # the files are read again with their urgency
    return ship_examples(files, path, lang)


def ship_examples(files: Sequence[Path], path: Path, lang: str = "zh") -> NgramModel:
    """The shipped model: trained on the labelled files' lines in `lang`, recorded with the
    sha256 of those lines (tests/test_learned.py checks they still match: a relabelled line
    means a rebuild)."""
    root = CONFIG_DIR.parent
    rows = [row for f in files for row in read_examples(f, lang)]
    sources = [source for f in files for source in read_sources(f, lang)]
    model = fit(
        [(said, category) for said, category, _ in rows],
        {
            "built_by": "hotline classify train --ship "
            + str(_relative(path, root))
            + (f" --lang {lang}" if lang != "zh" else ""),
            "language": lang,
            "trained_on": [
                {
                    "file": str(_relative(f, root)),
                    "sha256": fingerprint(f, lang),
                    "lines": len(read_labelled(f, lang)),
                }
                for f in files
            ],
            "min_confidence": MIN_CONFIDENCE,
            **URGENCY_THRESHOLDS,
            "evidence": "bench/category_model.py (held out by source)",
        },
        [urgency or "normal" for _, _, urgency in rows],
        sources,
        [not source.startswith("own-") for source in sources],
    )
    model.save(path)
    return model


def _relative(path: Path, root: Path) -> Path:
    resolved = path.resolve()
    return resolved.relative_to(root) if resolved.is_relative_to(root) else resolved


def _judge_on_holdout(
    examples: Sequence[tuple[str, str]],
    holdout: Sequence[tuple[str, str]],
    rules: CategoryRules,
) -> SourceFigures:
    """The rules alone and with a model trained on the examples, on the held-out lines."""
    model = fit(examples)
    want = [c for _, c in holdout]
    by_rules = [classify(t, rules) for t, _ in holdout]
    combined = [
        answer(rule.category, rule.no_evidence, model.guess(said)[0])
        for rule, (said, _) in zip(by_rules, holdout, strict=True)
    ]
    return SourceFigures(
        "held-out lines",
        len(holdout),
        _accuracy([r.category for r in by_rules], want),
        _accuracy(combined, want),
    )


def _accuracy(got: Sequence[str], want: Sequence[str]) -> float:
    return sum(g == w for g, w in zip(got, want, strict=True)) / len(want) if want else 0.0
