"""Recall and precision of the greeting audit's phrase families on labelled staff-side speech.

    .venv/bin/python bench/greeting_audit.py [--split held-out-3|held-out-2|held-out|dev|all] [--errors]
        [--segmenter]

The lines are corpus/staff/staff-speech.tsv (built from corpus/real/staff-raw.txt and
corpus/staff/raw-held-out.txt; sources in corpus/sources.toml and corpus/staff/sources.toml):
real staff-side lines cut from public text (training material, staff quoted in the press, staff
dialogue in web fiction) and a few of our own imitations, each labelled by hand before the audit
was run on it. Split by source: `dev` sources were read while the families in
config/rules/compliance.toml were written (their figure is an upper bound); `held-out` (held-out-1),
`held-out-2` and `held-out-3` sources were each found and labelled after the last change, measured
blind once, and only then read, the last not yet (docs/greeting-audit.md keeps each blind
figure); the own imitations are reported apart.
`--segmenter` compares the 你 pattern with jieba's words (the corpus extra).

Per finding family (kind: negative, elsewhere, rude, swear, hail, politeness) and for the offer of
help: support (labelled), then precision and recall of a baseline and of transcripts.compliance.
The baseline is the audit before issue 18's families: the old exact forbidden list looked up as
substrings of the cleaned line, with the old exact offer list. A family counts when its name is
right (a line labelled 不知道 and flagged 不清楚 is a miss and a false alarm of `negative`);
`any finding` counts lines flagged at all against lines labelled with any forbidden family.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hotline.content import ComplianceRules, load_content  # noqa: E402
from hotline.settings import Settings  # noqa: E402
from transcripts import text  # noqa: E402
from transcripts.compliance import check_transcript  # noqa: E402

LINES = ROOT / "corpus" / "staff" / "staff-speech.tsv"
ORG = "幸福家园物业服务中心"
#: compliance.toml before issue 18 (commit 87988d3): exact strings only.
OLD_FORBIDDEN = [
    "喂",
    "不知道",
    "不归我们管",
    "不关我们的事",
    "我不能",
    "没办法",
    "不清楚",
    "找别人",
    "我不管",
    "你自己去",
    "听不懂吗",
]
OLD_OFFERS = [
    "有什么可以帮您",
    "有什么可以帮你",
    "有什么需要帮",
    "能为您做什么",
    "能帮您做些什么",
    "我能帮您",
    "请问您需要什么",
    "有什么能帮您",
    "为您服务",
    "请讲",
]
KINDS = ("negative", "elsewhere", "rude", "swear", "hail", "politeness")
#: The splits of staff-speech.tsv, in the order they are reported (corpus/README.md).
SPLITS = ("held-out-3", "held-out-2", "held-out", "dev")


@dataclass(frozen=True)
class Line:
    said: str
    forbidden: frozenset[str]
    polite: bool
    offer: bool
    source: str
    split: str


@dataclass(frozen=True)
class Verdict:
    forbidden: frozenset[str]
    polite: bool
    offer: bool


Audit = Callable[[str], Verdict]


def load(path: Path = LINES) -> list[Line]:
    rows = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        said, forbidden, polite, offer, source, split = raw.split("\t")
        names = frozenset() if forbidden == "-" else frozenset(forbidden.split(","))
        rows.append(Line(said, names, polite == "你", offer == "1", source, split))
    return rows


def audit(rules: ComplianceRules) -> Audit:
    def check(said: str) -> Verdict:
        report = check_transcript(said, ORG, rules)
        return Verdict(
            frozenset(report.forbidden), bool(report.politeness), report.checks["offer_help"]
        )

    return check


def baseline(said: str) -> Verdict:
    clean = text.clean(said)
    forbidden = frozenset(p for p in OLD_FORBIDDEN if p in clean)
    return Verdict(forbidden, False, any(p in clean for p in OLD_OFFERS))


def _pr(tp: int, fp: int, fn: int) -> tuple[float, float]:
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def score(
    rows: list[Line], check: Audit, kind_of: Callable[[str], str]
) -> dict[str, tuple[int, float, float]]:
    """name -> (support, precision, recall) for each kind, the offer and `any finding`."""
    counts = {name: [0, 0, 0] for name in (*KINDS, "offer of help", "any finding")}
    for line in rows:
        got = check(line.said)
        for kind in KINDS:
            if kind == "politeness":
                want_set = {"你"} if line.polite else set()
                got_set = {"你"} if got.polite else set()
            else:
                want_set = {n for n in line.forbidden if kind_of(n) == kind}
                got_set = {n for n in got.forbidden if kind_of(n) == kind}
            c = counts[kind]
            c[0], c[1], c[2] = (
                c[0] + len(want_set & got_set),
                c[1] + len(got_set - want_set),
                c[2] + len(want_set - got_set),
            )
        for name, want, flagged in (
            ("offer of help", line.offer, got.offer),
            ("any finding", bool(line.forbidden), bool(got.forbidden)),
        ):
            c = counts[name]
            c[0], c[1], c[2] = (
                c[0] + (want and flagged),
                c[1] + (flagged and not want),
                c[2] + (want and not flagged),
            )
    return {name: (tp + fn, *_pr(tp, fp, fn)) for name, (tp, fp, fn) in counts.items()}


def table(title: str, rows: list[Line], rules: ComplianceRules) -> None:
    base, ours = score(rows, baseline, rules.kind_of), score(rows, audit(rules), rules.kind_of)
    sources = len({line.source for line in rows})
    print(f"\n{title}: {len(rows)} lines, {sources} sources")
    print(f"{'finding':<16}{'support':>8}  {'baseline P   R':>16}  {'audit P   R':>14}")
    for name, (support, p, r) in ours.items():
        _, bp, br = base[name]
        print(f"{name:<16}{support:>8}  {bp:>8.2f}  {br:.2f}  {p:>8.2f}  {r:.2f}")


def errors(rows: list[Line], rules: ComplianceRules) -> None:
    check = audit(rules)
    for line in rows:
        got = check(line.said)
        wrong = []
        if got.forbidden != line.forbidden:
            wrong.append(f"forbidden={sorted(got.forbidden)} (want {sorted(line.forbidden)})")
        if got.polite != line.polite:
            wrong.append(f"politeness={got.polite:d}")
        if got.offer != line.offer:
            wrong.append(f"offer={got.offer:d}")
        if wrong:
            print(f"  [{line.source}] {' '.join(wrong)}\n    {line.said}")


def segmenter(rows: list[Line], rules: ComplianceRules) -> None:
    """你 for 您 judged by jieba's words (你 alone or a word starting with it, 你们 apart) beside
    the audit's character pattern (你 !们 and its `unless`: 迷你, a colleague addressed).

    jieba is the corpus extra (corpus/README.md), not a product dependency: this measures whether
    the product should take one on for 你.
    """
    import jieba

    jieba.setLogLevel(60)
    inside: Counter[str] = Counter()
    counts = {"pattern": [0, 0, 0], "jieba words": [0, 0, 0]}
    check = audit(rules)
    for line in rows:
        words = jieba.lcut(text.clean(line.said))
        inside.update(w for w in words if "你" in w and w != "你")
        said = {
            "pattern": check(line.said).polite,
            "jieba words": any(w.startswith("你") and w != "你们" for w in words),
        }
        for name, flagged in said.items():
            c = counts[name]
            c[0] += line.polite and flagged
            c[1] += flagged and not line.polite
            c[2] += line.polite and not flagged
    print(f"\n你 for 您 on all {len(rows)} lines ({sum(r.polite for r in rows)} labelled 你):")
    for name, (tp, fp, fn) in counts.items():
        precision, recall = _pr(tp, fp, fn)
        print(f"  {name:<12} P {precision:.2f}  R {recall:.2f}  (false alarms {fp}, misses {fn})")
    print(
        "  words jieba makes with 你 in them: "
        + ", ".join(f"{w} {n}" for w, n in inside.most_common())
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    parser.add_argument("--errors", action="store_true", help="list the audit's mistakes")
    parser.add_argument(
        "--segmenter", action="store_true", help="also count 你 by jieba's words (corpus extra)"
    )
    args = parser.parse_args()
    rules = load_content(Settings()).compliance
    rows = load()
    own = [r for r in rows if r.source.startswith("own-imitation")]
    real = [r for r in rows if not r.source.startswith("own-imitation")]
    sets = {
        "held-out-3": [
            (
                "real staff speech, held-out-3 sources (found after f73826b; never tuned on)",
                [r for r in real if r.split == "held-out-3"],
            )
        ],
        "held-out-2": [
            (
                "real staff speech, held-out-2 sources (blind once at b03ec2c, then read: f73826b)",
                [r for r in real if r.split == "held-out-2"],
            )
        ],
        "held-out": [
            (
                "real staff speech, held-out-1 sources (blind once at 61ae9ab, then read: b03ec2c)",
                [r for r in real if r.split == "held-out"],
            )
        ],
        "dev": [
            (
                "real staff speech, dev sources (read while writing the families)",
                [r for r in real if r.split == "dev"],
            ),
            ("own imitations (written after the families)", own),
        ],
    }
    chosen = [t for name in SPLITS for t in sets[name]] if args.split == "all" else sets[args.split]
    for title, subset in chosen:
        table(title, subset, rules)
        if args.errors:
            errors(subset, rules)
    if args.segmenter:
        segmenter(rows, rules)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
