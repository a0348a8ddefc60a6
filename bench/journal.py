"""Journal figures (issue 6): what an agent thread waits for per call event.

    .venv/bin/python bench/journal.py [--calls 200] [--threads 20] [--dir DIR]
                                      [--database-url URL]

Rows: a bare write + fsync of one line (the floor); JournaledCallLog appends
from one thread and from --threads call threads at once; the baseline, the
same events written straight to the database by DatabaseCallLog (SQLite in
DIR unless --database-url); and how fast the applier drains the journal
into that database. Each call is six events (started, ringing, answered,
recording started and closed, ended). DIR should be on the disk the agent's
data_dir is on: fsync cost is the disk's.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from recorder import db  # noqa: E402
from recorder.calls import DatabaseCallLog  # noqa: E402
from recorder.journal import JournaledCallLog  # noqa: E402
from recorder.models import AnsweredBy, Disposition  # noqa: E402
from recorder.wav import WavInfo  # noqa: E402

EVENTS_PER_CALL = 6


class Discard:
    """A target that applies nothing: the journal's own cost, without a database."""

    def __getattr__(self, _name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def one_call(log: Any, call_id: str, folder: Path, timings: list[float]) -> None:
    now = datetime.now(UTC)
    path = folder / f"{call_id}.wav"
    info = WavInfo(path, 8000, 1, 2, 80000, 160044, "ab" * 32)
    events: list[Callable[[], None]] = [
        lambda: log.call_started(call_id, "13800138000", "8001", now),
        lambda: log.call_ringing(call_id, now),
        lambda: log.call_answered(call_id, now, 1, AnsweredBy.AGENT, codec="PCMU"),
        lambda: log.recording_started(call_id, path, "caller", 8000, now),
        lambda: log.recording_closed(call_id, info, now),
        lambda: log.call_ended(call_id, now, Disposition.ANSWERED, "caller BYE", "recording"),
    ]
    for event in events:
        start = time.perf_counter()
        event()
        timings.append(time.perf_counter() - start)


def run_calls(
    log: Any, calls: int, threads: int, folder: Path, prefix: str
) -> tuple[float, list[float]]:
    """Wall time and per-event latencies for `calls` calls spread over `threads` threads."""
    timings: list[float] = []
    lock = threading.Lock()

    def worker(numbers: range) -> None:
        mine: list[float] = []
        for n in numbers:
            one_call(log, f"{prefix}-{n}", folder, mine)
        with lock:
            timings.extend(mine)

    per = -(-calls // threads)
    workers = [
        threading.Thread(target=worker, args=(range(i * per, min(calls, (i + 1) * per)),))
        for i in range(threads)
    ]
    start = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return time.perf_counter() - start, timings


def bare_fsync(folder: Path, count: int) -> list[float]:
    line = b'{"seq": 1, "event": "call_ringing", "args": {"call_id": "x", "at": "2026"}}\n'
    fd = os.open(folder / "bare.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    timings = []
    try:
        for _ in range(count):
            start = time.perf_counter()
            os.write(fd, line)
            os.fsync(fd)
            timings.append(time.perf_counter() - start)
    finally:
        os.close(fd)
    return timings


def row(name: str, wall: float | None, timings: list[float]) -> None:
    ms = np.array(timings) * 1000
    rate = f"{len(timings) / wall:10.0f}" if wall else f"{1000 / ms.mean():10.0f}"
    print(
        f"{name:44s} {rate} {np.percentile(ms, 50):8.3f} {np.percentile(ms, 95):8.3f} "
        f"{np.percentile(ms, 99):8.3f} {ms.max():8.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--dir", type=Path, default=None, help="where the journal is written")
    parser.add_argument("--database-url", default=None, help="baseline database (default SQLite)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # not "N events not applied" for the bare appends
    with tempfile.TemporaryDirectory(prefix="hotline-bench-journal-", dir=args.dir) as tmp:
        work = Path(tmp)
        fs = subprocess.run(
            ["stat", "-f", "-c", "%T", str(work)], capture_output=True, text=True, check=False
        ).stdout.strip()
        url = args.database_url or f"sqlite:///{work / 'hotline.db'}"
        engine = db.make_engine(url)
        db.upgrade(engine)
        sessions = db.session_factory(engine)
        events = args.calls * EVENTS_PER_CALL
        print(
            f"journal in {work} ({fs}); database {db.redact(url)}; {args.calls} calls, {events} events"
        )
        print(
            f"{'':44s} {'events/s':>10s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}"
        )
        row("write + fsync of one line (the floor)", None, bare_fsync(work, events))
        for threads in (1, args.threads):
            log = JournaledCallLog(Discard(), work / f"journal-{threads}")
            wall, timings = run_calls(log, args.calls, threads, work, f"j{threads}")
            log.close(timeout=0)
            row(f"JournaledCallLog append, {threads} thread(s)", wall, timings)
        for threads in (1, args.threads):
            wall, timings = run_calls(
                DatabaseCallLog(sessions), args.calls, threads, work, f"d{threads}"
            )
            row(f"baseline: DatabaseCallLog, {threads} thread(s)", wall, timings)
        log = JournaledCallLog(DatabaseCallLog(sessions), work / "journal-db").start()
        start = time.perf_counter()
        append_wall, timings = run_calls(log, args.calls, args.threads, work, "a")
        assert log.wait_applied(600), "the applier did not finish"
        drain = time.perf_counter() - start
        log.close()
        row(f"append with the applier busy, {args.threads} threads", append_wall, timings)
        print(
            f"applier: {events} events into the database in {drain:.2f} s "
            f"({events / drain:.0f} events/s, {args.calls / drain:.0f} calls/s)"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
