"""The figures of closed months, kept once counted (issue 20): a month's KPIs take a few
hundred milliseconds of queries at 100,000 calls (bench/kpi_report.py), and the year's
page and the XLSX count the same closed months again and again.

Records are never written over: a change to an entry, a work order or a complaint adds
a revision row (EntryRevision, MatterRevision: recorder/revisions.py), and entries,
revisions, work orders, follow-ups and complaints are never deleted (only recordings
expire). So the highest id of each table the figures read is a stamp of the data: a
new row or a correction anywhere changes it, and a kept month counted under another
stamp is counted again. The key also holds everything else the figures depend on (the
month's bounds and zone, the targets, the category rules, the staff's names).

Only closed months are kept (the caller decides: a month that ended before today); the
current month is always counted afresh. The store is per process, bounded, and safe
across threads.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recorder.models import (
    Call,
    Complaint,
    EntryRevision,
    FollowUp,
    LogEntry,
    MatterRevision,
    User,
    WorkOrder,
)

#: Every table the KPIs read (recorder/kpi_counts.py), and users for the staff's names.
STAMPED = (LogEntry, EntryRevision, WorkOrder, MatterRevision, FollowUp, Complaint, Call, User)


def stamp(session: Session) -> tuple[int, ...]:
    """The highest id of each table of STAMPED, in one statement (each read from the end
    of its primary key)."""
    columns = [select(func.max(model.id)).scalar_subquery() for model in STAMPED]
    row = session.execute(select(*columns)).one()
    return tuple(int(value or 0) for value in row)


class Kept:
    """Figures by key, the `limit` most recently used kept; copies go in and out, so a
    caller's changes to a report never reach the store."""

    def __init__(self, limit: int = 64) -> None:
        self._limit = limit
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, count: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return copy.deepcopy(self._items[key])
            self.misses += 1
        value = count()  # outside the lock: two threads may count the same month once each
        with self._lock:
            self._items[key] = copy.deepcopy(value)
            self._items.move_to_end(key)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


#: The process's store (the admin app's requests share it).
MONTHS = Kept()
