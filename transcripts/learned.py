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

Training is in transcripts/training.py (its data read by transcripts/training_data.py),
the nightly retraining and `describe` in transcripts/retraining.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recorder.settings import CONFIG_DIR
from transcripts import text
from transcripts.ngram_model import (
    FORMAT,
    FORMATS,
    ModelFileError,
    NgramModel,
)
from transcripts.settings import TranscriptsSettings as Settings

__all__ = ["FORMAT", "FORMATS", "ModelFileError", "NgramModel"]

logger = logging.getLogger(__name__)
#: The model trained here (data_dir/models/), and the shipped one's default name in config/.
MODEL_FILE = "category_model.json"

#: What earlier versions saved (a scikit-learn pickle): no longer read, a retrain replaces it.
LEGACY_FILES = ("classifier.joblib", "classifier.json")

#: Below this probability of its category the model still answers, and the entry is flagged
#: for a clerk (eight categories: 0.125 is a blind guess).
MIN_CONFIDENCE = 0.3

#: The urgency the model gives: safety at P(safety) >= safety_review, flagged for a clerk while
#: below safety_sure (a missed safety call costs far more than a false alarm); else leak at
#: P(leak) >= leak. These are the defaults, read off the own-imitation sets' folds; a model
#: trained with its lines' sources records its own safety_review and leak, chosen for recall on
#: its training lines' folds by source (transcripts/urgency_thresholds.py), and those are used.
#: `safety_evidence` (off: 0): below safety_sure, safety is taken only when one n-gram of the
#: line pulls towards safety (over normal) by at least this much. 0.25, the largest value that
#: loses none of the own sets' safety lines on their folds (it drops 10 of their 99 false
#: alarms in the unsure band), still lost one of the residents' 61 safety lines (0.934 ->
#: 0.918, bench/category_model.py): a missed safety call costs more than a false alarm, so it
#: ships off. A complaint about a repair never done (投诉 报修 一直 没 修) stays safety-unsure,
#: flagged for a clerk (issue 18: unsure between safety and normal, safety).
#: `leak_over_unsure_safety` (1: on): unsure of safety and P(leak) > P(safety), leak, flagged for a
#: clerk; a model turns it on only where its training folds keep safety recall at the target.
URGENCY_THRESHOLDS = {
    "safety_review": 0.2,
    "safety_sure": 0.4,
    "leak": 0.3,
    "safety_evidence": 0.0,
    "leak_over_unsure_safety": 0.0,
}

#: How often a process in service looks whether the model trained here changed (seconds).
RECHECK_S = 60.0

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
            safety, leak = odds.get("safety", 0.0), odds.get("leak", 0.0)
            unsure = limits["safety_review"] <= safety < limits["safety_sure"]
            if unsure and limits["leak_over_unsure_safety"] and leak > safety:
                urgency, review = "leak", True  # unsure of safety, a leak likelier: a clerk looks
            elif safety >= limits["safety_sure"] or (
                unsure
                and (
                    limits["safety_evidence"] <= 0
                    or model.safety_pull(clean_text) >= limits["safety_evidence"]
                )
            ):
                urgency = "safety"
                review = review or unsure
            elif leak >= limits["leak"]:
                urgency = "leak"
        return Judgement(category, confidence, urgency, review)


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
