"""The category model's training data: every log entry whose category or urgency a person
changed (an EntryRevision on `category` or `urgency` with new_source "person"), paired with
the text of its call's transcripts (`corrected`); labelled TSV files as well (text, category,
urgency, ...: `read_examples`), and the fingerprint a shipped model records of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from recorder.models import EntryRevision, LogEntry, Transcript
from transcripts import text


def corrections(session: Session) -> list[tuple[str, str]]:
    """(clean caller text, category) of every entry a person corrected (`corrected`)."""
    return [(said, category) for said, category, _ in corrected(session)]


def corrected(session: Session) -> list[tuple[str, str, str]]:
    """(clean caller text, category, urgency) of every entry whose category or urgency a person
    changed: what the clerk chose, with the other field as the entry now holds it (a clerk who
    corrected one and left the other accepted it).

    Only the caller's channels, as the pipeline classifies them (the staff
    channel would teach the model the clerk's words).
    """
    from recorder.models import CALLER_CHANNELS

    rows = session.execute(
        select(LogEntry.id, LogEntry.call_pk, LogEntry.category, LogEntry.urgency)
        .join(EntryRevision, EntryRevision.entry_id == LogEntry.id)
        .where(
            EntryRevision.field.in_(("category", "urgency")),
            EntryRevision.new_source == "person",
        )
        .distinct()
        .order_by(LogEntry.id)
    ).all()
    examples = []
    for _entry_id, call_pk, category, urgency in rows:
        if call_pk is None:
            continue
        said = session.scalars(
            select(Transcript.raw_text)
            .where(Transcript.call_pk == call_pk, Transcript.channel.in_(CALLER_CHANNELS))
            .order_by(Transcript.channel)
        ).all()
        joined = text.clean(" ".join(said))
        if joined:
            examples.append((joined, category, str(getattr(urgency, "value", urgency))))
    return examples


def read_labelled(path: Path, lang: str = "zh") -> list[tuple[str, str]]:
    """(text as the classifier reads it, category) of a labelled TSV's lines in `lang`
    (English lines start with "en:")."""
    return [(said, category) for said, category, _ in read_examples(path, lang)]


def read_examples_line(said: str, lang: str = "zh") -> str:
    """A corpus line's text as the classifier reads it ("en:" already taken off)."""
    return " ".join(said.split()) if lang == "en" else text.clean(said)


def read_examples(path: Path, lang: str = "zh") -> list[tuple[str, str, str]]:
    """(text as the classifier reads it, category, urgency) of a corpus file's lines in `lang`
    (columns: text, category, urgency, surname, unit, phone[, source]; urgency "" if absent)."""
    examples = []
    for parts in _lines(path, lang):
        said = " ".join(parts[0][3:].split()) if lang == "en" else text.clean(parts[0])
        examples.append((said, parts[1], parts[2] if len(parts) > 2 else ""))
    return examples


def _lines(path: Path, lang: str) -> Iterator[list[str]]:
    """The tab-separated columns of a corpus file's labelled lines in `lang`."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].startswith("en:") == (lang == "en"):
            yield parts


def fingerprint(path: Path, lang: str = "zh") -> str:
    """sha256 of what training reads from a labelled file (the lines in `lang` and their
    categories, not the comments): what the shipped model records, and a test compares."""
    said = "".join(f"{t}\t{c}\n" for t, c in read_labelled(path, lang))
    return hashlib.sha256(said.encode("utf-8")).hexdigest()


def read_sources(path: Path, lang: str = "zh") -> list[str]:
    """The source of each line `read_examples` reads: its last column (corpus/sources.toml) when
    the file has one, else the file's name (an own-imitation set is one source)."""
    return [parts[6] if len(parts) > 6 and parts[6] else path.stem for parts in _lines(path, lang)]
