"""hotline classify: what the reception log would be filled with for a transcript.

CLI contract (scripts depend on it): `hotline classify [--lang zh] --json TEXT`
prints one JSON object with the keys category, category_label, urgency,
surname, unit, phone, summary (null where absent). With no TEXT, one
utterance per line from standard input, one JSON object per line.
`hotline classify train [--labelled FILE]` trains the learned classifier.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from hotline.app import App

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
        "--labelled", metavar="FILE", help="train: a labelled TSV (text, category, ...) as well"
    )


def _train(args: argparse.Namespace, app: App) -> int:
    from transcripts import learned

    sessions = app.ready_database()
    with sessions() as session:
        examples = learned.corrections(session)
    count = len(examples)
    if args.labelled:
        examples += learned.read_labelled(Path(args.labelled))
    report = learned.train(
        examples, app.content.categories, app.settings.paths.data_dir / "models", count
    )
    print(f"examples: {report.examples} ({report.corrections} from clerks' corrections)")
    print(f"rules, accuracy on them:                   {report.rules_accuracy:.3f}")
    print(f"learned, cross-validated accuracy:         {report.learned_accuracy:.3f}")
    if report.saved:
        print(
            f"the learned classifier beats the rules: saved to {report.saved} and used from now on"
        )
    else:
        print("the learned classifier does not beat the rules: the rules stay in use")
    return 0


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
