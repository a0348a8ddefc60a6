"""Accuracy and speed of text-to-log-fields on the labelled utterances.

    .venv/bin/python bench/classify_accuracy.py [--errors SET] [--skip SET ...]

Five sets, reported apart:
- tuning: tests/data/utterances.tsv, the rules were written on it (an upper bound);
- old held-out: tests/data/utterances_heldout.tsv, written after the first tuning,
  but its errors were read to find the causes fixed in the second round, so it
  now plays the tuning set's part: not an honest figure any more;
- held-out2: tests/data/utterances_heldout2.tsv, written by hand before anything
  was run on it and measured once (RECORDED_HELDOUT2: the honest figures of
  round 2); round 3 then fixed the causes of its errors, so the live column is
  no longer a held-out figure;
- held-out3: tests/data/utterances_heldout3.tsv, written by hand after round 3
  was committed and before anything was run on it: the honest figure of round 3
  (RECORDED_HELDOUT3); round 4 then read its errors and generalised the rules;
- held-out4: tests/data/utterances_heldout4.tsv, written blind after round 4
  and measured once (RECORDED_HELDOUT4: the honest figures of round 4); round 5
  then read its errors and generalised the rules, so the live column is no
  longer a held-out figure;
- held-out5: tests/data/utterances_heldout5.tsv, written blind after round 5
  and measured once (RECORDED_HELDOUT5: the honest figures of round 5); round 6
  then read its errors and generalised the rules, so the live column is no
  longer a held-out figure;
- held-out6: tests/data/utterances_heldout6.tsv, written blind after round 6
  and measured once (RECORDED_HELDOUT6: the honest figures of round 6); round 7
  then read its errors and generalised the rules, so the live column is no
  longer a held-out figure;
- held-out7: tests/data/utterances_heldout7.tsv, written blind after round 7
  and measured once (RECORDED_HELDOUT7: the honest figures of round 7); round 8
  then read its errors and generalised the rules, so the live column is no
  longer a held-out figure;
- held-out8: tests/data/utterances_heldout8.tsv, written blind after round 8
  and measured once (RECORDED_HELDOUT8: the honest figures of round 8); round 9
  then read its errors and generalised the rules, so the live column is no
  longer a held-out figure;
- held-out9: tests/data/utterances_heldout9.tsv, written blind after round 9
  and after the learned model's combination was chosen (caa44f5), measured
  once (RECORDED_HELDOUT9: the honest figures of round 9); round 10 then read
  its errors and generalised the rules, so the live column is no longer a
  held-out figure;
- train1: tests/data/utterances_train1.tsv, 300 Mandarin lines written as
  training data for the learned model (after held-out10, blind to it); round
  10's rules measured once on it (RECORDED_TRAIN1); round 11 then read its
  errors and generalised the rules, so the live column is no longer a blind
  figure;
- held-out10: tests/data/utterances_heldout10.tsv, written blind after round
  10 and measured once (RECORDED_HELDOUT10: the honest figures of round 10);
  round 11 then read its errors and generalised the rules, so the live column
  is no longer a held-out figure;
- train2: tests/data/utterances_train2.tsv, 300 more Mandarin lines of the
  model's training data (written after held-out11, blind to it), never read by
  the rules: its live column is a blind figure of round 11's rules until a
  round reads it;
- held-out11: tests/data/utterances_heldout11.tsv, written blind after round
  11 as a representative week of calls; its live column is the honest figure
  of round 11 until its errors are read (`--skip heldout11`).

For each set: the rules alone now and at BASELINE (the code and rules before
the second round, run from `git archive` in a child process), and issue 7's
targets; the learned model (char n-gram TF-IDF + logistic regression,
transcripts/learned.py, taken over the rules where they found nothing or where
it is sure): for each later set, the rules with a model trained on the sets
written before it, beside the rules alone (Mandarin lines only; blind only for
a set still unread: the rules have been tuned on the others, so there the
model can only lose; bench/category_model.py judges it fairly, with each
set's own round of rules); the recorded blind figures of the fallback with the
rules of rounds 2-8; a category confusion table per set; the throughput of one
`hotline classify --json` process fed on stdin (the shipped model included).
`--errors SET` lists the utterances a set gets wrong (tuning, old, heldout2 ...
heldout11, train1, train2).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Where the code under test is imported from: this checkout, or BASELINE's archive.
CODE = Path(os.environ.get("CLASSIFY_BENCH_CODE", ROOT))
sys.path.insert(0, str(CODE))

from hotline.content import load_content  # noqa: E402
from hotline.settings import Settings  # noqa: E402
from transcripts.fields import fill_entry  # noqa: E402

TARGET = 0.95
FIELDS = ("category", "urgency", "surname", "unit", "phone")
#: The code and rules before the second round of issue 7 (commit before dc8e6e5).
BASELINE = "7a688c9a0e894a4c6f3cb40254be184701e275dd"
#: Figures recorded for the first held-out set before it was read (and before the
#: fire-lane line was relabelled safety; the baseline column scores the relabelled file).
RECORDED_OLD = {"category": 0.875, "urgency": 0.900}
#: held-out2 measured once, before anything was tuned on it (commit 32b07dd, rules at 53302cf);
#: after that its errors were read and round 3 fixed their causes: from then on it is no
#: longer held out, and these are the honest figures of round 2.
RECORDED_HELDOUT2 = {
    "baseline": {
        "category": 0.705,
        "urgency": 0.898,
        "surname": 0.932,
        "unit": 0.977,
        "phone": 0.977,
    },
    "round 2": {
        "category": 0.807,
        "urgency": 0.955,
        "surname": 0.966,
        "unit": 1.000,
        "phone": 1.000,
    },
}
#: held-out3 measured once (commit 986d44f, rules at d93ebae): the honest figures of round 3.
#: Its errors were read for the closing report but nothing was tuned on them.
RECORDED_HELDOUT3 = {
    "baseline": {
        "category": 0.662,
        "urgency": 0.882,
        "surname": 0.956,
        "unit": 0.956,
        "phone": 0.985,
    },
    "round 3": {
        "category": 0.750,
        "urgency": 0.912,
        "surname": 0.985,
        "unit": 0.985,
        "phone": 1.000,
    },
}
#: held-out4 measured once, blind, on 2026-11-23 (rules at 0bc9bfc): the honest figures of
#: round 4. Round 5 then read its errors and generalised the rules from their causes.
RECORDED_HELDOUT4 = {
    "baseline": {
        "category": 0.656,
        "urgency": 0.863,
        "surname": 0.900,
        "unit": 0.956,
        "phone": 0.988,
    },
    "round 4": {
        "category": 0.812,
        "urgency": 0.931,
        "surname": 0.950,
        "unit": 0.975,
        "phone": 1.000,
    },
}
#: held-out5 measured once, blind, on 2026-11-23 (rules at eb4d1db): the honest figures of
#: round 5. Round 6 then read its errors and generalised the rules from their causes.
RECORDED_HELDOUT5 = {
    "baseline": {
        "category": 0.594,
        "urgency": 0.831,
        "surname": 0.906,
        "unit": 0.956,
        "phone": 0.994,
    },
    "round 5": {
        "category": 0.713,
        "urgency": 0.900,
        "surname": 0.969,
        "unit": 0.988,
        "phone": 1.000,
    },
}
#: held-out6 measured once, blind, on 2026-11-23 (rules at 214d79a): the honest figures of
#: round 6 on its 160 lines. Six of them had been on the screen of the engineer writing round 6
#: (a shell glob), so the same figures on the other 154: category 0.727, urgency 0.877,
#: surname 0.961, unit 0.974, phone 0.994 (the two rules chosen while they were shown were
#: taken out before this measurement: 214d79a).
RECORDED_HELDOUT6 = {
    "baseline": {
        "category": 0.512,
        "urgency": 0.800,
        "surname": 0.912,
        "unit": 0.956,
        "phone": 0.988,
    },
    "round 6": {
        "category": 0.719,
        "urgency": 0.881,
        "surname": 0.963,
        "unit": 0.975,
        "phone": 0.994,
    },
}
#: held-out7 measured once, blind, on 2026-11-23 (rules at 32166e1): the honest figures of
#: round 7. Nobody had read a line of it but the engineer who wrote it.
RECORDED_HELDOUT7 = {
    "baseline": {
        "category": 0.494,
        "urgency": 0.844,
        "surname": 0.950,
        "unit": 0.963,
        "phone": 0.988,
    },
    "round 7": {
        "category": 0.794,
        "urgency": 0.869,
        "surname": 1.000,
        "unit": 0.975,
        "phone": 0.988,
    },
}
#: held-out8 measured once, blind, on 2026-11-23 (rules at b944e67): the honest figures of
#: round 8 (the first with desk words matched by sound). Nobody had read a line of it but the
#: engineer who wrote it.
RECORDED_HELDOUT8 = {
    "baseline": {
        "category": 0.531,
        "urgency": 0.812,
        "surname": 0.956,
        "unit": 0.981,
        "phone": 0.994,
    },
    "round 8": {
        "category": 0.762,
        "urgency": 0.894,
        "surname": 0.988,
        "unit": 0.988,
        "phone": 0.994,
    },
}
#: held-out9 measured once, blind, on 2026-11-23 (rules at 8046296): the honest figures of
#: round 9, and the first set written after the learned model's combination was chosen
#: (caa44f5). Nobody had read a line of it but the engineer who wrote it.
RECORDED_HELDOUT9 = {
    "baseline": {
        "category": 0.494,
        "urgency": 0.806,
        "surname": 0.887,
        "unit": 0.963,
        "phone": 0.981,
    },
    "round 9": {
        "category": 0.675,
        "urgency": 0.875,
        "surname": 0.950,
        "unit": 0.988,
        "phone": 0.994,
    },
    #: what an entry gets by default: the rules with the shipped model (trained on the
    #: eight earlier sets; English lines by the rules alone); all 160 lines
    "round 9 + shipped model": {"category": 0.825, "urgency": 0.869},
}
#: held-out10 measured once, blind, on 2026-11-23 (rules at 605a0ca, round 10; the shipped
#: model at 00f9bf2, trained on tuning ... held-out9 and train1). Nobody had read a line of
#: it but the engineer who wrote it.
RECORDED_HELDOUT10 = {
    "baseline": {
        "category": 0.350,
        "urgency": 0.787,
        "surname": 0.825,
        "unit": 0.950,
        "phone": 1.000,
    },
    "round 10": {
        "category": 0.600,
        "urgency": 0.875,
        "surname": 0.938,
        "unit": 0.969,
        "phone": 1.000,
    },
    #: the default, all 160 lines (English by the rules alone)
    "round 10 + shipped model": {"category": 0.844, "urgency": 0.887},
    #: the same with a model trained without train1 (measured in the same run, for the figure
    #: train1 is worth; the shipped model with train1 was chosen before)
    "round 10 + model on the sets only": {"category": 0.794, "urgency": 0.887},
}
#: train1's 300 Mandarin lines, written as the model's training data and never read by whoever
#: wrote the rules: round 10's rules on them once (605a0ca), before anything was tuned.
RECORDED_TRAIN1 = {
    "baseline": {
        "category": 0.433,
        "urgency": 0.863,
        "surname": 0.957,
        "unit": 0.967,
        "phone": 0.993,
    },
    "round 10": {
        "category": 0.687,
        "urgency": 0.930,
        "surname": 0.993,
        "unit": 0.980,
        "phone": 1.000,
    },
}
#: held-out11 measured once, blind, on 2026-11-23 (rules at 2ab8ca4, round 11; the shipped
#: model at fbe0ca7, trained on tuning ... held-out10, train1 and train2): a representative week
#: of calls. Nobody had read a line of it but the engineer who wrote it.
RECORDED_HELDOUT11 = {
    "baseline": {
        "category": 0.444,
        "urgency": 0.819,
        "surname": 0.975,
        "unit": 0.956,
        "phone": 0.994,
    },
    "round 11": {
        "category": 0.738,
        "urgency": 0.906,
        "surname": 0.975,
        "unit": 0.994,
        "phone": 1.000,
    },
    #: the default, all 160 lines (English by the rules alone; its 140 Mandarin lines 0.943)
    "round 11 + shipped model": {"category": 0.906, "urgency": 0.906},
    #: a model trained without train2, in the same run (the shipped one was chosen before)
    "round 11 + model without train2": {"category": 0.887, "urgency": 0.906},
}
#: train2's 300 Mandarin lines, the model's training data, never read by whoever wrote the
#: rules: round 11's rules on them once (2ab8ca4), before anything was tuned.
RECORDED_TRAIN2 = {
    "baseline": {
        "category": 0.357,
        "urgency": 0.807,
        "surname": 0.950,
        "unit": 0.977,
        "phone": 1.000,
    },
    "round 11": {
        "category": 0.657,
        "urgency": 0.883,
        "surname": 0.993,
        "unit": 0.987,
        "phone": 1.000,
    },
}
#: The combination of caa44f5 on held-out9's Mandarin lines, measured once with the sets
#: before it (bench/category_model.py): rules alone, the fallback before caa44f5, now.
RECORDED_MODEL = {
    "held-out9, rules at 8046296, model on tuning ... held-out8": (0.683, 0.768, 0.852),
    "held-out10, rules at 605a0ca, model on tuning ... held-out9 + train1": (0.608, 0.720, 0.881),
    "held-out11, rules at 2ab8ca4, model on tuning ... held-out10 + train1, 2": (
        0.750,
        0.843,
        0.943,
    ),
}
#: The fallback with the rules of the round before each set, on its Mandarin lines, measured
#: once (rules alone -> rules + fallback trained on the sets written before it, probability
#: >= 0.3). Held-out2 hardly tells thresholds apart (0.852 at 0, 0.2, 0.25, 0.3, 0.4 and 0.5,
#: 0.840 at 0.35); 0.3 was taken, and held-out3's grid had been seen as well (0: 0.841,
#: 0.3: 0.857, 0.4: 0.825, 0.5: 0.762), so only held-out4 was blind to the threshold.
RECORDED_FALLBACK = {
    "held-out2, rules at 53302cf, model on tuning + old": (0.840, 0.852),
    "held-out3, rules at d93ebae, model on tuning + old + held-out2": (0.746, 0.857),
    "held-out4, rules at 0bc9bfc, model on tuning + old + held-out2 + held-out3": (0.820, 0.867),
    "held-out5, rules at eb4d1db, model on tuning ... held-out4": (0.720, 0.840),
    "held-out6, rules at 214d79a, model on tuning ... held-out5": (0.735, 0.816),
    "held-out7, rules at 32166e1, model on tuning ... held-out6": (0.781, 0.884),
    "held-out8, rules at b944e67, model on tuning ... held-out7": (0.767, 0.808),
}
SETS = {
    "tuning": ROOT / "tests/data/utterances.tsv",
    "old": ROOT / "tests/data/utterances_heldout.tsv",
    "heldout2": ROOT / "tests/data/utterances_heldout2.tsv",
    "heldout3": ROOT / "tests/data/utterances_heldout3.tsv",
    "heldout4": ROOT / "tests/data/utterances_heldout4.tsv",
    "heldout5": ROOT / "tests/data/utterances_heldout5.tsv",
    "heldout6": ROOT / "tests/data/utterances_heldout6.tsv",
    "heldout7": ROOT / "tests/data/utterances_heldout7.tsv",
    "heldout8": ROOT / "tests/data/utterances_heldout8.tsv",
    "heldout9": ROOT / "tests/data/utterances_heldout9.tsv",
    "train1": ROOT / "tests/data/utterances_train1.tsv",
    "heldout10": ROOT / "tests/data/utterances_heldout10.tsv",
    "train2": ROOT / "tests/data/utterances_train2.tsv",
    "heldout11": ROOT / "tests/data/utterances_heldout11.tsv",
}
TITLES = {
    "tuning": "tuning",
    "old": "old held-out (now tuning)",
    "heldout2": "held-out2 (read in round 3)",
    "heldout3": "held-out3 (read in round 4)",
    "heldout4": "held-out4 (read in round 5)",
    "heldout5": "held-out5 (read in round 6)",
    "heldout6": "held-out6 (read in round 7)",
    "heldout7": "held-out7 (read in round 8)",
    "heldout8": "held-out8 (read in round 9)",
    "heldout9": "held-out9 (read in round 10)",
    "train1": "train1 (the model's; read in round 11)",
    "heldout10": "held-out10 (read in round 11)",
    "train2": "train2 (the model's; unread by the rules)",
    "heldout11": "held-out11 (unread)",
}
#: The sets each later held-out set's model is trained on: those written before it (SETS is in
#: the order they were written; train1 and train2 each blind to the held-out set after them).
EARLIER = {
    name: tuple(list(SETS)[: list(SETS).index(name)])
    for name in list(SETS)[2:]
    if name.startswith("heldout")
}
CATEGORIES = (
    "repair",
    "complaint",
    "inquiry",
    "praise",
    "suggestion",
    "message",
    "convenience",
    "other",
)
Row = tuple[str, str, dict[str, str | None]]  # text, lang, expected fields
Scores = dict[str, float]


def read_set(path: Path) -> list[Row]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        said, *labels = line.split("\t")
        expected = {
            name: (None if value == "-" else value)
            for name, value in zip(FIELDS, labels, strict=True)
        }
        lang = "en" if said.startswith("en:") else "zh"
        rows.append((said.removeprefix("en:"), lang, expected))
    return rows


def predict(rows: list[Row], model: object = None) -> list[dict]:
    content = load_content(Settings())
    when = datetime.now(UTC)
    if model is None:
        return [fill_entry(text, content, when, lang).as_json() for text, lang, _ in rows]
    return [
        fill_entry(text, content, when, lang, learned=model).as_json()  # type: ignore[arg-type]
        for text, lang, _ in rows
    ]


def score(rows: list[Row], got: list[dict]) -> Scores:
    right: Counter[str] = Counter()
    for (_, _, expected), result in zip(rows, got, strict=True):
        right.update(name for name in FIELDS if result[name] == expected[name])
    return {name: right[name] / len(rows) for name in FIELDS}


def baseline_predictions(sets: dict[str, list[Row]]) -> dict[str, list[dict]] | None:
    """Predictions of the BASELINE code and rules, or None when git cannot give them."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "baseline.tar"
        try:
            subprocess.run(
                [
                    "git",
                    "-C",
                    str(ROOT),
                    "archive",
                    "-o",
                    str(archive),
                    BASELINE,
                    "hotline",
                    "transcripts",
                    "recorder",
                    "config",
                ],
                check=True,
                capture_output=True,
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"(no baseline column: git archive {BASELINE[:7]} failed: {exc})")
            return None
        code = Path(tmp) / "code"
        with tarfile.open(archive) as tar:
            tar.extractall(code, filter="data")
        environ = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        out = subprocess.run(
            [sys.executable, __file__, "--predict", *(str(SETS[name]) for name in sets)],
            check=True,
            capture_output=True,
            text=True,
            env={**environ, "CLASSIFY_BENCH_CODE": str(code)},
            cwd=tmp,
        )
        return dict(zip(sets, json.loads(out.stdout), strict=True))


