"""hotline classify: what the reception log would be filled with for a transcript.

CLI contract (scripts depend on it): `hotline classify [--lang zh] --json TEXT`
prints one JSON object with the keys category, category_label, urgency,
surname, unit, phone, summary (null where absent). With no TEXT, one
utterance per line from standard input, one JSON object per line.
`hotline classify train [--labelled FILE ...]` trains the learned fallback (used where
the rules find nothing) and keeps it only when it beats the rules on folds.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.app import App

if TYPE_CHECKING:
    from transcripts import learned as learned_module

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


def _train(args: argparse.Namespace, app: App) -> int:
    from transcripts import learned

    sessions = app.ready_database()
    with sessions() as session:
        examples = learned.corrections(session)
    count = len(examples)
    for path in args.labelled:
        examples += learned.read_labelled(Path(path))
    holdout = [example for path in args.holdout for example in learned.read_labelled(Path(path))]
    report = learned.train(
        examples,
        app.content.categories,
        app.settings.paths.data_dir / "models",
        count,
        holdout=holdout,
    )
    for line in training_lines(report):
        print(line)
    return 0


def training_lines(report: learned_module.TrainingReport) -> list[str]:
    """What `classify train` prints: both figures, per source, and how far to trust them."""
    lines = [
        f"examples: {report.examples} ({report.corrections} from clerks' corrections), "
        f"{report.folds}-fold cross-validation",
        f"rules alone:                                   {report.rules_accuracy:.3f}",
        f"rules + learned fallback, cross-validated:     {report.combined_accuracy:.3f}",
        f"(learned alone, cross-validated, not used:     {report.learned_accuracy:.3f})",
        f"the rules found nothing in {report.no_evidence} lines; the fallback answered "
        f"{report.fallback_answered} (probability >= {report.min_confidence:.2f}), "
        f"{report.fallback_right} rightly",
    ]
    for source in report.sources:
        lines.append(
            f"  {source.name}: {source.examples} lines, rules {source.rules_accuracy:.3f}, "
            f"rules + fallback {source.combined_accuracy:.3f}"
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
            f"rules {held.rules_accuracy:.3f}, rules + fallback {held.combined_accuracy:.3f} "
            "(this decides)"
        )
    if report.saved:
        lines.append(
            f"the rules with the learned fallback beat the rules alone: saved to {report.saved} "
            "and used from now on where the rules find nothing"
        )
    else:
        lines.append(
            "the rules with the learned fallback do not beat the rules alone: "
            "the rules stay in use alone"
        )
    return lines


def run(args: argparse.Namespace, app: App) -> int:
    from transcripts.fields import fill_entry
    from transcripts.learned import LearnedCategories

    if args.text == "train":
        return _train(args, app)
    content = app.content
    model = LearnedCategories(app.settings.paths.data_dir / "models")
    lines = [args.text] if args.text is not None else (line.rstrip("\n") for line in sys.stdin)
    for line in lines:
        fields = fill_entry(line, content, datetime.now(UTC), args.lang, learned=model)
        if args.json:
            print(json.dumps(fields.as_json(), ensure_ascii=False), flush=True)
        else:
            shown = {k: v for k, v in fields.as_json().items() if v is not None}
            print("  ".join(f"{k}={v}" for k, v in shown.items()), flush=True)
    return 0
