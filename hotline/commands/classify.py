"""hotline classify: what the reception log would be filled with for a transcript.

CLI contract (scripts depend on it): `hotline classify [--lang zh] --json TEXT`
prints one JSON object with the keys category, category_label, urgency,
surname, unit, phone, summary (null where absent); with `--caller NUMBER` also unit_source ("directory",
"speech" or null) and households (the directory's households of that number). With no TEXT, one
utterance per line from standard input, one JSON object per line.
`hotline classify train [--labelled FILE ...] [--holdout FILE ...]` trains the learned
category and urgency model from clerks' corrections (and labelled files) and keeps it only
when it (with the rules' overrides) beats the rules alone; `--ship PATH` writes the shipped
model from labelled files instead (transcripts/training.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotline.app import App
from hotline.errors import ConfigError

if TYPE_CHECKING:
    from transcripts.training import TrainingReport

READY = True
NAME = "classify"
HELP = "extract log fields and a category from transcript text (or `classify train`)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "text",
        nargs="?",
        metavar="TEXT",
        help="omitted: one utterance per line on stdin; `train`: train",
    )
    parser.add_argument("--lang", default="zh", choices=["zh", "en"])
    parser.add_argument("--json", action="store_true", help="print JSON (one object per line)")
    parser.add_argument(
        "--caller",
        metavar="NUMBER",
        help="the caller's number: looked up in the resident directory (adds unit_source "
        "and households)",
    )
    parser.add_argument(
        "--labelled",
        metavar="FILE",
        action="append",
        default=[],
        help="train: a labelled TSV (text, category, ...) as well; may be repeated",
    )
    parser.add_argument(
        "--holdout",
        metavar="FILE",
        action="append",
        default=[],
        help="train: labelled lines the rules were never written on; they decide (repeatable)",
    )
    parser.add_argument(
        "--ship",
        metavar="PATH",
        type=Path,
        help="train: write the shipped model (config/rules/category_model.json) from the "
        "--labelled files alone, whatever the folds say (its evidence: bench/category_model.py)",
    )


def _train(args: argparse.Namespace, app: App) -> int:
    from transcripts import training, training_data

    rows: list[tuple[str, str, str]] = []
    if args.ship is None:
        sessions = app.ready_database()
        with sessions() as session:
            rows = training_data.corrected(session)
    count = len(rows)
    files = [Path(path) for path in args.labelled]
    for path in files:
        rows += training_data.read_examples(path, args.lang)
    examples = [(said, category) for said, category, _ in rows]
    if args.ship and args.lang == "en":  # the folds judge Mandarin rules: none to print here
        return _ship(training, examples, files, args)
    if args.lang == "en":
        raise ConfigError(
            "classify train --lang en: only the shipped English model (--ship PATH) is trained; "
            "clerks' corrections train the Mandarin one"
        )
    held = [row for path in args.holdout for row in training_data.read_examples(Path(path))]
    report = training.train(
        examples,
        app.content.categories,
        None if args.ship else app.settings.paths.data_dir / "models",
        count,
        holdout=[(said, category) for said, category, _ in held],
        urgencies=[urgency or "normal" for _, _, urgency in [*rows, *held]],
    )
    for line in training_lines(report, verdict=args.ship is None):
        print(line)
    return _ship(training, examples, files, args) if args.ship else 0


def _ship(
    training: Any, examples: list[tuple[str, str]], files: list[Path], args: argparse.Namespace
) -> int:
    model = training.ship(examples, files, args.ship, args.lang)
    print(
        f"shipped model ({args.lang}) written to {args.ship}: {len(model.weights)} n-grams, "
        f"{len(model.classes)} categories, trained on {len(examples)} lines of "
        f"{len(files)} files, "
        + ("with" if model.urgency_classes else "without (one urgency level in the files)")
        + " an urgency head (whatever any folds say: the shipped model is judged by source, "
        "bench/category_model.py)"
    )
    return 0


def training_lines(report: TrainingReport, verdict: bool = True) -> list[str]:
    """What `classify train` prints: both figures, per source, and how far to trust them;
    then (`verdict`) whether the model was kept."""
    lines = [
        f"examples: {report.examples} ({report.corrections} from clerks' corrections), "
        f"{report.folds}-fold cross-validation",
        f"rules alone:                                   {report.rules_accuracy:.3f}",
        f"learned model + override keywords, cross-validated: {report.combined_accuracy:.3f}",
        f"(learned alone, cross-validated, not used:     {report.learned_accuracy:.3f})",
        f"no override keyword in {report.no_evidence} lines (the model answers them); the "
        f"answer differs from the rules' alone in {report.changed}, {report.changed_right} rightly",
    ]
    for source in report.sources:
        lines.append(
            f"  {source.name}: {source.examples} lines, rules {source.rules_accuracy:.3f}, "
            f"model + overrides {source.combined_accuracy:.3f}"
        )
    lines.append(
        "  (the rules were written on the labelled files: their figure there is optimistic; "
        "clerks' corrections are lines the desk got wrong: the rules' figure there is "
        "pessimistic)"
    )
    if report.holdout is not None:
        held = report.holdout
        lines.append(
            f"held-out lines (--holdout, never used to write the rules): {held.examples}, "
            f"rules {held.rules_accuracy:.3f}, model + overrides {held.combined_accuracy:.3f} "
            "(this decides)"
        )
    if not verdict:
        return lines
    if report.saved:
        lines.append(
            f"the learned model (with the overrides) beats the rules alone: saved to {report.saved} "
            "and used from now on (in place of the shipped model)"
        )
    else:
        lines.append(
            "the learned model (with the overrides) does not beat the rules alone: "
            "nothing trained here is kept (the shipped model, if any, stays in use)"
        )
    return lines


def run(args: argparse.Namespace, app: App) -> int:
    from transcripts.fields import fill_entry
    from transcripts.learned import LearnedCategories

    if args.text == "train":
        return _train(args, app)
    content = app.content
    model = LearnedCategories.load(app.settings, lang=args.lang)
    lines = [args.text] if args.text is not None else (line.rstrip("\n") for line in sys.stdin)
    sessions = app.ready_database() if args.caller is not None else None
    for line in lines:
        fields = fill_entry(line, content, datetime.now(UTC), args.lang, learned=model)
        answer = fields.as_json()
        if sessions is not None:
            from transcripts.caller import as_json, recognise_in

            with sessions() as session:
                answer = as_json(fields, recognise_in(session, args.caller, fields))
        if args.json:
            print(json.dumps(answer, ensure_ascii=False), flush=True)
        else:
            shown = {k: v for k, v in answer.items() if v not in (None, [])}
            print("  ".join(f"{k}={v}" for k, v in shown.items()), flush=True)
    return 0
