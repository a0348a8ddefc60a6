"""A category classifier learned from clerks' corrections, used only when it beats the rules.

Training data: every log entry whose category a person changed (an
EntryRevision on `category` with new_source "person"), paired with the
text of its call's transcripts; optionally a labelled TSV file as well
(text, category, ...). The learned model (character n-grams, logistic
regression) is cross-validated against the rules on the same data and
saved beside its figures only when it scores higher.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.content import CategoryRules
from hotline.errors import HotlineError
from recorder.models import EntryRevision, LogEntry, Transcript
from transcripts import text
from transcripts.classify import classify

logger = logging.getLogger(__name__)
MODEL_FILE = "classifier.joblib"
MIN_EXAMPLES = 20


class TrainingError(HotlineError):
    pass


@dataclass(frozen=True)
class TrainingReport:
    examples: int
    corrections: int
    rules_accuracy: float
    learned_accuracy: float
    saved: Path | None


def corrections(session: Session) -> list[tuple[str, str]]:
    """(clean caller text, category a person chose) for every corrected entry.

    Only the caller's channels, as the pipeline classifies them (the staff
    channel would teach the model the clerk's words).
    """
    from recorder.pipeline import CALLER_CHANNELS

    rows = session.execute(
        select(LogEntry.id, LogEntry.call_pk, LogEntry.category)
        .join(EntryRevision, EntryRevision.entry_id == LogEntry.id)
        .where(EntryRevision.field == "category", EntryRevision.new_source == "person")
        .distinct()
    ).all()
    examples = []
    for _entry_id, call_pk, category in rows:
        if call_pk is None:
            continue
        said = session.scalars(
            select(Transcript.raw_text)
            .where(Transcript.call_pk == call_pk, Transcript.channel.in_(CALLER_CHANNELS))
            .order_by(Transcript.channel)
        ).all()
        joined = text.clean(" ".join(said))
        if joined:
            examples.append((joined, category))
    return examples


def read_labelled(path: Path) -> list[tuple[str, str]]:
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 2 or parts[0].startswith("en:"):
            continue
        examples.append((text.clean(parts[0]), parts[1]))
    return examples


def _pipeline() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
        LogisticRegression(max_iter=2000, C=10.0),
    )


def train(
    examples: list[tuple[str, str]], rules: CategoryRules, model_dir: Path, corrections_count: int
) -> TrainingReport:
    if len(examples) < MIN_EXAMPLES:
        raise TrainingError(
            f"only {len(examples)} labelled examples; at least {MIN_EXAMPLES} are needed "
            "(clerks' category corrections in the admin, or --labelled FILE)"
        )
    import joblib
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    texts = [t for t, _ in examples]
    labels = [c for _, c in examples]
    smallest = min(labels.count(label) for label in set(labels))
    folds = max(2, min(5, smallest))
    predicted = (
        cross_val_predict(
            _pipeline(), texts, labels, cv=StratifiedKFold(folds, shuffle=True, random_state=0)
        )
        if smallest >= 2
        else labels
    )
    learned = (
        sum(p == y for p, y in zip(predicted, labels, strict=True)) / len(labels)
        if smallest >= 2
        else 0.0
    )
    by_rules = sum(classify(t, rules).category == y for t, y in examples) / len(examples)
    saved = None
    if learned > by_rules:
        model = _pipeline().fit(texts, labels)
        model_dir.mkdir(parents=True, exist_ok=True)
        saved = model_dir / MODEL_FILE
        joblib.dump(model, saved)
        (model_dir / "classifier.json").write_text(
            json.dumps(
                {"examples": len(examples), "rules_accuracy": by_rules, "learned_accuracy": learned}
            )
        )
    elif (model_dir / MODEL_FILE).exists():
        (model_dir / MODEL_FILE).unlink()  # an older model that no longer beats the rules
    return TrainingReport(len(examples), corrections_count, by_rules, learned, saved)


class LearnedCategories:
    """The saved model, if there is one; `predict` returns None when there is not."""

    def __init__(self, model_dir: Path) -> None:
        self._model: Any = None
        path = model_dir / MODEL_FILE
        if path.exists():
            import joblib

            self._model = joblib.load(path)
            logger.info("using the learned category classifier in %s", path)

    def predict(self, clean_text: str) -> str | None:
        if self._model is None or not clean_text:
            return None
        return str(self._model.predict([clean_text])[0])
