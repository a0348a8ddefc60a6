"""The nightly retraining of the category model from clerks' corrections (the worker's
`retrain_categories` task), what it last saw and decided (data_dir/models/last_training.json),
and what `hotline models list` says of the model in use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from recorder.settings import CONFIG_DIR
from transcripts.learned import LearnedCategories
from transcripts.ngram_model import ModelFileError, NgramModel
from transcripts.rules import CategoryRules
from transcripts.settings import TranscriptsSettings as Settings
from transcripts.training import MIN_EXAMPLES, TrainingReport, train
from transcripts.training_data import corrected, read_examples, read_sources

logger = logging.getLogger(__name__)
#: What the last nightly training saw and decided (data_dir/models/): the same corrections
#: are not trained on twice.
LAST_TRAINING = "last_training.json"


def retrain(
    sessions: sessionmaker[Session],
    settings: Settings,
    rules: CategoryRules,
    config_dir: Path = CONFIG_DIR,
) -> TrainingReport | None:
    """The nightly training (the worker's `retrain_categories` task): clerks' corrections of
    category and urgency, and the labelled files the shipped model was trained on (those
    present, with their urgency column and each line's source), as `hotline classify train
    --labelled ...` would;
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
    # Each line's source, so the kept model's safety and leak thresholds are chosen on its own
    # lines' folds by source as the shipped model's are (transcripts/urgency_thresholds.py):
    # each corrected call is one caller's own words (real); a corpus line names its source.
    groups = [f"clerks' correction {n}" for n in range(count)]
    for path in files:
        rows += read_examples(path)
        groups += read_sources(path)
    real = [n < count or not source.startswith("own-") for n, source in enumerate(groups)]
    examples = [(said, category) for said, category, _ in rows]
    urgencies = [urgency or "normal" for _, _, urgency in rows]
    report = train(examples, rules, models, count, urgencies=urgencies, groups=groups, real=real)
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
