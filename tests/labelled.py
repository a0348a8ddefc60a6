"""The labelled resident utterances in tests/data/utterances.tsv."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data" / "utterances.tsv"
FIELDS = ("category", "urgency", "surname", "unit", "phone")


@dataclass(frozen=True)
class Utterance:
    text: str
    lang: str
    expected: dict[str, str | None]


def utterances() -> list[Utterance]:
    items = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, *labels = line.split("\t")
        lang = "en" if text.startswith("en:") else "zh"
        expected = {
            name: (None if value == "-" else value)
            for name, value in zip(FIELDS, labels, strict=True)
        }
        items.append(Utterance(text.removeprefix("en:"), lang, expected))
    return items
