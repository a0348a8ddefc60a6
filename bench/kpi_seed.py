"""A month of 100,000 calls as a busy desk has them (issue 20), for bench/kpi_report.py.

Every row goes in through the project's own ORM models (bulk `insert(Model)`), so the
schema is the migrated one. The mix, per call (seeded, so every run is the same month):

- 50 % answered by the agent past its greeting (script check "agent"); a fifth of all
  calls come in out of hours (18:00-08:00 local), where the agent takes a message
- 14 % answered elsewhere: a clerk's phone of the ring group picked up first (RFC 3326
  CANCEL), no entry
- 10 % put through to a clerk (script check "staff", with the clerk)
- 9 % missed while ringing and 5 % abandoned in the greeting or the menu, each with its
  call-back entry; 4 % short abandons (gone within 5 s), also with an entry
- 3 % imported recordings (rings unknown), answered, with an entry; 1 % failed
- 4 % answered by the agent at night, audited against the after-hours script

Entries of answered calls get categories (repair 35 %, message 15 %, complaint 5 % ...),
a unit out of 3,000 (so some repairs come back within 30 days), work orders for
repairs (most completed within 72 h), follow-up calls on most completed repairs,
complaints registered (most closed), and the clerks' first status changes.
"""

from __future__ import annotations

import random
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from hotline.app import App
from recorder import staff
from recorder.models import (
    AnsweredBy,
    Call,
    Complaint,
    ComplianceResult,
    Direction,
    Disposition,
    EntryRevision,
    EntryStatus,
    FollowUp,
    LogEntry,
    Role,
    Urgency,
    User,
    WorkOrder,
)
from tests.browser import desk

ZONE = ZoneInfo("Asia/Shanghai")
FIRST = date(2026, 11, 1)
DAYS = 30
BATCH = 5000
KINDS = [
    ("agent", 50),
    ("elsewhere", 14),
    ("staff", 10),
    ("missed", 9),
    ("abandoned", 5),
    ("short", 4),
    ("imported", 3),
    ("failed", 1),
    ("night", 4),
]
CATEGORIES = [
    ("repair", 35),
    ("inquiry", 15),
    ("message", 15),
    ("convenience", 10),
    ("other", 10),
    ("complaint", 5),
    ("suggestion", 5),
    ("praise", 5),
]
DEPARTMENTS = ["工程部", "保洁部", "保安部", "客服部"]
UNITS = [f"{b}栋{u}单元{f:02d}0{r}" for b in range(1, 26) for u in range(1, 5) for f in range(1, 16)
         for r in range(1, 3)][:3000]  # fmt: skip


DISPOSITIONS = {
    **dict.fromkeys(["agent", "elsewhere", "staff", "imported", "night"], Disposition.ANSWERED),
    **dict.fromkeys(["missed", "short"], Disposition.MISSED),
    "abandoned": Disposition.ABANDONED,
    "failed": Disposition.FAILED,
}


def _answered_by(kind: str) -> AnsweredBy | None:
    if kind in ("elsewhere", "staff"):
        return AnsweredBy.STAFF
    return AnsweredBy.AGENT if kind in ("agent", "night") else None


