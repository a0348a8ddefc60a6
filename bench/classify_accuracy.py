"""Accuracy and speed of text-to-log-fields on the labelled utterances.

    .venv/bin/python bench/classify_accuracy.py

Two sets: tests/data/utterances.tsv (the rules were tuned on it: an upper
bound) and tests/data/utterances_heldout.tsv (written after tuning, never
used for it: the honest figure). Baseline column: the learned classifier,
cross-validated on the tuning set, where it is installed; targets from issue 7.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hotline.content import load_content  # noqa: E402
from hotline.settings import Settings  # noqa: E402
from tests.labelled import FIELDS, Utterance  # noqa: E402
from transcripts.fields import fill_entry  # noqa: E402
from transcripts.learned import read_labelled, train  # noqa: E402

TARGET = 0.95


def load(path: Path) -> list[Utterance]:
    import tests.labelled as labelled

    saved, labelled.DATA = labelled.DATA, path
    try:
        return labelled.utterances()
    finally:
        labelled.DATA = saved


def score(items: list[Utterance]) -> tuple[dict[str, float], Counter[tuple[str, str]]]:
    content = load_content(Settings())
    right: Counter[str] = Counter()
    confusion: Counter[tuple[str, str]] = Counter()
    for item in items:
        got = fill_entry(item.text, content, datetime.now(UTC), item.lang).as_json()
        right.update(name for name in FIELDS if got[name] == item.expected[name])
        confusion[(str(item.expected["category"]), str(got["category"]))] += 1
    return {name: right[name] / len(items) for name in FIELDS}, confusion


def throughput(lines: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "hotline", "classify", "--json"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return len(lines) / (time.perf_counter() - start)


def main() -> None:
    tuned = load(ROOT / "tests/data/utterances.tsv")
    held = load(ROOT / "tests/data/utterances_heldout.tsv")
    tuned_acc, _ = score(tuned)
    held_only, held_confusion = score(held)
    report = train(
        read_labelled(ROOT / "tests/data/utterances.tsv"),
        load_content(Settings()).categories,
        Path("/tmp/hotline-bench-classifier"),
        0,
    )
    print(f"{'field':<10} {'tuning set':>11} {'held out':>9} {'target':>7}")
    for name in FIELDS:
        print(f"{name:<10} {tuned_acc[name]:>11.3f} {held_only[name]:>9.3f} {TARGET:>7.2f}")
    print(f"\n(n = {len(tuned)} tuning, {len(held)} held out)")
    print(
        f"category, rules on the tuning set {report.rules_accuracy:.3f}; "
        f"learned classifier, 5-fold cross-validated (baseline) {report.learned_accuracy:.3f}"
    )
    print("\nconfusion on the held-out set (expected -> got, mistakes only):")
    for (want, got), count in sorted(held_confusion.items()):
        if want != got:
            print(f"  {want:>12} -> {got:<12} {count}")
    lines = [u.text for u in tuned if u.lang == "zh"] * 20
    print(
        f"\nthroughput through one `hotline classify --json` process: {throughput(lines):.0f} utterances/s "
        f"({len(lines)} lines, process start included)"
    )


if __name__ == "__main__":
    main()
