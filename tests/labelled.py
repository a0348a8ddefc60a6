"""The labelled utterances of the corpus (corpus/lines/*.tsv)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LINES = Path(__file__).resolve().parent.parent / "corpus" / "lines"
DATA = LINES / "own-imitation-tuning.tsv"
FIELDS = ("category", "urgency", "surname", "unit", "phone")


@dataclass(frozen=True)
class Utterance:
    text: str
    lang: str
    expected: dict[str, str | None]
    source: str = ""


def utterances(path: Path | None = None) -> list[Utterance]:
    path = path or DATA
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, *labels = line.split("\t")
        lang = "en" if text.startswith("en:") else "zh"
        expected = {
            name: (None if value == "-" else value)
            for name, value in zip(FIELDS, labels[: len(FIELDS)], strict=True)
        }
        source = labels[len(FIELDS)] if len(labels) > len(FIELDS) else path.stem
        items.append(Utterance(text.removeprefix("en:"), lang, expected, source))
    return items
