"""Web desk page times with 100,000 log entries, on SQLite and PostgreSQL.

    .venv/bin/python bench/admin_pages.py [--entries 100000] [--rounds 40]
    .venv/bin/python bench/admin_pages.py --entries 1000000 --databases postgresql

Prints p50/p95 of the list page, a search, the entry page and the month's
supervision dashboard beside the targets of issues 8 and 23 (150 / 300 / 150 /
1000 ms). PostgreSQL is a throw-away server on loopback. One call every five
minutes: a million entries span nine and a half years, 8,640 of them this month.
"""

from __future__ import annotations

import argparse
import enum
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hotline.app import App
from recorder.models import Call, Direction, Disposition, LogEntry, Transcript, User
from tests.browser import desk
from tests.conftest import new_pg_database
from tests.support.postgres import postgres_server

TARGETS = {"list": 150.0, "search": 300.0, "entry": 150.0, "month": 1000.0}
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
    postgresql = app.engine.dialect.name == "postgresql"
    if postgresql:
        _search_index(app, build=False)
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
        if postgresql:
            copy_rows(app, [(Call, calls), (LogEntry, entries), (Transcript, transcripts)])
            continue
        with app.sessions.begin() as session:
            session.execute(insert(Call), calls)
            session.execute(insert(LogEntry), entries)
            session.execute(insert(Transcript), transcripts)
    if postgresql:
        _search_index(app, build=True)


def _search_index(app: App, *, build: bool) -> None:
    """A bulk load as a site's import would do it: the search triggers (migration 0003)
    off and the trigram index dropped while rows arrive, then the search table filled
    and indexed once, and the planner's statistics taken."""
    triggers = (("log_entries", "entry_search_entry"), ("transcripts", "entry_search_transcript"))
    with app.engine.begin() as connection:
        if not build:
            for table, trigger in triggers:
                connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
            connection.exec_driver_sql("DROP INDEX ix_entry_search_body")
            return
        connection.exec_driver_sql("SELECT hotline_entry_search_refresh(id) FROM log_entries")
        connection.exec_driver_sql(
            "CREATE INDEX ix_entry_search_body ON entry_search USING gin (body gin_trgm_ops)"
        )
        for table, trigger in triggers:
            connection.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


def copy_rows(app: App, tables: list[tuple[Any, list[dict[str, Any]]]]) -> None:
    """PostgreSQL's COPY: a million entries in minutes rather than the better part of an
    hour of INSERTs. The rows are the same; JSON and enums as the ORM stores them."""
    with app.engine.begin() as connection:
        cursor = connection.connection.cursor()
        for model, rows in tables:
            defaults = _defaults(model, rows[0])
            columns = [*defaults, *rows[0]]
            names = ", ".join(columns)
            with cursor.copy(f"COPY {model.__tablename__} ({names}) FROM STDIN") as copy:
                for row in rows:
                    full = {**defaults, **row}
                    copy.write_row([_copy_value(full[column]) for column in columns])


def _defaults(model: Any, row: dict[str, Any]) -> dict[str, Any]:
    """The ORM's Python-side defaults of the columns `row` leaves out (COPY skips them)."""
    values = {}
    for column in model.__table__.columns:
        default = column.default
        if column.name in row or default is None:
            continue
        values[column.name] = default.arg(None) if default.is_callable else default.arg
    return values


def _copy_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def timed(get: Callable[[], int], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        assert get() == 200
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure(url: str, tmp: Path, count: int, rounds: int) -> dict[str, list[float]]:
    started = time.perf_counter()
    app = desk.make_app(tmp, url)
    print(f"  the desk's database made in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    bulk_insert(app, count)
    print(f"  inserted {count} entries in {time.perf_counter() - started:.0f} s", flush=True)
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
        "month": lambda: client.get("/supervision/?period=month").status_code,
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
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    args = parser.parse_args()
    databases = args.databases.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if "sqlite" in databases:
            print("sqlite:", flush=True)
            (tmp / "s").mkdir()
            url = f"sqlite:///{tmp / 's' / 'h.db'}"
            rows.append(("sqlite", measure(url, tmp / "s", args.entries, args.rounds)))
        if "postgresql" in databases:
            (tmp / "pg").mkdir()
            with postgres_server(tmp / "pg") as server:
                print("postgresql:", flush=True)
                (tmp / "p").mkdir()
                url = new_pg_database(server)
                rows.append(("postgresql", measure(url, tmp / "p", args.entries, args.rounds)))
    print(f"\n{args.entries} entries, {args.rounds} requests per page (ms)")
    print(f"{'database':<11} {'page':<7} {'p50':>7} {'p95':>7} {'target p95':>11}")
    for database, results in rows:
        for name, times in results.items():
            print(
                f"{database:<11} {name:<7} {statistics.median(times):7.1f} {p95(times):7.1f} {TARGETS[name]:11.0f}"
            )


if __name__ == "__main__":
    main()
