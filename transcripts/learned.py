"""A category classifier learned from labelled lines and clerks' corrections.

The learned model (character n-grams, TF-IDF, logistic regression; a category
head and an urgency head on the same n-grams) is the classifier; the rules
(config/rules/categories.toml) are the exceptions (`answer`): a category
keyword said decides the category, else the model answers, flagged for a
clerk below `min_confidence`. Judged by source, never on what it was trained
on (bench/category_model.py, docs/classification.md).

The model is data, not a pickle: `NgramModel` holds the n-grams with their
idf and per-category weights and the intercepts, in a JSON file read and
applied by plain Python, so a file written with one scikit-learn (needed only
to train) is read the same by any version or none. These files may hold one:

- `config/rules/category_model.json` (`[content] category_model`), shipped:
  trained on the corpus (corpus/lines), the files and their sha256
  recorded inside (`hotline classify train --ship`);
- `data_dir/models/category_model.json`, trained here from clerks'
  corrections (`hotline classify train`, or the worker's nightly retraining)
  and saved only when it beats the rules, on folds or on held-out lines. It
  replaces the shipped model while it exists;
- `config/rules/category_model_en.json` (`[content] category_model_en`), the
  shipped English one, trained on the corpus's English lines
  (`--ship PATH --lang en`).

Training data: every log entry whose category or urgency a person changed (an
EntryRevision on `category` or `urgency` with new_source "person"), paired
with the text of its call's transcripts; labelled TSV files as well (text,
category, urgency, ...). `train` cross-validates on folds: in each fold the
model is trained on the other folds and, with the rules' overrides as in
production, answers the held-out fold, beside the rules alone. The two figures are not equally honest, and `train` says so per
source: the rules were written on the labelled files (their figure there is
optimistic), while clerks' corrections are lines the desk got wrong (the
rules' figure there is pessimistic).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recorder.errors import HotlineError
from recorder.models import EntryRevision, LogEntry, Transcript
from recorder.settings import CONFIG_DIR
from transcripts import text
from transcripts.classify import classify
from transcripts.ngram_model import (
    FORMAT,
    FORMATS,
    NGRAM_RANGE,
    ModelFileError,
    NgramModel,
)
from transcripts.rules import CategoryRules
from transcripts.settings import TranscriptsSettings as Settings

__all__ = ["FORMAT", "FORMATS", "ModelFileError", "NgramModel"]

logger = logging.getLogger(__name__)
#: The model trained here (data_dir/models/), and the shipped one's default name in config/.
MODEL_FILE = "category_model.json"
#: What earlier versions saved (a scikit-learn pickle): no longer read, a retrain replaces it.
LEGACY_FILES = ("classifier.joblib", "classifier.json")
MIN_EXAMPLES = 20
#: Below this probability of its category the model still answers, and the entry is flagged
#: for a clerk (eight categories: 0.125 is a blind guess).
MIN_CONFIDENCE = 0.3
MAX_FOLDS = 5
#: The urgency the model gives: safety at P(safety) >= safety_review, flagged for a clerk while
#: below safety_sure (a missed safety call costs far more than a false alarm); else leak at
#: P(leak) >= leak. Chosen for recall on the own-imitation sets, each held out in turn
#: (bench/category_model.py), never on the residents' sources; a shipped model records its own.
#: `safety_evidence` (off: 0): below safety_sure, safety is taken only when one n-gram of the
#: line pulls towards safety (over normal) by at least this much. 0.25, the largest value that
#: loses none of the own sets' safety lines on their folds (it drops 10 of their 99 false
#: alarms in the unsure band), still lost one of the residents' 61 safety lines (0.934 ->
#: 0.918, bench/category_model.py): a missed safety call costs more than a false alarm, so it
#: ships off. A complaint about a repair never done (投诉 报修 一直 没 修) stays safety-unsure,
#: flagged for a clerk (issue 18: unsure between safety and normal, safety).
URGENCY_THRESHOLDS = {
    "safety_review": 0.2,
    "safety_sure": 0.4,
    "leak": 0.3,
    "safety_evidence": 0.0,
}
#: What the last nightly training saw and decided (data_dir/models/): the same corrections
#: are not trained on twice.
LAST_TRAINING = "last_training.json"
#: How often a process in service looks whether the model trained here changed (seconds).
RECHECK_S = 60.0
#: N-grams in fewer lines than this are dropped once there are MIN_DF_FROM lines or more
#: (a line's own rare words teach nothing about the next caller's; chosen as above: 3 beat
#: 1 and 2 on every blind set judged chronologically, and keeps the shipped file small).
MIN_DF, MIN_DF_FROM = 3, 200
#: Words that carry no request: hellos, thanks, goodbyes, yes. A line of only these and
#: hesitations (transcripts.text.FILLERS) gives the model nothing to read: it does not
#: answer, and the rules' `other`, flagged for a clerk, stays (a model always has a guess,
#: its commonest category, for a line it knows nothing in).
NO_REQUEST = (
    "喂",
    "您好",
    "你好",
    "在吗",
    "好的",
    "谢谢",
    "感谢",
    "再见",
    "拜拜",
    "对",
    "是",
    "好",
    "hello",
    "thank you",
    "thanks",
    "goodbye",
    "bye",
    "okay",
)
#: Characters that must be left once those are taken out for the model to answer.
MIN_CONTENT = 2
#: N-grams of the line the model must know to answer: a line in another script (a Korean
#: test model's transcript) or of words never seen gets the prior, not an answer.
MIN_KNOWN = 3


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


def corrections(session: Session) -> list[tuple[str, str]]:
    """(clean caller text, category) of every entry a person corrected (`corrected`)."""
    return [(said, category) for said, category, _ in corrected(session)]


def corrected(session: Session) -> list[tuple[str, str, str]]:
    """(clean caller text, category, urgency) of every entry whose category or urgency a person
    changed: what the clerk chose, with the other field as the entry now holds it (a clerk who
    corrected one and left the other accepted it).

    Only the caller's channels, as the pipeline classifies them (the staff
    channel would teach the model the clerk's words).
    """
    from recorder.models import CALLER_CHANNELS

    rows = session.execute(
        select(LogEntry.id, LogEntry.call_pk, LogEntry.category, LogEntry.urgency)
        .join(EntryRevision, EntryRevision.entry_id == LogEntry.id)
        .where(
            EntryRevision.field.in_(("category", "urgency")),
            EntryRevision.new_source == "person",
        )
        .distinct()
        .order_by(LogEntry.id)
    ).all()
    examples = []
    for _entry_id, call_pk, category, urgency in rows:
        if call_pk is None:
            continue
        said = session.scalars(
            select(Transcript.raw_text)
            .where(Transcript.call_pk == call_pk, Transcript.channel.in_(CALLER_CHANNELS))
            .order_by(Transcript.channel)
        ).all()
        joined = text.clean(" ".join(said))
        if joined:
            examples.append((joined, category, str(getattr(urgency, "value", urgency))))
    return examples


def read_labelled(path: Path, lang: str = "zh") -> list[tuple[str, str]]:
    """(text as the classifier reads it, category) of a labelled TSV's lines in `lang`
    (English lines start with "en:")."""
    return [(said, category) for said, category, _ in read_examples(path, lang)]


def read_examples_line(said: str, lang: str = "zh") -> str:
    """A corpus line's text as the classifier reads it ("en:" already taken off)."""
    return " ".join(said.split()) if lang == "en" else text.clean(said)


