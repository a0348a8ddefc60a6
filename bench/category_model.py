"""The learned category model judged the only honest way: chronologically, on the blind sets.

    .venv/bin/python bench/category_model.py [--sets heldout4 ... heldout8]

Each blind set (tests/data/utterances_heldoutN.tsv) was written after round N of the rules
and measured once with them. Here each is classified again with the rules of its own round
(that commit's code and config/, from `git archive`, in a child process), and the model is
trained only on the sets written before it (tuning, old held-out, held-out2 .. N-1), so
neither had seen a line of it. Mandarin lines only (the model is Mandarin-only).

Columns, category accuracy per set:
- rules: the rules of that round alone (the recorded blind figure, on Mandarin lines);
- baseline: the combination before caa44f5, the fallback: a model with every n-gram
  (min_df 1), answering only where the rules found nothing, at p >= 0.3;
- now: transcripts.learned as it is (`answer`: p >= MIN_CONFIDENCE where the rules found
  nothing, p >= OVERRIDE_CONFIDENCE anywhere; n-grams in fewer than MIN_DF lines dropped);
- model alone: the model now, without the rules (for comparison; never used alone);
then the same `now` for each override threshold, the choice's neighbourhood. The threshold
and MIN_DF were chosen on these five sets, so their figures here are no longer blind: the
blind test of the choice is the set written after it (RECORDED below, measured once).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from transcripts.learned import (  # noqa: E402
    MIN_CONFIDENCE,
    OVERRIDE_BY_LANGUAGE,
    answer,
    fit,
    read_labelled,
)

DATA = ROOT / "tests" / "data"
#: The sets in the order they were written.
#: train1 and train2 (training data for the model, never held-out sets) were each written
#: after the held-out set that follows them here, but blind to it: train1 counts as written
#: before held-out10, train2 before held-out11, neither before any earlier set.
ORDER = [
    "tuning",
    "old",
    *(f"heldout{n}" for n in range(2, 10)),
    "train1",
    "heldout10",
    "train2",
    "heldout11",
]
FILES = {
    "tuning": DATA / "utterances.tsv",
    "old": DATA / "utterances_heldout.tsv",
    **{f"heldout{n}": DATA / f"utterances_heldout{n}.tsv" for n in range(2, 12)},
    "train1": DATA / "utterances_train1.tsv",
    "train2": DATA / "utterances_train2.tsv",
}
#: The commit of the rules each blind set was measured with (bench/classify_accuracy.py's
#: RECORDED_HELDOUTn); rounds 2 and 3 had no `no_evidence` yet, so they are not judged here.
ROUND_OF = {
    "heldout4": "0bc9bfc",
    "heldout5": "eb4d1db",
    "heldout6": "214d79a",
    "heldout7": "32166e1",
    "heldout8": "b944e67",
    "heldout9": "8046296",
    "heldout10": "605a0ca",
    "heldout11": "2ab8ca4",
}
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 1.01)
#: What a child prints: per line in the language asked for, the text as classified, the
#: rules' category and whether they found nothing (English: whether they said `other`), with
#: the code and config of one round.
CHILD = """
import json, sys
from datetime import UTC, datetime
sys.path.insert(0, sys.argv[2])  # the round's code, before the installed checkout
from hotline.content import load_content
from hotline.settings import Settings
from transcripts import text
from transcripts.classify import classify
from transcripts.fields import fill_entry
content = load_content(Settings())
english = sys.argv[3] == "en"
rows = []
for line in open(sys.argv[1], encoding="utf-8"):
    parts = line.rstrip("\\n").split("\\t")
    if line.startswith("#") or len(parts) < 2 or parts[0].startswith("en:") != english:
        continue
    if english:
        said = " ".join(parts[0][3:].split())
        category = fill_entry(said, content, datetime.now(UTC), "en").category
        rows.append([said, parts[1], category, category == "other"])
        continue
    clean = text.clean(parts[0])
    said = classify(clean, content.categories)
    rows.append([clean, parts[1], said.category, said.no_evidence])
