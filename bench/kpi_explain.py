"""Every statement the KPI page, its XLSX and the year's page issue, with its plan (issue 20).

    .venv/bin/python bench/kpi_explain.py [--calls 100000] [--sqlite] [--url URL] [--no-seed]
        [--out bench/results/kpi-explain.txt]

Seeds November 2026 with bench/kpi_seed.py's mix (on a throw-away PostgreSQL server on
loopback, tests/support/postgres.py, unless --url or --sqlite), requests each page once
through the real Flask app logged in as the supervisor, logs every statement it sends
(SQLAlchemy's before_cursor_execute, with its parameters), then runs each again under
`EXPLAIN (ANALYZE, BUFFERS)` (SQLite: EXPLAIN QUERY PLAN and the statement timed) and
prints them slowest first with their plans. By hand, like the rest of bench/.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event

from bench.kpi_seed import seed
from tests.browser import desk
from tests.conftest import new_pg_database
from tests.support.postgres import postgres_server

PAGES = [
    ("KPI page, month", "/supervision/kpi/?month=2026-11"),
    ("KPI XLSX, month", "/supervision/kpi/kpi.xlsx?month=2026-11"),
    ("KPI page, year", "/supervision/kpi/year?year=2026"),
    ("dashboard, month", "/supervision/?period=month&day=2026-11-23"),
]
Logged = list[tuple[str, Any]]


@contextmanager
def logging(engine: Any) -> Iterator[Logged]:
    seen: Logged = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def explain(engine: Any, statement: str, parameters: Any) -> tuple[float, str]:
    """(ms of the statement run alone, its plan)."""
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        cursor = raw.cursor()
        began = time.perf_counter()
        cursor.execute(statement, parameters)
        cursor.fetchall()
        spent = (time.perf_counter() - began) * 1000
        if engine.dialect.name == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        plan = "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())
        cursor.close()
        raw.rollback()
    return spent, plan


def buffers(plan: str) -> int:
    """The pages the statement read (its root node's `Buffers: shared hit=... read=...`):
    a measure the machine's load does not change, unlike its time. 0 on SQLite."""
    found = re.search(r"Buffers: shared ((?:\w+=\d+ ?)+)", plan)
    if not found:
        return 0
    return sum(int(part.split("=")[1]) for part in found.group(1).split() if part[:3] in "hitread")


def run(url: str, tmp: Path, calls: int, do_seed: bool, out: Path | None) -> None:
    app = desk.make_app(tmp, url)
    if do_seed:
        began = time.perf_counter()
        seed(app, calls)
        print(f"seeded {calls} calls in {time.perf_counter() - began:.0f} s", flush=True)
    client = desk.web(app, WTF_CSRF_ENABLED=False).test_client()
    client.post("/login", data={"username": "supervisor", "password": desk.PASSWORD})
    lines: list[str] = []
    for name, path in PAGES:
        client.get(path)  # warm
        with logging(app.engine) as seen:
            began = time.perf_counter()
            assert client.get(path).status_code == 200, path
            wall = (time.perf_counter() - began) * 1000
        selects = [(s, p) for s, p in seen if s.lstrip()[:6].upper() in ("SELECT", "WITH")]
        timed = [(*explain(app.engine, s, p), s) for s, p in selects]
        total = sum(t for t, _p, _s in timed)
        pages = sum(buffers(plan) for _t, plan, _s in timed)
        lines.append(
            f"=== {name}: {wall:.0f} ms, {len(seen)} statements, the selects alone {total:.0f} ms,"
            f" {pages} buffers"
        )
        for spent, plan, statement in sorted(timed, key=lambda item: -item[0]):
            lines += [f"--- {spent:.1f} ms, {buffers(plan)} buffers", statement.strip(), plan, ""]
    text = "\n".join(lines)
    print(text)
    if out:
        out.write_text(text, encoding="utf-8")
    app.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--url", help="an existing database (seeded unless --no-seed)")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if args.url or args.sqlite:
            url = args.url or f"sqlite:///{tmp / 'h.db'}"
            run(url, tmp, args.calls, not args.no_seed, args.out)
            return
        with postgres_server(tmp) as server:
            run(new_pg_database(server), tmp, args.calls, True, args.out)


if __name__ == "__main__":
    main()
