"""The month's dashboard and KPI report with 100,000 calls (issue 20), SQLite and PostgreSQL.

    .venv/bin/python bench/kpi_report.py [--calls 100000] [--rounds 20] [--label after]
        [--no-postgres] [--out bench/results/kpi-after.md]

Seeds November 2026 with bench/kpi_seed.py's mix (answered by the agent, elsewhere in the
ring group, put through, missed, abandoned, short abandons, imported, failed, after
hours; entries with categories, work orders, follow-ups, complaints, clerks' actions),
then times, through the real Flask app logged in as the supervisor, the month's
dashboard, the KPI page, its XLSX and the year's KPI page, each `--rounds` times after one
warm-up. PostgreSQL is a throw-away server on loopback (tests/support/postgres.py), as
the tests run it. Prints (and with --out writes) a markdown table of p50/p95 in ms.
Target (issue 20): p95 < 1 s for the dashboard, the KPI page and the XLSX.

The table also gives this process's CPU time per request (p50): on a shared machine the
wall time includes waiting for a core, which the CPU time does not (for SQLite, whose work
is in this process, it is what the request costs; for PostgreSQL the server's share is
not in it). The load average at the start and the end is printed with the table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.kpi_seed import seed
from tests.browser import desk
from tests.conftest import new_pg_database
from tests.support.postgres import postgres_server

PAGES = [
    ("dashboard, month", "/supervision/?period=month&day=2026-11-23"),
    ("KPI page, month", "/supervision/kpi/?month=2026-11"),
    ("KPI XLSX, month", "/supervision/kpi/kpi.xlsx?month=2026-11"),
    ("KPI page, year", "/supervision/kpi/year?year=2026"),
]
#: The clock of the runs above is tests/browser/desk.NOW (2026-11-23): November is the
#: month still running, counted at every request. On 2026-12-10 it is a closed month,
#: whose KPIs are kept once counted (recorder/kpi_cache.py): the supervisor signing off
#: last month's report.
CLOSED = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
CLOSED_PAGES = [(f"{name}, closed (on 12-10)", path) for name, path in PAGES[1:]]
TARGET_MS = 1000.0
Row = tuple[str, str, float, float, float]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def measure(database: str, url: str, tmp: Path, count: int, rounds: int) -> Iterator[Row]:
    app = desk.make_app(tmp, url)
    started = time.perf_counter()
    seed(app, count)
    print(
        f"  {database}: seeded {count} calls in {time.perf_counter() - started:.0f} s", flush=True
    )
    if database == "PostgreSQL":
        # A site's database has its statistics; a bulk load this size would otherwise be
        # analysed by autovacuum in the middle of the rounds (one request of ten took 10-12 s
        # on a quiet machine, the XLSX's each time, before this step).
        began = time.perf_counter()
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        print(f"  {database}: VACUUM ANALYZE in {time.perf_counter() - began:.0f} s", flush=True)
    client = desk.web(app, WTF_CSRF_ENABLED=False).test_client()
    client.post("/login", data={"username": "supervisor", "password": desk.PASSWORD})
    yield from pages(database, client, PAGES, rounds)
    closed = desk.web(app, WTF_CSRF_ENABLED=False, CLOCK=lambda: CLOSED).test_client()
    closed.post("/login", data={"username": "supervisor", "password": desk.PASSWORD})
    yield from pages(database, closed, CLOSED_PAGES, rounds)
    app.engine.dispose()


def pages(database: str, client: Any, paths: list[tuple[str, str]], rounds: int) -> Iterator[Row]:
    for name, path in paths:
        first = client.get(path)
        if first.status_code == 404:
            print(f"  {name}: {path} not there (404), skipped", flush=True)
            continue
        assert first.status_code == 200, (path, first.status_code)
        times, cpu = [], []
        for _ in range(rounds):
            began, began_cpu = time.perf_counter(), time.process_time()
            status = client.get(path).status_code
            times.append((time.perf_counter() - began) * 1000)
            cpu.append((time.process_time() - began_cpu) * 1000)
            assert status == 200, (path, status)
        row = (database, name, statistics.median(times), p95(times), statistics.median(cpu))
        print(
            f"  {name}: p50 {row[2]:.0f} ms, p95 {row[3]:.0f} ms, max {max(times):.0f} ms, "
            f"cpu {row[4]:.0f}",
            flush=True,
        )
        yield row


def load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def table(rows: list[Row], count: int, rounds: int, label: str, loads: tuple[str, str]) -> str:
    lines = [
        f"{count:,} calls in 2026-11, {rounds} rounds after a warm-up ({label}); ms; "
        f"load average {loads[0]} at the start, {loads[1]} at the end ({os.cpu_count()} cores)",
        "",
        "| database | page | p50 | p95 | p95 < 1 s | CPU p50 (this process) |",
        "|---|---|---:|---:|:---:|---:|",
    ]
    for database, name, p50, p95_ms, cpu in rows:
        ok = "yes" if p95_ms < TARGET_MS else "**no**"
        lines.append(f"| {database} | {name} | {p50:.0f} | {p95_ms:.0f} | {ok} | {cpu:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--label", default="this tree")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows: list[Row] = []
    at_start = load()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if not args.no_sqlite:
            (tmp / "s").mkdir()
            url = f"sqlite:///{tmp / 's' / 'h.db'}"
            rows += measure("SQLite", url, tmp / "s", args.calls, args.rounds)
        if not args.no_postgres:
            (tmp / "pg").mkdir()
            (tmp / "p").mkdir()
            with postgres_server(tmp / "pg") as server:
                pg = new_pg_database(server)
                rows += measure("PostgreSQL", pg, tmp / "p", args.calls, args.rounds)
    text = table(rows, args.calls, args.rounds, args.label, (at_start, load()))
    print("\n" + text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