import hotline
assert hotline.__file__.startswith(sys.argv[2]), hotline.__file__
print(json.dumps(rows, ensure_ascii=False))
"""


def rules_of(commit: str, path: Path, scratch: Path, lang: str) -> list[tuple[str, str, str, bool]]:
    tree = scratch / commit
    if not tree.exists():
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True
        ).stdout
        tree.mkdir()
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(tree), lang],
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
        env={"PATH": "/usr/bin:/bin", "HOTLINE_CONFIG_DIR": str(tree / "config")},
    ).stdout
    return [tuple(row) for row in json.loads(out)]  # type: ignore[misc]


def baseline_model(examples: list[tuple[str, str]]) -> object:
    """The fallback before caa44f5: every n-gram kept (scikit-learn, as it was)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
        LogisticRegression(max_iter=2000, C=10.0),
    ).fit([t for t, _ in examples], [c for _, c in examples])


def judge(name: str, scratch: Path, lang: str) -> dict[str, float]:
    rows = rules_of(ROUND_OF[name], FILES[name], scratch, lang)
    earlier = [
        e for before in ORDER[: ORDER.index(name)] for e in read_labelled(FILES[before], lang)
    ]
    model = fit(earlier)
    override = OVERRIDE_BY_LANGUAGE[lang]
    old = baseline_model(earlier)
    old_rows = old.predict_proba([r[0] for r in rows])  # type: ignore[attr-defined]
    classes = [str(c) for c in old.classes_]  # type: ignore[attr-defined]
    figures: dict[str, list[bool]] = {}

    def count(column: str, got: str, want: str) -> None:
        figures.setdefault(column, []).append(got == want)

    for (clean, want, by_rules, no_evidence), probabilities in zip(rows, old_rows, strict=True):
        guess, confidence = model.guess(clean)
        count("rules", by_rules, want)
        best = max(range(len(classes)), key=lambda i: probabilities[i])
        count(
            "baseline",
            # English had no model before: its baseline is the rules
            answer(by_rules, no_evidence, classes[best], probabilities[best], 0.3, 1.01)
            if lang == "zh"
            else by_rules,
            want,
        )
        count(
            "now", answer(by_rules, no_evidence, guess, confidence, MIN_CONFIDENCE, override), want
        )
        count("model alone", guess, want)
        for threshold in THRESHOLDS:
            count(
                f"override {threshold:.2f}",
                answer(by_rules, no_evidence, guess, confidence, MIN_CONFIDENCE, threshold),
                want,
            )
    return {column: sum(right) / len(right) for column, right in figures.items()} | {
        "lines": len(rows)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=ROUND_OF, default=list(ROUND_OF))
    parser.add_argument("--lang", choices=("zh", "en"), default="zh")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        results = {name: judge(name, Path(scratch), args.lang) for name in args.sets}
    columns = [c for c in next(iter(results.values())) if c != "lines"]
    override = OVERRIDE_BY_LANGUAGE[args.lang]
    print(
        f"category accuracy, {'English' if args.lang == 'en' else 'Mandarin'} lines, each set "
        f"with the rules of its round and a model trained on the sets before it\n(now: p >= "
        f"{MIN_CONFIDENCE} where the rules found nothing"
        + (f", p >= {override} anywhere" if override <= 1 else ", never over them")
        + "; baseline: "
        + (
            "the fallback before caa44f5)\n"
            if args.lang == "zh"
            else "the rules, no model before)\n"
        )
    )
    print(f"{'set':<10}{'rules at':>10}{'lines':>7}" + "".join(f"{c:>15}" for c in columns))
    for name, figures in results.items():
        print(
            f"{name:<10}{ROUND_OF[name]:>10}{figures['lines']:>7.0f}"
            + "".join(f"{figures[c]:>15.3f}" for c in columns)
        )
    means = {c: statistics.mean(f[c] for f in results.values()) for c in columns}
    worst = {c: min(f[c] for f in results.values()) for c in columns}
    print(f"{'mean':<27}" + "".join(f"{means[c]:>15.3f}" for c in columns))
    print(f"{'worst':<27}" + "".join(f"{worst[c]:>15.3f}" for c in columns))
    lines = sum(f["lines"] for f in results.values())
    pooled = {c: sum(f[c] * f["lines"] for f in results.values()) / lines for c in columns}
    print(f"{'all lines':<20}{lines:>7.0f}" + "".join(f"{pooled[c]:>15.3f}" for c in columns))
    better = sum(f["now"] > f["baseline"] for f in results.values())
    print(f"\nnow beats the baseline on {better} of {len(results)} sets")


if __name__ == "__main__":
    main()
