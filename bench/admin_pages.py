"""Web desk page times with 100,000 log entries, on SQLite and PostgreSQL.

    .venv/bin/python bench/admin_pages.py [--entries 100000] [--rounds 40]

Prints p50/p95 of the list page, a search and the entry page beside the targets
of issue 8 (150 / 300 / 150 ms). PostgreSQL is a throw-away server on loopback.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hotline.app import App
from recorder.models import Call, Direction, Disposition, LogEntry, Transcript, User
from tests.browser import desk
from tests.conftest import new_pg_database
from tests.support.postgres import postgres_server

TARGETS = {"list": 150.0, "search": 300.0, "entry": 150.0}
UNITS = ["1栋1单元", "2栋3单元", "3栋2单元", "5栋1单元", "8栋4单元"]
SUMMARIES = [
    "厨房水管漏水",
    "电梯停在三楼不动",
    "楼道灯不亮",
    "物业费怎么交",
    "楼上噪音扰民",
    "门禁卡打不开",
]


def bulk_insert(app: App, count: int) -> None:
    rng = random.Random(8)
    with app.sessions.begin() as session:
        desk.seed(session, Path(tempfile.mkdtemp()) / "rec")
        clerk = session.scalar(select(User.id).where(User.username == "clerk"))
    batch = 5000
    for first in range(0, count, batch):
        calls, entries, transcripts = [], [], []
        for n in range(first, min(first + batch, count)):
            at = desk.NOW - timedelta(minutes=n * 5)
            number = f"139{n:08d}"
            calls.append(
                {
                    "id": 1000 + n,
                    "call_id": f"bench-{n}",
                    "direction": Direction.INBOUND,
                    "caller_number": number,
                    "invite_at": at,
                    "ring_count": 2,
                    "disposition": Disposition.ANSWERED,
                    "interrupted": False,
                }
            )
            summary = rng.choice(SUMMARIES)
            entries.append(
                {
                    "call_pk": 1000 + n,
                    "received_at": at,
                    "caller_number": number,
                    "surname": rng.choice("王李张刘陈"),
                    "unit": f"{rng.choice(UNITS)}{n % 30}01",
                    "summary": summary,
                    "category": "repair",
                    "responsible_user_id": clerk,
                    "field_sources": {},
                    "needs_review": False,
                }
            )
            transcripts.append(
                {
                    "call_pk": 1000 + n,
                    "engine": "vosk",
                    "model": "bench",
                    "language": "zh",
                    "channel": "caller",
                    "text": f"您好 {summary} 谢谢",
                    "raw_text": "",
                    "words": [],
                }
            )
        with app.sessions.begin() as session:
            session.execute(insert(Call), calls)
            session.execute(insert(LogEntry), entries)
            session.execute(insert(Transcript), transcripts)


def timed(get: Callable[[], int], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        assert get() == 200
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure(url: str, tmp: Path, count: int, rounds: int) -> dict[str, list[float]]:
    app = desk.make_app(tmp, url)
    started = time.perf_counter()
    bulk_insert(app, count)
    print(f"  inserted {count} entries in {time.perf_counter() - started:.0f} s")
    client = desk.web(app, WTF_CSRF_ENABLED=False).test_client()
    client.post("/login", data={"username": "supervisor", "password": desk.PASSWORD})
    rng = random.Random(1)
    pages = {
        "list": lambda: client.get("/?date_from=&date_to=").status_code,
        "search": lambda: (
            client.get(
                "/",
                query_string={
                    "date_from": "",
                    "date_to": "",
                    "q": rng.choice(["漏水", "楼道灯不亮", "3栋2单元", "扰民"]),
                },
            ).status_code
        ),
        "entry": lambda: client.get(f"/entries/{rng.randint(3, count)}").status_code,
    }
    for get in pages.values():
        get()  # warm caches
    results = {name: timed(get, rounds) for name, get in pages.items()}
    app.engine.dispose()
    return results


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print("sqlite:")
        (tmp / "s").mkdir()
        rows.append(
            (
                "sqlite",
                measure(f"sqlite:///{tmp / 's' / 'h.db'}", tmp / "s", args.entries, args.rounds),
            )
        )
        (tmp / "pg").mkdir()
        with postgres_server(tmp / "pg") as server:
            print("postgresql:")
            (tmp / "p").mkdir()
            rows.append(
                (
                    "postgresql",
                    measure(new_pg_database(server), tmp / "p", args.entries, args.rounds),
                )
            )
    print(f"\n{args.entries} entries, {args.rounds} requests per page (ms)")
    print(f"{'database':<11} {'page':<7} {'p50':>7} {'p95':>7} {'target p95':>11}")
    for database, results in rows:
        for name, times in results.items():
            print(
                f"{database:<11} {name:<7} {statistics.median(times):7.1f} {p95(times):7.1f} {TARGETS[name]:11.0f}"
            )


if __name__ == "__main__":
    main()