def print_accuracy(now: dict[str, Scores], base: dict[str, Scores] | None) -> None:
    width = 28
    print(f"{'':<10}" + "".join(f"{TITLES[name]:>{width}}" for name in now) + f"{'target':>8}")
    print(f"{'':<10}" + "".join(f"{'baseline':>{width - 8}}{'now':>8}" for _ in now))
    for field in FIELDS:
        cells = ""
        for name, scores in now.items():
            before = f"{base[name][field]:.3f}" if base else "-"
            cells += f"{before:>{width - 8}}{scores[field]:>8.3f}"
        print(f"{field:<10}{cells}{TARGET:>8.2f}")


def print_confusion(title: str, rows: list[Row], got: list[dict]) -> None:
    counts = Counter(
        (str(expected["category"]), str(g["category"]))
        for (_, _, expected), g in zip(rows, got, strict=True)
    )
    print(f"\ncategory confusion, rules now, {title} (rows: labelled, columns: classified)\n")
    print(f"{'':<12}" + "".join(f"{k[:6]:>7}" for k in CATEGORIES))
    for want in CATEGORIES:
        if any(counts[(want, k)] for k in CATEGORIES):
            print(f"{want:<12}" + "".join(f"{counts[(want, k)] or '.':>7}" for k in CATEGORIES))


