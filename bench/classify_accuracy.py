"""Accuracy and speed of text-to-log-fields on the labelled utterances.

    .venv/bin/python bench/classify_accuracy.py

Two sets: tests/data/utterances.tsv (the rules were tuned on it: an upper
bound) and tests/data/utterances_heldout.tsv (written after the last tuning
and never used for it: the honest figure). Columns: the rules-only
classifier (what `hotline classify` uses until a learned model beats it),
the learned classifier (char n-gram TF-IDF + logistic regression trained on
the tuning set; on the tuning set its figure is 5-fold cross-validated), and
issue 7's targets. Then the category confusion table on both sets together
and the throughput of one `hotline classify --json` process fed on stdin.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hotline.content import Content, load_content  # noqa: E402
from hotline.settings import Settings  # noqa: E402
from tests.labelled import FIELDS, Utterance  # noqa: E402
from transcripts.fields import fill_entry  # noqa: E402
from transcripts.learned import LearnedCategories, read_labelled, train  # noqa: E402

TARGET = 0.95
TUNING = ROOT / "tests/data/utterances.tsv"
HELD_OUT = ROOT / "tests/data/utterances_heldout.tsv"
Scores = dict[str, float]


def load(path: Path) -> list[Utterance]:
    import tests.labelled as labelled

    saved, labelled.DATA = labelled.DATA, path
    try:
        return labelled.utterances()
    finally:
        labelled.DATA = saved


def predict(items: list[Utterance], content: Content, model: object = None) -> list[dict]:
    when = datetime.now(UTC)
    return [
        fill_entry(item.text, content, when, item.lang, learned=model).as_json()  # type: ignore[arg-type]
        for item in items
    ]


def score(items: list[Utterance], got: list[dict]) -> Scores:
    right: Counter[str] = Counter()
    for item, result in zip(items, got, strict=True):
        right.update(name for name in FIELDS if result[name] == item.expected[name])
    return {name: right[name] / len(items) for name in FIELDS}


def print_accuracy(columns: dict[str, Scores], sizes: str) -> None:
    print(f"accuracy per field ({sizes})\n")
    print(f"{'field':<10}" + "".join(f"{name:>22}" for name in columns) + f"{'target':>8}")
    for field in FIELDS:
        cells = "".join(
            f"{scores[field]:>22.3f}" if field in scores else f"{'-':>22}"
            for scores in columns.values()
        )
        print(f"{field:<10}{cells}{TARGET:>8.2f}")


def print_confusion(items: list[Utterance], got: list[dict]) -> None:
    keys = [
        "repair",
        "complaint",
        "inquiry",
        "praise",
        "suggestion",
        "message",
        "convenience",
        "other",
    ]
    counts = Counter(
        (str(i.expected["category"]), str(g["category"])) for i, g in zip(items, got, strict=True)
    )
    print("\ncategory confusion, rules (rows: labelled, columns: classified; both sets)\n")
    print(f"{'':<12}" + "".join(f"{k[:6]:>7}" for k in keys))
    for want in keys:
        print(f"{want:<12}" + "".join(f"{counts[(want, k)] or '.':>7}" for k in keys))


def throughput(lines: list[str]) -> float:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    with tempfile.TemporaryDirectory() as empty:  # no trained model there: the rules
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "hotline", "classify", "--json"],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            check=True,
            cwd=empty,
            env=environ,
        )
        return len(lines) / (time.perf_counter() - start)


def main() -> None:
    content = load_content(Settings())
    tuned, held = load(TUNING), load(HELD_OUT)
    tuned_got, held_got = predict(tuned, content), predict(held, content)
    with tempfile.TemporaryDirectory() as models:
        examples = read_labelled(TUNING)
        # Rules that know no keyword: the learned model always "wins" and is saved for the bench.
        data = content.categories.model_dump()
        for category in data["category"]:
            category.update(keywords=[], things=[], faults=[])
        report = train(examples, type(content.categories).model_validate(data), Path(models), 0)
        learned_held = score(held, predict(held, content, LearnedCategories(Path(models))))
    columns = {
        "rules, tuning set": score(tuned, tuned_got),
        "rules, held out": score(held, held_got),
        "learned, tuning (CV)": {"category": report.learned_accuracy},
        "learned, held out": {k: learned_held[k] for k in ("category", "urgency")},
    }
    zh_tuned = sum(i.lang == "zh" for i in tuned)
    zh_held = sum(i.lang == "zh" for i in held)
    print_accuracy(
        columns,
        f"n = {len(tuned)} tuning ({len(tuned) - zh_tuned} English), "
        f"{len(held)} held out ({len(held) - zh_held} English); learned: Mandarin only",
    )
    print_confusion(tuned + held, tuned_got + held_got)
    lines = [u.text for u in tuned if u.lang == "zh"] * 20
    rate = throughput(lines)
    print(
        f"\nthroughput, one `hotline classify --json` process on stdin: {rate:.0f} utterances/s "
        f"({len(lines)} lines, process start included)"
    )


if __name__ == "__main__":
    main()