def read_examples(path: Path, lang: str = "zh") -> list[tuple[str, str, str]]:
    """(text as the classifier reads it, category, urgency) of a corpus file's lines in `lang`
    (columns: text, category, urgency, surname, unit, phone[, source]; urgency "" if absent)."""
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 2 or parts[0].startswith("en:") != (lang == "en"):
            continue
        said = " ".join(parts[0][3:].split()) if lang == "en" else text.clean(parts[0])
        examples.append((said, parts[1], parts[2] if len(parts) > 2 else ""))
    return examples


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
) -> NgramModel:
    """A model trained on all the examples, as data; with `urgencies` (one per example) it has
    an urgency head too, trained with balanced class weights (safety lines are few)."""
    from sklearn.linear_model import LogisticRegression

    texts, labels = [t for t, _ in examples], [c for _, c in examples]
    pipeline = _pipeline(len(texts)).fit(texts, labels)
    urgency = None
    if len(set(urgencies)) >= 2:  # one level only (no urgency column): no urgency head
        features = pipeline[0].transform(texts)
        urgency = LogisticRegression(max_iter=2000, C=10.0, class_weight="balanced")
        urgency.fit(features, list(urgencies))
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
) -> TrainingReport:
    """Cross-validates the model (with the rules' overrides) against the rules alone; saves the
    model if it wins. `urgencies` (one per example, then one per holdout line): the saved model
    gets an urgency head trained on them.

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
            fit([*examples, *holdout], figures, urgencies).save(saved)
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
    )
    model.save(path)
    return model


def fingerprint(path: Path, lang: str = "zh") -> str:
    """sha256 of what training reads from a labelled file (the lines in `lang` and their
    categories, not the comments): what the shipped model records, and a test compares."""
    said = "".join(f"{t}\t{c}\n" for t, c in read_labelled(path, lang))
    return hashlib.sha256(said.encode("utf-8")).hexdigest()


def _relative(path: Path, root: Path) -> Path:
    resolved = path.resolve()
    return resolved.relative_to(root) if resolved.is_relative_to(root) else resolved


def retrain(
    sessions: sessionmaker[Session],
    settings: Settings,
    rules: CategoryRules,
    config_dir: Path = CONFIG_DIR,
) -> TrainingReport | None:
    """The nightly training (the worker's `retrain_categories` task): clerks' corrections of
    category and urgency, and the labelled files the shipped model was trained on (those
    present, with their urgency column), as `hotline classify train --labelled ...` would;
    kept only when the model with the rules' overrides wins. The kept model has both heads,
    so it answers urgency as the shipped one did. None, and nothing trained, while there are
    too few corrections or none new since the last training."""
    models = settings.paths.data_dir / "models"
    with sessions() as session:
        rows = corrected(session)
    count = len(rows)
    seen = hashlib.sha256(json.dumps(sorted(rows), ensure_ascii=False).encode()).hexdigest()
    last = _read_last(models / LAST_TRAINING)
    if count < MIN_EXAMPLES or last.get("corrections_sha256") == seen:
        logger.info(
            "category model: %d clerks' corrections%s; not trained",
            count,
            " (none new since the last training)" if count >= MIN_EXAMPLES else "",
        )
        return None
    files = shipped_files(settings, config_dir)
    for path in files:
        rows += read_examples(path)
    examples = [(said, category) for said, category, _ in rows]
    urgencies = [urgency or "normal" for _, _, urgency in rows]
    report = train(examples, rules, models, count, urgencies=urgencies)
    _write_json(
        models / LAST_TRAINING,
        {
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "corrections": count,
            "corrections_sha256": seen,
            "labelled_files": [str(f) for f in files],
            "rules_accuracy": round(report.rules_accuracy, 4),
            "combined_accuracy": round(report.combined_accuracy, 4),
            "sources": [asdict(source) for source in report.sources],
            "kept": report.saved is not None,
        },
    )
    logger.info(
        "category model trained on %d corrections and %d labelled lines: rules %.3f, rules + "
        "model %.3f on folds: %s",
        count,
        len(examples) - count,
        report.rules_accuracy,
        report.combined_accuracy,
        f"kept in {report.saved}" if report.saved else "not kept",
    )
    return report


def shipped_files(settings: Settings, config_dir: Path = CONFIG_DIR) -> list[Path]:
    """The labelled files the shipped model names, where they are on this machine."""
    name = settings.content.category_model
    if not name or not (config_dir / name).exists():
        return []
    try:
        named = NgramModel.load(config_dir / name).about.get("trained_on", [])
    except ModelFileError:
        return []
    found = [config_dir.parent / str(f["file"]) for f in named]
    return [path for path in found if path.exists()]


def _read_last(path: Path) -> dict[str, Any]:
    try:
        read = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return read if isinstance(read, dict) else {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    partial.replace(path)


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


@dataclass(frozen=True)
class Judgement:
    """What the model makes of a line: its category (None: it cannot tell) with its probability,
    its urgency, and whether a clerk should look (unsure of the category, or of safety)."""

    category: str | None
    confidence: float
    urgency: str
    review: bool


class LearnedCategories:
    """The model in use, if any, and when its answer is taken over the rules' (`answer`).

    `load` takes the model trained here (data_dir/models/) if there is one, else the
    shipped one (`[content] category_model`); a file that cannot be read is logged and
    passed over, and with none the rules decide alone. A loaded instance looks every
    RECHECK_S whether the model trained here changed (the worker's nightly training, or
    `hotline classify train`), and loads it again: agent, worker and admin need no restart.
    """

    def __init__(
        self,
        model: NgramModel | None,
        source: str = "",
        min_confidence: float = MIN_CONFIDENCE,
    ) -> None:
        self.model, self.source = model, source
        self.min_confidence = min_confidence
        self._reload: Callable[[], LearnedCategories] | None = None
        self._watched: Path | None = None
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0

    @classmethod
    def load(
        cls, settings: Settings, config_dir: Path = CONFIG_DIR, lang: str = "zh"
    ) -> LearnedCategories:
        """The model for `lang`: zh, the one trained here or the shipped one; en, the shipped
        English one (`[content] category_model_en`; clerks' corrections train Mandarin only)."""
        if lang == "en":
            shipped_en = settings.content.category_model_en
            return cls._first(None, shipped_en, config_dir)
        models = settings.paths.data_dir / "models"
        for legacy in LEGACY_FILES:
            if (models / legacy).exists():
                logger.warning(
                    "%s is an older model format, no longer read: run `hotline classify train` "
                    "to train again from the clerks' corrections",
                    models / legacy,
                )
        shipped = settings.content.category_model
        made = cls._first(models / MODEL_FILE, shipped, config_dir)
        made._reload = lambda: cls._first(models / MODEL_FILE, shipped, config_dir)
        made._watched, made._stamp = models / MODEL_FILE, _stamp(models / MODEL_FILE)
        made._checked = time.monotonic()
        return made

    @classmethod
    def _first(cls, local: Path | None, shipped: str, config_dir: Path) -> LearnedCategories:
        for path, source in (
            (local, "trained here"),
            (config_dir / shipped if shipped else None, "shipped"),
        ):
            if path is None or not path.exists():
                continue
            try:
                model = NgramModel.load(path)
            except ModelFileError as error:
                logger.error("%s; passed over", error)
                continue
            logger.info("category model (%s): %s", source, path)
            return cls(
                model,
                f"{source}: {path}",
                float(model.about.get("min_confidence", MIN_CONFIDENCE)),
            )
        return cls(None, "none: the rules decide alone")

    @classmethod
    def fitted(cls, pipeline: Any, min_confidence: float = MIN_CONFIDENCE) -> LearnedCategories:
        """Around a scikit-learn `_pipeline()` fitted in memory (the bench, tests)."""
        return cls(NgramModel.from_pipeline(pipeline), "in memory", min_confidence)

    def refresh(self, force: bool = False) -> bool:
        """Loads the model again if the file trained here appeared, changed or went; True then.
        Checked at most every RECHECK_S (a stat) when asked for a guess, or now (`force`)."""
        now = time.monotonic()
        if self._reload is None or self._watched is None:
            return False
        if not force and now - self._checked < RECHECK_S:
            return False
        self._checked = now
        stamp = _stamp(self._watched)
        if stamp == self._stamp:
            return False
        fresh = self._reload()
        self._stamp = stamp
        self.model, self.source = fresh.model, fresh.source
        self.min_confidence = fresh.min_confidence
        logger.info("category model now in use: %s", self.source)
        return True

    def guess(self, clean_text: str) -> tuple[str, float] | None:
        """The model's answer and its probability, whatever the thresholds; None for a line
        with no request in it (`has_content`)."""
        self.refresh()
        model = self.model
        if model is None or not has_content(clean_text) or model.known(clean_text) < MIN_KNOWN:
            return None
        return model.guess(clean_text)

    def judge(self, clean_text: str) -> Judgement | None:
        """Category and urgency of a line; None without a model or a request in the line."""
        said = self.guess(clean_text)
        model = self.model
        if said is None or model is None:
            return None
        category, confidence = said
        urgency, review = "normal", confidence < self.min_confidence
        odds = model.urgency_probabilities(clean_text)
        if odds:
            limits = {
                **URGENCY_THRESHOLDS,
                **{k: float(v) for k, v in model.about.items() if k in URGENCY_THRESHOLDS},
            }
            safety = odds.get("safety", 0.0)
            if safety >= limits["safety_sure"] or (
                safety >= limits["safety_review"]
                and (
                    limits["safety_evidence"] <= 0
                    or model.safety_pull(clean_text) >= limits["safety_evidence"]
                )
            ):
                urgency = "safety"
                review = review or odds["safety"] < limits["safety_sure"]
            elif odds.get("leak", 0.0) >= limits["leak"]:
                urgency = "leak"
        return Judgement(category, confidence, urgency, review)


def describe(settings: Settings, config_dir: Path = CONFIG_DIR) -> list[str]:
    """What `hotline models list` says of the category model: which one is in use, what it
    was trained on, and the last nightly training's verdict."""
    in_use = LearnedCategories.load(settings, config_dir)
    lines = [f"category model: {in_use.source}"]
    if in_use.model is not None:
        about = in_use.model.about
        trained = (
            f"{sum(int(f['lines']) for f in about['trained_on'])} labelled lines of "
            f"{len(about['trained_on'])} files"
            if "trained_on" in about
            else f"{about.get('examples', '?')} lines, {about.get('corrections', 0)} of them "
            "clerks' corrections"
        )
        lines.append(
            f"  {len(in_use.model.weights)} n-grams, {len(in_use.model.classes)} categories, "
            f"trained on {trained}; answers category and "
            + ("urgency" if in_use.model.urgency_classes else "no urgency (the triggers alone)")
            + f" where no override keyword is said, flagged for a clerk below p "
            f"{in_use.min_confidence:.2f}"
        )
    last = _read_last(settings.paths.data_dir / "models" / LAST_TRAINING)
    if not last:
        lines.append("  last training from clerks' corrections: none yet")
    else:
        lines.append(
            f"  last training from clerks' corrections: {last.get('trained_at')}, "
            f"{last.get('corrections')} corrections: rules {last.get('rules_accuracy')}, "
            f"rules + model {last.get('combined_accuracy')} on folds: "
            + ("kept" if last.get("kept") else "not kept")
        )
    return lines


def has_content(clean_text: str) -> bool:
    """Whether anything but hesitations, hellos, thanks and goodbyes was said."""
    rest = text.strip_fillers(clean_text).lower()
    for word in NO_REQUEST:
        rest = rest.replace(word, "")
    return len("".join(rest.split())) >= MIN_CONTENT


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size
