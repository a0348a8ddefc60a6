"""Field accuracy of fill_entry on one labelled set in tests/data (tuning or held-out)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from hotline.content import Content
from tests import labelled
from transcripts.fields import fill_entry

RECEIVED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def accuracy(
    content: Content, monkeypatch: pytest.MonkeyPatch, name: str, fields: tuple[str, ...]
) -> dict[str, float]:
    """Exact-match rate per field; `name` is a file in corpus/lines (own-imitation-heldout2.tsv)."""
    monkeypatch.setattr(labelled, "DATA", labelled.LINES / name)
    items = labelled.utterances()
    right: Counter[str] = Counter()
    for item in items:
        got = fill_entry(item.text, content, RECEIVED, item.lang).as_json()
        right.update(field for field in fields if got[field] == item.expected[field])
    return {field: right[field] / len(items) for field in fields}
