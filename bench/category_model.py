"""The classifier judged by source, never on what it was trained on (run by hand).

    .venv/bin/python bench/category_model.py [--folds 5]

Every source of the corpus (corpus/lines: each own-imitation file is one source; the residents'
lines name theirs in their last column, corpus/sources.toml) is held out whole: the model is
trained on every other source and `fill_entry` (the overrides and hard triggers of
config/rules/categories.toml with that model, as in production) fills the held-out lines. The
residents' sources are held out in `--folds` groups of whole sources (sorted by name), the own
sets one file at a time. Printed per kind of source: category accuracy, recall and precision per
category, the confusion table, urgency recall and precision per level, the share flagged for a
clerk, unit exact; then the speed of the shipped model in one process. Each fold's model chooses
its safety and leak thresholds on its own training lines' folds by source
(transcripts/urgency_thresholds.py), as the shipped model does: printed per fold.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hotline.content import load_content  # noqa: E402
from hotline.settings import Settings  # noqa: E402
from transcripts import learned, training, training_data  # noqa: E402
from transcripts.fields import fill_entry  # noqa: E402

LINES = ROOT / "corpus" / "lines"
RECEIVED = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def rows(lang: str) -> list[dict[str, str]]:
    out = []
    for path in sorted(LINES.glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if parts[0].startswith("en:") != (lang == "en"):
                continue
            out.append(
                {
                    "text": parts[0].removeprefix("en:"),
                    "category": parts[1],
                    "urgency": parts[2],
                    "unit": parts[4],
                    "source": parts[6] if len(parts) > 6 else path.stem,
                    "kind": "own" if path.stem.startswith("own-") else "resident",
                }
            )
    return out


def folds(items: list[dict[str, str]], groups: int) -> list[set[str]]:
    own = sorted({r["source"] for r in items if r["kind"] == "own"})
    real = sorted({r["source"] for r in items if r["kind"] == "resident"})
    return [{s} for s in own] + [set(real[i::groups]) for i in range(groups) if real[i::groups]]


def judged(items: list[dict[str, str]], lang: str, groups: int) -> list[dict[str, object]]:
    content = load_content(Settings())
    out: list[dict[str, object]] = []
    for held in folds(items, groups):
        train = [r for r in items if r["source"] not in held]
        clean = [training_data.read_examples_line(r["text"], lang) for r in train]
        model = training.fit(
            [(c, r["category"]) for c, r in zip(clean, train, strict=True)],
            {},
            [r["urgency"] for r in train],
            [r["source"] for r in train],
            [r["kind"] == "resident" for r in train],
        )
        chosen = {
            k: model.about[k]
            for k in ("safety_review", "leak", "leak_over_unsure_safety")
            if k in model.about
        }
        print(f"held out {sorted(held)[:3]}{'...' if len(held) > 3 else ''}: thresholds {chosen}")
        judge = learned.LearnedCategories(model, "bench")
        for r in items:
            if r["source"] in held:
                got = fill_entry(r["text"], content, RECEIVED, lang, learned=judge)
                out.append({**r, "got": got})
    return out


def report(name: str, done: list[dict[str, object]]) -> None:
    if not done:
        return
    n = len(done)
    print(f"\n== {name}: {n} lines, {len({d['source'] for d in done})} sources held out ==")
    right = sum(d["got"].category == d["category"] for d in done)  # type: ignore[attr-defined]
    print(f"category {right / n:.3f}")
    cats = sorted({str(d["category"]) for d in done} | {d["got"].category for d in done})  # type: ignore[attr-defined]
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for d in done:
        confusion[str(d["category"])][d["got"].category] += 1  # type: ignore[attr-defined]
    print(f"{'category':<12} {'n':>4} {'recall':>7} {'precision':>9}")
    for c in cats:
        said = sum(confusion[c].values())
        got = sum(confusion[w][c] for w in confusion)
        rec = confusion[c][c] / said if said else float("nan")
        prec = confusion[c][c] / got if got else float("nan")
        print(f"{c:<12} {said:>4} {rec:>7.3f} {prec:>9.3f}")
    print("confusion (rows: label, columns: answer): " + " ".join(c[:5] for c in cats))
    for c in cats:
        if sum(confusion[c].values()):
            print(f"  {c[:11]:<11} " + " ".join(f"{confusion[c][w]:>5}" for w in cats))
    for level in ("safety", "leak", "normal"):
        said = [d for d in done if d["urgency"] == level]
        got = [d for d in done if d["got"].urgency == level]  # type: ignore[attr-defined]
        hit = [d for d in said if d["got"].urgency == level]  # type: ignore[attr-defined]
        print(
            f"urgency {level:<7} n {len(said):>4}  recall {len(hit) / max(len(said), 1):.3f}  "
            f"precision {len(hit) / max(len(got), 1):.3f}"
        )
    flagged = sum(bool(d["got"].needs_review) for d in done)  # type: ignore[attr-defined]
    units = sum((d["got"].unit or "-") == d["unit"] for d in done)  # type: ignore[attr-defined]
    print(f"flagged for a clerk {flagged / n:.3f}; unit exact {units / n:.3f}")


def speed() -> None:
    content = load_content(Settings())
    model = learned.LearnedCategories.load(Settings())
    lines = [r["text"] for r in rows("zh")][:1000]
    start = time.perf_counter()
    for line in lines:
        fill_entry(line, content, RECEIVED, "zh", learned=model)
    took = time.perf_counter() - start
    print(f"\nspeed: {len(lines) / took:.0f} utterances/s (shipped model, one process)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--lang", choices=("zh", "en"), default="zh")
    parser.add_argument(
        "--report-only",
        type=Path,
        help="report only the residents' lines also in this file (an older resident-web.tsv, "
        "e.g. from `git show REV:corpus/lines/resident-web.tsv`): before/after on the same lines",
    )
    args = parser.parse_args()
    items = rows(args.lang)
    done = judged(items, args.lang, args.folds)
    if args.report_only:
        kept = {line.split("\t")[0] for line in args.report_only.read_text().splitlines()}
        done = [d for d in done if d["kind"] != "resident" or d["text"] in kept]
    report(
        "residents' words (real, held out by source)", [d for d in done if d["kind"] == "resident"]
    )
    report("own imitations (each set held out)", [d for d in done if d["kind"] == "own"])
    if args.lang == "zh":
        speed()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
