"""The supervisor's dashboard with 100,000 calls in one month (issue 9), on SQLite
and, when asked, PostgreSQL.

    .venv/bin/python bench/supervision_dashboard.py [--calls 100000] [--rounds 10]
        [--postgres URL | --postgres auto]

Seeds the month of November 2026 (calls of every disposition, script-check
results, a log entry per call, work orders), then times each query of the
month's dashboard and of the monthly report, and the rendered pages, through
the real Flask app. Baseline: the same figure computed the naive way, by
loading the month's rows into Python (or, for the chart, one query per day;
for the lists, the unpaged recorder function), which is what "one aggregate
query per figure" (recorder/supervision.py) is measured against.
`--postgres auto` starts a throw-away server on loopback.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from admin.supervision_figures import period_of
from hotline.app import App
from recorder import dispatch, supervision
from recorder.models import (
    Call,
    ComplianceResult,
    Direction,
    Disposition,
    EntryStatus,
    LogEntry,
    Urgency,
    User,
    WorkOrder,
)
from tests.browser import desk
from tests.conftest import new_pg_database
from tests.support.postgres import postgres_server

ZONE = ZoneInfo("Asia/Shanghai")
MONTH = period_of("month", desk.TODAY, ZONE)
CATEGORIES = ["repair", "inquiry", "complaint", "convenience", "suggestion", "message", "other"]
DEPARTMENTS = ["工程部", "保洁部", "保安部", "客服部"]
DISPOSITIONS = [Disposition.ANSWERED] * 16 + [Disposition.MISSED] * 2 + [Disposition.ABANDONED]
STATUSES = [EntryStatus.CLOSED] * 5 + [EntryStatus.FOLLOWED_UP, EntryStatus.DONE]
STATUSES += [EntryStatus.DISPATCHED, EntryStatus.RECEIVED]
BATCH = 5000


def _rows(n: int, count: int, rng: random.Random, staff: list[int]) -> tuple[dict[str, Any], ...]:
    """Call n of `count` spread over the month, its script check (if answered), its log entry."""
    seconds = (MONTH.end - MONTH.start).total_seconds()
    at = MONTH.start + timedelta(seconds=seconds * n / count)
    disposition = rng.choice(DISPOSITIONS)
    rings = rng.choice([1, 2, 2, 3, 3, 4, 5])
    call = {
        "id": n + 1000,
        "call_id": f"bench-{n}",
        "direction": Direction.INBOUND,
        "caller_number": f"139{n:08d}",
        "invite_at": at,
        "ring_count": rings,
        "disposition": disposition,
        "interrupted": False,
    }
    result = {}
    if disposition is Disposition.ANSWERED:
        by_staff = rng.random() < 0.5
        passed = rng.random() < 0.85
        result = {
            "call_pk": n + 1000,
            "answered_by": "staff" if by_staff else "agent",
            "user_id": rng.choice(staff) if by_staff else None,
            "within_rings": rings <= 3,
            "passed": passed,
            "checks": {"greeting": True, "closing": passed},
            "forbidden": [] if passed else ["不知道"],
            "findings": [] if passed else [{"check": "forbidden", "phrase": "不知道", "at_s": 3.5}],
            "checked_at": at,
        }
    missed = disposition is not Disposition.ANSWERED
    status = (
        rng.choice([EntryStatus.RECEIVED, EntryStatus.DONE]) if missed else rng.choice(STATUSES)
    )
    entry = {
        "call_pk": n + 1000,
        "received_at": at,
        "caller_number": call["caller_number"],
        "summary": "未接来电" if missed else "楼道灯不亮",
        "category": "other" if missed else rng.choice(CATEGORIES),
        "urgency": rng.choice([Urgency.NORMAL] * 8 + [Urgency.LEAK, Urgency.SAFETY]),
        "status": status,
        "follow_up_due": at.astimezone(ZONE).date() + timedelta(days=rng.choice([2, 3, 7])),
        "responsible_user_id": rng.choice(staff),
        "field_sources": {},
        "needs_review": False,
    }
    return call, result, entry


def seed(app: App, count: int) -> None:
    rng = random.Random(9)
    with app.sessions.begin() as session:
        desk.seed(session, Path(tempfile.mkdtemp()) / "rec")
        staff = list(session.scalars(select(User.id)))
    for first in range(0, count, BATCH):
        rows = [_rows(n, count, rng, staff) for n in range(first, min(first + BATCH, count))]
        with app.sessions.begin() as session:
            session.execute(insert(Call), [r[0] for r in rows])
            session.execute(insert(ComplianceResult), [r[1] for r in rows if r[1]])
            session.execute(insert(LogEntry), [r[2] for r in rows])
    with app.sessions.begin() as session:
        dispatched = session.execute(
            select(LogEntry.id, LogEntry.received_at).where(
                LogEntry.status.in_([EntryStatus.DISPATCHED, EntryStatus.DONE]),
                LogEntry.received_at >= MONTH.start,
            )
        ).all()
        orders = []
        for seq, (entry_id, received) in enumerate(dispatched, start=1):
            done = rng.random() < 0.8
            orders.append(
                {
                    "number": f"PG-2026-{seq:05d}",
                    "year": 2026,
                    "seq": seq,
                    "entry_id": entry_id,
                    "department": rng.choice(DEPARTMENTS),
                    "dispatched_at": received + timedelta(minutes=20),
                    "completed": True if done else None,
                    "completed_at": received + timedelta(hours=rng.uniform(1, 30))
                    if done
                    else None,
                }
            )
        session.execute(insert(WorkOrder), orders)


def _naive_level(s: Session) -> Any:
    rows = s.execute(
        select(Call.disposition, Call.ring_count).where(
            Call.invite_at >= MONTH.start, Call.invite_at < MONTH.end
        )
    ).all()
    counts = Counter((d, r <= 3) for d, r in rows)
    return counts


def _naive_buckets(s: Session) -> list[Any]:
    edges = MONTH.bounds
    return [supervision.service_level(s, a, b) for a, b in itertools.pairwise(edges)]


def _naive_compliance(s: Session) -> Counter[tuple[Any, ...]]:
    rows = s.execute(
        select(ComplianceResult.answered_by, ComplianceResult.user_id, ComplianceResult.passed)
        .join(Call, ComplianceResult.call_pk == Call.id)
        .where(Call.invite_at >= MONTH.start, Call.invite_at < MONTH.end)
    ).all()
    return Counter(rows)


def _naive_flagged(s: Session) -> list[Any]:
    results = supervision.flagged_calls(s, MONTH.start, MONTH.end, 50)
    return [s.scalar(select(LogEntry.id).where(LogEntry.call_pk == r.call_pk)) for r in results]


def _naive_overdue_orders(s: Session, now: datetime) -> int:
    orders = s.scalars(select(WorkOrder).where(WorkOrder.completed.is_(None)))
    return sum(1 for o in orders if dispatch.work_order_deadline(o, "Asia/Shanghai") <= now)


def _naive_monthly(s: Session) -> dict[str, Counter[Any]]:
    rows = s.execute(
        select(
            LogEntry.category, LogEntry.urgency, LogEntry.dispatch_department, LogEntry.status
        ).where(LogEntry.received_at >= MONTH.start, LogEntry.received_at < MONTH.end)
    ).all()
    return {name: Counter(r[i] for r in rows) for i, name in enumerate(("c", "u", "d", "s"))}


def figures(
    now: datetime,
) -> list[tuple[str, Callable[[Session], Any], Callable[[Session], Any] | None, str]]:
    """(figure, what the desk runs, the naive baseline, what the baseline is)."""
    start, end = MONTH.start, MONTH.end
    return [
        (
            "service_level",
            lambda s: supervision.service_level(s, start, end),
            _naive_level,
            "rows in Python",
        ),
        (
            "chart buckets",
            lambda s: supervision.service_level_by_bucket(s, MONTH.bounds),
            _naive_buckets,
            "a query per day",
        ),
        (
            "missed page",
            lambda s: supervision.missed_not_called_back_page(s, start, end, 50),
            lambda s: supervision.missed_not_called_back(s, start, end),
            "every row",
        ),
        (
            "compliance_by_staff",
            lambda s: supervision.compliance_by_staff(s, start, end),
            _naive_compliance,
            "rows in Python",
        ),
        (
            "flagged_queue",
            lambda s: supervision.flagged_queue(s, start, end, 50),
            _naive_flagged,
            "entry per row",
        ),
        (
            "overdue count",
            lambda s: dispatch.overdue_count(s, desk.TODAY),
            lambda s: len(dispatch.overdue(s, desk.TODAY)),
            "every row",
        ),
        (
            "overdue order count",
            lambda s: dispatch.overdue_work_order_count(s, now, "Asia/Shanghai"),
            lambda s: _naive_overdue_orders(s, now),
            "open orders in Python",
        ),
        (
            "monthly_statistics",
            lambda s: supervision.monthly_statistics(s, start, end),
            _naive_monthly,
            "rows in Python",
        ),
        ("resolve_hours", lambda s: supervision.resolve_hours(s, start, end), None, ""),
    ]


def timed(run: Callable[[], Any], rounds: int) -> list[float]:
    run()  # warm caches
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


Row = tuple[str, float, float, float | None, str]


def measure(url: str, tmp: Path, count: int, rounds: int) -> Iterator[Row]:
    app = desk.make_app(tmp, url)
    started = time.perf_counter()
    seed(app, count)
    print(f"  seeded {count} calls in {time.perf_counter() - started:.0f} s", flush=True)
    for name, run, naive, what in figures(desk.NOW):
        with app.sessions() as session:
            times = timed(lambda run=run: run(session), rounds)
            session.rollback()
            base = None
            if naive is not None:
                base = statistics.median(
                    timed(lambda naive=naive: naive(session), max(3, rounds // 3))
                )
        yield name, statistics.median(times), p95(times), base, what
    client = desk.web(app, WTF_CSRF_ENABLED=False).test_client()
    client.post("/login", data={"username": "supervisor", "password": desk.PASSWORD})

    def get(path: str) -> None:
        status = client.get(path).status_code
        assert status == 200, (path, status)

    for name, path in (
        ("page: day", "/supervision/?period=today"),
        ("page: month", "/supervision/?period=month"),
        ("page: monthly report", "/supervision/monthly?month=2026-11"),
    ):
        times = timed(lambda path=path: get(path), rounds)
        yield name, statistics.median(times), p95(times), None, ""
    app.engine.dispose()


@contextmanager
def postgres(arg: str, tmp: Path) -> Iterator[str]:
    if arg != "auto":
        yield arg
        return
    (tmp / "pg").mkdir()
    with postgres_server(tmp / "pg") as server:
        yield new_pg_database(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--postgres", help="a PostgreSQL URL to an empty database, or 'auto'")
    args = parser.parse_args()
    results: list[tuple[str, Row]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print("sqlite:", flush=True)
        (tmp / "s").mkdir()
        url = f"sqlite:///{tmp / 's' / 'h.db'}"
        results += [("sqlite", row) for row in measure(url, tmp / "s", args.calls, args.rounds)]
        if args.postgres:
            with postgres(args.postgres, tmp) as pg_url:
                print("postgresql:", flush=True)
                (tmp / "p").mkdir()
                rows = measure(pg_url, tmp / "p", args.calls, args.rounds)
                results += [("postgresql", row) for row in rows]
    print(
        f"\n{args.calls} calls in {MONTH.first:%Y-%m}, {args.rounds} rounds (ms; baseline: median)"
    )
    print(f"{'database':<11} {'figure':<22} {'p50':>8} {'p95':>8} {'baseline':>9}  baseline is")
    for database, (name, p50, p95_ms, base, what) in results:
        shown = f"{base:9.1f}" if base is not None else f"{'—':>9}"
        print(f"{database:<11} {name:<22} {p50:8.1f} {p95_ms:8.1f} {shown}  {what}")


if __name__ == "__main__":
    start = datetime.now(UTC)
    main()
    print(f"\ntotal {(datetime.now(UTC) - start).total_seconds():.0f} s")