def print_errors(rows: list[Row], got: list[dict]) -> None:
    for (said, lang, expected), result in zip(rows, got, strict=True):
        wrong = [f"{n} {expected[n]}->{result[n]}" for n in FIELDS if result[n] != expected[n]]
        if wrong:
            print(f"{'en:' if lang == 'en' else ''}{said}\n    {'; '.join(wrong)}")


def fallback_scores(sets: dict[str, list[Row]]) -> dict[str, tuple[float, float]]:
    """Per later set, Mandarin lines: category by the rules alone, and by the rules with a
    fallback trained on the sets written before it (the combination `fill_entry` uses)."""
    from transcripts.learned import LearnedCategories, fit, read_labelled

    figures = {}
    for name, earlier in EARLIER.items():
        if name not in sets:
            continue
        model = LearnedCategories(fit([e for b in earlier for e in read_labelled(SETS[b])]))
        zh = [row for row in sets[name] if row[1] == "zh"]
        alone = score(zh, predict(zh))["category"]
        figures[name] = (alone, score(zh, predict(zh, model))["category"])
    return figures


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", choices=SETS, help="list what this set gets wrong")
    parser.add_argument(
        "--skip", nargs="+", choices=SETS, default=[], help="leave these sets unread (held out)"
    )
    parser.add_argument("--predict", nargs="+", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.predict:  # the child that runs BASELINE's code
        print(json.dumps([predict(read_set(path)) for path in args.predict]))
        return
    if args.errors:
        rows = read_set(SETS[args.errors])
        print_errors(rows, predict(rows))
        return
    sets = {
        name: read_set(path)
        for name, path in SETS.items()
        if path.exists() and name not in args.skip
    }
    got = {name: predict(rows) for name, rows in sets.items()}
    now = {name: score(rows, got[name]) for name, rows in sets.items()}
    before = baseline_predictions(sets)
    base = {name: score(sets[name], before[name]) for name in sets} if before else None
    sizes = ", ".join(
        f"{TITLES[name]} {len(rows)} ({sum(r[1] == 'en' for r in rows)} English)"
        for name, rows in sets.items()
    )
    print(f"accuracy per field, rules (n: {sizes}); baseline = {BASELINE[:7]}\n")
    print_accuracy(now, base)
    print(
        f"\nold held-out as recorded before it was read (fire-lane line labelled normal): "
        f"category {RECORDED_OLD['category']:.3f}, urgency {RECORDED_OLD['urgency']:.3f}"
    )
    for title, recorded in (
        ("held-out2", RECORDED_HELDOUT2),
        ("held-out3", RECORDED_HELDOUT3),
        ("held-out4", RECORDED_HELDOUT4),
        ("held-out5", RECORDED_HELDOUT5),
        ("held-out6", RECORDED_HELDOUT6),
        ("held-out7", RECORDED_HELDOUT7),
        ("held-out8", RECORDED_HELDOUT8),
        ("held-out9", RECORDED_HELDOUT9),
        ("held-out10", RECORDED_HELDOUT10),
        ("train1 (rules only)", RECORDED_TRAIN1),
        ("held-out11", RECORDED_HELDOUT11),
        ("train2 (rules only)", RECORDED_TRAIN2),
    ):
        print(f"{title} measured once before it was read (honest held-out figures):")
        for name, figures in recorded.items():
            print(f"  {name:<9}" + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    print(
        "\nlearned model (where the rules find nothing at p >= 0.3, anywhere at p >= 0.6; Mandarin "
        "lines; "
        "trained on the sets written before each set), category:"
    )
    for name, (alone, combined) in fallback_scores(sets).items():
        print(
            f"  {TITLES[name]:<28} rules {alone:.3f}, rules + model {combined:.3f} "
            + ("(blind)" if name == "heldout11" else "(the rules were since tuned on it)")
        )
    print("  measured once, with the rules of the round before each set (blind):")
    for title, (alone, combined) in RECORDED_FALLBACK.items():
        print(f"  {title}: rules {alone:.3f}, rules + fallback {combined:.3f}")
    print("  measured once, the learned model as combined since caa44f5 (blind):")
    for title, (alone, fallback, model) in RECORDED_MODEL.items():
        print(f"  {title}: rules {alone:.3f}, fallback before {fallback:.3f}, now {model:.3f}")
    for name, rows in sets.items():
        print_confusion(TITLES[name], rows, got[name])
    lines = [row[0] for row in sets["tuning"] if row[1] == "zh"] * 20
    rate = throughput(lines)
    print(
        f"\nthroughput, one `hotline classify --json` process on stdin: {rate:.0f} utterances/s "
        f"({len(lines)} lines, process start included)"
    )


if __name__ == "__main__":
    main()
