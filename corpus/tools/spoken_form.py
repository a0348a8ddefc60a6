"""Builds corpus/lines/resident-web.tsv from corpus/real/raw.txt: each line put in the form offline
speech recognition prints (Simplified, numbers as spoken, no punctuation, words spaced).

Run by hand when raw.txt changes (it needs jieba, MIT, for word spacing: the `corpus` extra,
`.venv/bin/pip install -e '.[corpus]'`; the product never does: the built lines are committed):

    .venv/bin/python corpus/tools/spoken_form.py

Numbers: one or two digits are said as a number (21 -> 二十一, 2 before 个 -> 两), three or more
digit by digit (704 -> 七 零 四, 2025 -> 二 零 二 五, 120 -> 一 二 零), as callers say rooms, years
and phone numbers; a decimal point is 点. Latin letters stay (C栋 -> C 栋), upper case.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RAW = HERE.parent / "real" / "raw.txt"
OUT = HERE.parent / "lines" / "resident-web.tsv"
DIGITS = "零一二三四五六七八九"
UNITS = {"cm": "厘米", "km": "公里", "kg": "公斤", "%": "百分之"}
TOKEN = re.compile(r"\d+(?:\.\d+)?|[A-Za-z]+|%")
PUNCT = re.compile(r"[^\w\u4e00-\u9fff]+")
HEADER = """\
# Residents' words from public web pages, cut but never reworded, in recogniser form (built by
# corpus/tools/spoken_form.py from corpus/real/raw.txt; sources and licences: corpus/sources.toml,
# corpus/README.md). Columns: text, category, urgency, surname, unit, phone, source.
"""


def number(said: str, after: str) -> list[str]:
    whole, _, frac = said.partition(".")
    if len(whole) >= 3:
        words = [DIGITS[int(d)] for d in whole]
    else:
        n = int(whole)
        if n == 2 and after.startswith("个"):
            words = ["两"]
        elif n < 10:
            words = [DIGITS[n]]
        elif n < 20:
            words = ["十" + (DIGITS[n % 10] if n % 10 else "")]
        else:
            words = [DIGITS[n // 10] + "十" + (DIGITS[n % 10] if n % 10 else "")]
    if frac:
        words += ["点", *(DIGITS[int(d)] for d in frac)]
    return words


def spoken(text: str) -> str:
    import jieba
    import opencc

    text = opencc.OpenCC("t2s").convert(text)
    words: list[str] = []
    at = 0
    for m in TOKEN.finditer(text):
        words += _chinese(text[at : m.start()], jieba)
        token = m.group(0)
        if token[0].isdigit():
            words += number(token, text[m.end() :])
        elif token.lower() in UNITS:
            words.append(UNITS[token.lower()])
        else:
            words.append(token.upper())
        at = m.end()
    words += _chinese(text[at:], jieba)
    return " ".join(w for w in words if w.strip())


def _chinese(run: str, jieba: object) -> list[str]:
    out = []
    for piece in PUNCT.split(run):
        if piece:
            out += [w for w in jieba.lcut(piece) if w.strip()]  # type: ignore[attr-defined]
    return out


def main() -> int:
    rows = []
    for line in RAW.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        source, said, category, urgency, surname, unit, phone, *_ = (
            part.strip() for part in line.split("¦")
        )
        rows.append("\t".join((spoken(said), category, urgency, surname, unit, phone, source)))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows)} lines -> {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
