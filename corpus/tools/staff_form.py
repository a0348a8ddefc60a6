"""Builds corpus/staff/staff-speech.tsv from corpus/real/staff-raw.txt and
corpus/staff/raw-held-out.txt: staff-side lines in the form offline speech recognition prints
(Simplified, numbers as spoken, no punctuation, words spaced), with their labels, source and split
(dev, held-out, held-out-2 or held-out-3, by the raw files' section marks).

Run by hand when a raw file changes (needs the `corpus` extra, as spoken_form.py does):

    .venv/bin/python corpus/tools/staff_form.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from spoken_form import spoken

HERE = Path(__file__).resolve().parent
RAWS = (HERE.parent / "real" / "staff-raw.txt", HERE.parent / "staff" / "raw-held-out.txt")
OUT = HERE.parent / "staff" / "staff-speech.tsv"
HEADER = """\
# Staff-side speech for the greeting audit, cut but never reworded, in recogniser form (built by
# corpus/tools/staff_form.py from corpus/real/staff-raw.txt; sources and licences: corpus/sources.toml,
# corpus/README.md). Columns: text, forbidden families (comma-separated or -), politeness (你 or -),
# offer of help (1/0), source, split (dev: read while the families were written; held-out and
# held-out-2: measured blind once, then read for greet4's changes; held-out-3: found after them, never tuned on).
"""


def main() -> int:
    rows, split = [], "dev"
    lines = [line for raw in RAWS for line in raw.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        mark = re.match(r"# \[(dev|held-out|held-out-2|held-out-3)\]", line)
        if mark:
            split = mark.group(1)
        if not line.strip() or line.startswith("#"):
            continue
        source, said, forbidden, polite, offer, *_ = (part.strip() for part in line.split("¦"))
        rows.append("\t".join((spoken(said), forbidden, polite, offer, source, split)))
    OUT.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows)} lines -> {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
