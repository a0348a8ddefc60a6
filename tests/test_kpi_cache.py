"""The store of closed months' KPIs (recorder/kpi_cache.py): the data's stamp moves with
every new row and every correction (a revision row), and the store hands out copies and
keeps only the most recently used."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from recorder.kpi_cache import Kept, stamp
from recorder.models import EntryRevision
from tests.test_kpi import november


def test_the_stamp_moves_with_a_new_row_or_a_correction(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        empty = stamp(s)
    assert empty == (0,) * 8  # nothing yet: every table's highest id is 0
    with sessions.begin() as s:
        month = november(s)
    with sessions() as s:
        seeded = stamp(s)
    assert seeded != empty
    with sessions.begin() as s:  # a correction is a revision row: the stamp moves
        s.add(
            EntryRevision(
                entry_id=1, user_id=month.a, field="status", new_value="done", new_source="person"
            )
        )
    with sessions() as s:
        corrected = stamp(s)
        assert stamp(s) == corrected  # reading changes nothing
    assert corrected != seeded and corrected[1] == seeded[1] + 1


def test_the_store_counts_once_hands_out_copies_and_keeps_the_latest() -> None:
    kept = Kept(limit=2)
    counted: list[str] = []

    def count(key: str) -> dict[str, list[int]]:
        counted.append(key)
        return {"figures": [1, 2]}

    first = kept.get("a", lambda: count("a"))
    first["figures"].append(3)  # a caller's change stays with the caller
    assert kept.get("a", lambda: count("a")) == {"figures": [1, 2]}
    kept.get("b", lambda: count("b"))
    kept.get("a", lambda: count("a"))  # "a" used last: "b" is the oldest
    kept.get("c", lambda: count("c"))  # over the limit: "b" goes
    kept.get("b", lambda: count("b"))
    assert counted == ["a", "b", "c", "b"]
    assert (kept.hits, kept.misses) == (2, 4)
    kept.clear()
    kept.get("a", lambda: count("a"))
    assert counted[-1] == "a"
