"""Builds corpus/staff/staff-speech.tsv from corpus/real/staff-raw.txt: staff-side lines in the
form offline speech recognition prints (Simplified, numbers as spoken, no punctuation, words
spaced), with their labels, source and split (dev or held-out, by the raw file's section marks).

Run by hand when staff-raw.txt changes (needs the `corpus` extra, as spoken_form.py does):

    .venv/bin/python corpus/tools/staff_form.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from spoken_form import spoken

HERE = Path(__file__).resolve().parent
RAW = HERE.parent / "real" / "staff-raw.txt"
OUT = HERE.parent / "staff" / "staff-speech.tsv"
HEADER = """\
# Staff-side speech for the greeting audit, cut but never reworded, in recogniser form (built by
# corpus/tools/staff_form.py from corpus/real/staff-raw.txt; sources and licences: corpus/sources.toml,
# corpus/README.md). Columns: text, forbidden families (comma-separated or -), politeness (你 or -),
# offer of help (1/0), source, split (dev: read while the families were written; held-out: never).
"""


def main() -> int:
    rows, split = [], "dev"
    for line in RAW.read_text(encoding="utf-8").splitlines():
        if line.startswith("# [held-out]"):
            split = "held-out"
        elif line.startswith("# [dev]"):
            split = "dev"
        if not line.strip() or line.startswith("#"):
            continue
        source, said, forbidden, polite, offer, *_ = (part.strip() for part in line.split("¦"))
        rows.append("\t".join((spoken(said), forbidden, polite, offer, source, split)))
    OUT.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows)} lines -> {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