def _pick(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def _moment(rng: random.Random, n: int, count: int, night: bool) -> datetime:
    """Call n of the month: days in order, office hours unless `night` or one in five."""
    day = FIRST + timedelta(days=n * DAYS // count)
    if night or rng.random() < 0.2:
        hour = rng.choice([18, 19, 20, 21, 22, 23, 0, 1, 6, 7])
    else:
        hour = rng.randint(8, 17)
    local = datetime.combine(day, time(hour, rng.randint(0, 59), rng.randint(0, 59)), ZONE)
    return local


class Seeder:
    def __init__(self, app: App, count: int) -> None:
        self.app, self.count = app, count
        self.rng = random.Random(20)
        self.orders = self.complaints = 0

    def users(self) -> list[int]:
        with self.app.sessions.begin() as session:
            desk.seed(session, Path(tempfile.mkdtemp()) / "rec")
            for i in range(6):
                staff.add_user(
                    session, f"clerk{i}", f"话务员{i}", f"2{i:03d}", Role.CLERK, "x" * 12
                )
            return list(session.scalars(select(User.id)))

    def run(self) -> None:
        clerks = self.users()
        for first in range(0, self.count, BATCH):
            rows: dict[type, list[dict[str, Any]]] = {
                m: [] for m in (Call, ComplianceResult, LogEntry, WorkOrder, FollowUp)
            }
            rows |= {Complaint: [], EntryRevision: []}
            for n in range(first, min(first + BATCH, self.count)):
                self.call(n, clerks, rows)
            with self.app.sessions.begin() as session:
                for model, batch in rows.items():
                    if batch:
                        session.execute(insert(model), batch)

    def call(self, n: int, clerks: list[int], rows: dict[type, list[dict[str, Any]]]) -> None:
        rng, pk = self.rng, n + 1000
        kind = _pick(rng, KINDS)
        at = _moment(rng, n, self.count, kind == "night")
        rings = rng.choice([1, 1, 2, 2, 2, 3, 3, 4, 5])
        answered = kind in ("agent", "elsewhere", "staff", "imported", "night")
        gave_up = kind in ("missed", "abandoned", "short")
        waited = rng.uniform(0.5, 4.5) if kind == "short" else rng.uniform(6, 60)
        clerk = rng.choice(clerks)
        rows[Call].append(
            {
                "id": pk,
                "call_id": f"bench-{n}",
                "direction": Direction.IMPORTED if kind == "imported" else Direction.INBOUND,
                "caller_number": f"139{n % 20000:08d}",
                "invite_at": at,
                "answered_at": at + timedelta(seconds=5 * rings) if answered else None,
                "ended_at": at + timedelta(seconds=waited if gave_up else 120 + 5 * rings),
                "ring_count": None if kind == "imported" else rings,
                "answered_by": _answered_by(kind),
                "answered_by_user_id": clerk if kind == "staff" else None,
                "answered_elsewhere": kind == "elsewhere",
                "disposition": DISPOSITIONS[kind],
                "ended_in": "closing"
                if answered
                else rng.choice(["greeting", "menu"])
                if kind == "abandoned"
                else "ringing",
                "interrupted": False,
            }
        )
        if kind in ("agent", "staff", "night"):
            passed = rng.random() < 0.85
            rows[ComplianceResult].append(
                {
                    "call_pk": pk,
                    "answered_by": "staff" if kind == "staff" else "agent",
                    "user_id": clerk if kind == "staff" else None,
                    "within_rings": rings <= 3,
                    "passed": passed,
                    "checks": {"greeting": True, "closing": passed},
                    "forbidden": [] if passed else ["不知道"],
                    "findings": []
                    if passed
                    else [{"check": "forbidden", "phrase": "不知道", "at_s": 3.5}],
                    "checked_at": at + timedelta(minutes=5),
                }
            )
        if kind in ("elsewhere", "failed"):
            return
        self.entry(pk, at, kind, gave_up, clerk, rows)

    def entry(
        self,
        pk: int,
        at: datetime,
        kind: str,
        gave_up: bool,
        clerk: int,
        rows: dict[type, list[dict[str, Any]]],
    ) -> None:
        rng = self.rng
        category = "other" if gave_up else "message" if kind == "night" else _pick(rng, CATEGORIES)
        rows[LogEntry].append(
            {
                "id": pk,
                "call_pk": pk,
                "received_at": at,
                "caller_number": f"139{pk % 20000:08d}",
                "unit": None if gave_up else rng.choice(UNITS),
                "summary": "未接来电" if gave_up else "厨房水管漏水",
                "category": category,
                "urgency": rng.choice([Urgency.NORMAL] * 8 + [Urgency.LEAK, Urgency.SAFETY]),
                "status": EntryStatus.RECEIVED,
                "follow_up_due": at.astimezone(ZONE).date() + timedelta(days=3),
                "responsible_user_id": clerk,
                "field_sources": {},
                "needs_review": False,
            }
        )
        acts = gave_up or category == "message" or rng.random() < 0.3
        if acts and rng.random() < 0.85:  # a clerk acted on it: called back, relayed, handled
            self.revision(pk, clerk, at + timedelta(minutes=rng.uniform(5, 600)), rows)
        if category == "repair":
            self.repair(pk, at, clerk, rows)
        if category == "complaint":
            self.complaints += 1
            closed = rng.random() < 0.9
            rows[Complaint].append(
                {
                    "number": f"TS-2026-{self.complaints:05d}",
                    "year": 2026,
                    "seq": self.complaints,
                    "entry_id": pk,
                    "registered_at": at + timedelta(minutes=10),
                    "summary": "噪音扰民",
                    "closed_at": at + timedelta(hours=rng.uniform(1, 72)) if closed else None,
                }
            )

    def revision(self, pk: int, clerk: int, when: datetime, rows: dict[type, list[Any]]) -> None:
        rows[EntryRevision].append(
            {
                "entry_id": pk,
                "user_id": clerk,
                "changed_at": when,
                "field": "status",
                "old_value": "received",
                "new_value": "done",
                "old_source": "auto",
                "new_source": "person",
            }
        )

    def repair(self, pk: int, at: datetime, clerk: int, rows: dict[type, list[Any]]) -> None:
        rng = self.rng
        if rng.random() < 0.05:
            return  # never dispatched
        self.orders += 1
        dispatched = at + timedelta(minutes=rng.uniform(2, 20))
        done = rng.random() < 0.9
        completed = dispatched + timedelta(hours=rng.uniform(1, 80)) if done else None
        rows[WorkOrder].append(
            {
                "number": f"PG-2026-{self.orders:06d}",
                "year": 2026,
                "seq": self.orders,
                "entry_id": pk,
                "department": rng.choice(DEPARTMENTS),
                "dispatched_at": dispatched,
                "completed": True if done else None,
                "completed_at": completed,
            }
        )
        if completed is not None and rng.random() < 0.6:
            reached = rng.random() < 0.85
            rows[FollowUp].append(
                {
                    "entry_id": pk,
                    "at": completed + timedelta(days=rng.uniform(0.5, 3)),
                    "by_user_id": clerk,
                    "reached": reached,
                    "satisfied": (rng.random() < 0.9) if reached else None,
                    "notes": "",
                }
            )


def seed(app: App, count: int) -> None:
    Seeder(app, count).run()
