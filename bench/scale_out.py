"""MEASUREMENT SCRIPT (run by hand, not in CI): the desk scaled out on one machine (issue 23).

    .venv/bin/python bench/scale_out.py [--calls 1000] [--concurrent 100] [--seconds 15]
                                        [--no-chaos] [--estates 20]

What README "Scaling out" describes, on loopback: one PostgreSQL, one Redis, two
agents (`hotline agent`, direct mode, each named: agent.name), two workers
(`hotline worker`), and the admin (`hotline admin`), sharing one data_dir. Two
SIPp callers, one per agent, place --calls calls in all, --concurrent at once
(tests/sip/scenarios/uac_audio.xml: Chinese speech, PCMU, the caller hangs
up --seconds after the answer: past the greeting, about 7 s, to leave a
message). Meanwhile, unless --no-chaos: a worker is killed with -9 a third of
the way through (and started again 5 s later, as systemd's Restart=
would), and Redis is killed and started again two thirds of the way through
(without persistence: what it held is lost).

Then it waits for the work to drain and counts what a supervisor would check:
calls in the log, answered within three rings (the agent's own ring count),
entries written exactly once per call, recordings complete (state and file),
calls still waiting for their entry, and the admin's /readyz.

With --estates N, N estates are imported first (`hotline estates import`: E01..EN, each
its own number 0208888xxxx and name, said in its greeting), and the callers dial them in
turn, the number in the To header (the PBX's DID; SIPp's -inf field0), so each call
is routed by its called number; then each estate's calls, entries written exactly once
and answers within three rings are counted, and the calls that reached no estate.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench.sip_load import free_port, process  # noqa: E402
from hotline.settings import CONFIG_DIR  # noqa: E402
from recorder import db  # noqa: E402
from recorder.models import Call, Disposition, LogEntry, Recording, RecordingState  # noqa: E402
from recorder.stored_paths import resolve  # noqa: E402
from tests.conftest import new_pg_database  # noqa: E402
from tests.sip.test_agent_calls import caller_audio  # noqa: E402
from tests.support.postgres import postgres_server  # noqa: E402
from tests.support.processes import require_tool  # noqa: E402

SCENARIO = ROOT / "tests" / "sip" / "scenarios" / "uac_audio.xml"
#: How long the work may take to drain after the last call ends.
DRAIN_S = 600


def _config(work: Path, url: str, redis_port: int, name: str, extra: str) -> Path:
    path = work / f"{name}.toml"
    path.write_text(
        f'[paths]\ndata_dir = "{work / "var"}"\nprompt_cache_dir = "{work / "prompts"}"\n'
        f'[database]\nurl = "{url}"\n'
        f'[queue]\nbackend = "redis"\nredis_url = "redis://127.0.0.1:{redis_port}/0"\n' + extra,
        encoding="utf-8",
    )
    return path


class RedisServer:
    """redis-server without persistence: killed and started again, what it held is lost."""

    def __init__(self, work: Path, port: int) -> None:
        self.argv = [require_tool("redis-server"), "--port", str(port), "--bind", "127.0.0.1"]
        self.argv += ["--save", "", "--appendonly", "no", "--dir", str(work)]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL)
        time.sleep(0.5)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def estate_number(n: int) -> str:
    return f"0208888{n:04d}"


def estates_file(work: Path, count: int) -> Path:
    """`count` estates, each with its own number and name (E01: 第1号小区)."""
    path = work / "estates.toml"
    path.write_text(
        "".join(
            f'[[estate]]\ncode = "E{n:02d}"\nname = "第{n}号小区"\n'
            f'numbers = ["{estate_number(n)}"]\nopening_hours = "00:00-24:00"\n\n'
            for n in range(1, count + 1)
        ),
        encoding="utf-8",
    )
    return path


def place_calls(
    work: Path, name: str, port: int, calls: int, limit: int, seconds: int, estates: int = 0
) -> int:
    """One SIPp caller: `calls` calls to the agent at `port`, `limit` at once; SIPp's exit.
    With `estates`, the calls dial the estates' numbers in turn (the To user)."""
    audio, _sent = caller_audio(work, "PCMU")
    text = SCENARIO.read_text().replace("AUDIO_FILE,1,PAYLOAD", f"{audio},-1,0")
    text = text.replace("PAUSE_MS", str(seconds * 1000)).replace("PTIME", "20")
    text = text.replace("PAYLOAD", "0").replace("CODEC", "PCMU")
    if estates:
        text = text.replace("To: <sip:[service]@", "To: <sip:[field0]@")
    scenario = work / f"uac_{name}.xml"
    scenario.write_text(text)
    argv = ["sipp", f"127.0.0.1:{port}", "-sf", str(scenario), "-s", "8001", "-i", "127.0.0.1"]
    if estates:
        dialled = work / f"dialled_{name}.csv"
        lines = (f"{estate_number(n % estates + 1)};\n" for n in range(calls))
        dialled.write_text("SEQUENTIAL\n" + "".join(lines))
        argv += ["-inf", str(dialled)]
    argv += ["-p", str(free_port()), "-l", str(limit), "-m", str(calls), "-r", "10"]
    argv += ["-timeout", str(calls // max(1, limit) * (seconds + 30) + 300), "-trace_err"]
    with open(work / f"sipp_{name}.log", "wb") as log:
        return subprocess.call(argv, cwd=work, stdout=log, stderr=subprocess.STDOUT)


def chaos(
    work: Path, workers: list[subprocess.Popen[bytes]], store: RedisServer, at: tuple[float, float]
) -> None:
    """A worker killed -9 at at[0] s (started again 5 s later), Redis restarted at at[1] s."""
    started = time.monotonic()
    time.sleep(max(0.0, at[0] - (time.monotonic() - started)))
    victim = workers[0]
    os.killpg(victim.pid, signal.SIGKILL)
    print(f"  {time.monotonic() - started:5.0f} s: worker 1 killed -9", flush=True)
    time.sleep(5)
    workers[0] = _worker(work, "worker1")
    print(f"  {time.monotonic() - started:5.0f} s: worker 1 started again", flush=True)
    time.sleep(max(0.0, at[1] - (time.monotonic() - started)))
    store.kill()
    print(f"  {time.monotonic() - started:5.0f} s: Redis killed", flush=True)
    time.sleep(5)
    store.start()
    print(f"  {time.monotonic() - started:5.0f} s: Redis started again", flush=True)


def _worker(work: Path, name: str) -> subprocess.Popen[bytes]:
    config = work / f"{name}.toml"
    with open(work / f"{name}.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "hotline", "--config", str(config), "worker"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(),
            cwd=work,
            start_new_session=True,
        )


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_CONFIG_DIR"] = str(CONFIG_DIR)
    return env


def counts(url: str, data_dir: Path, seconds: int) -> dict[str, int]:
    sessions = db.session_factory(db.make_engine(url))
    with sessions() as session:
        calls = session.scalars(select(Call)).all()
        entries = dict(
            session.execute(select(LogEntry.call_pk, func.count()).group_by(LogEntry.call_pk)).all()
        )
        recordings = session.scalars(select(Recording)).all()
    complete = 0
    for recording in recordings:
        path = resolve(data_dir, recording.path)
        if (
            recording.state is RecordingState.COMPLETE
            and path.is_file()
            and (recording.duration_s or 0) >= seconds - 1
        ):
            complete += 1
    return {
        "calls in the log": len(calls),
        "answered": sum(c.answered_at is not None for c in calls),
        "answered within three rings": sum(
            c.answered_at is not None and (c.ring_count or 0) <= 3 for c in calls
        ),
        "hung up in the greeting (abandoned)": sum(
            c.disposition is Disposition.ABANDONED for c in calls
        ),
        "calls still open": sum(c.ended_at is None for c in calls),
        "entries exactly once": sum(entries.get(c.id, 0) == 1 for c in calls),
        "calls without an entry": sum(c.id not in entries for c in calls),
        "recordings": len(recordings),
        "recordings complete": complete,
    }


def per_estate(url: str) -> list[tuple[str, int, int, int]]:
    """(estate code or "-" for none, calls, entries exactly once, answered within three
    rings) per estate, by code."""
    from recorder.estates import Estate

    sessions = db.session_factory(db.make_engine(url))
    with sessions() as session:
        codes = dict(session.execute(select(Estate.id, Estate.code)).all())
        calls = session.scalars(select(Call)).all()
        entries = dict(
            session.execute(select(LogEntry.call_pk, func.count()).group_by(LogEntry.call_pk)).all()
        )
    rows: dict[str, list[int]] = {}
    for call in calls:
        row = rows.setdefault(codes.get(call.estate_id or 0, "-"), [0, 0, 0])
        row[0] += 1
        row[1] += entries.get(call.id, 0) == 1
        row[2] += call.answered_at is not None and (call.ring_count or 0) <= 3
    return [(code, row[0], row[1], row[2]) for code, row in sorted(rows.items())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrent", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=15, help="each caller's time on the line")
    parser.add_argument("--no-chaos", action="store_true")
    parser.add_argument("--estates", type=int, default=0, help="route calls across N estates")
    args = parser.parse_args()
    half, limit = args.calls // 2, max(1, args.concurrent // 2)
    with tempfile.TemporaryDirectory(prefix="scale-out-") as tmp:
        work = Path(tmp)
        (work / "pg").mkdir()
        with postgres_server(work / "pg") as server:
            url = new_pg_database(server)
            redis_port = free_port()
            store = RedisServer(work, redis_port)
            store.start()
            try:
                agents, admin_port = [], free_port()
                for n in (1, 2):
                    low = 20000 + 4000 * n
                    _config(
                        work,
                        url,
                        redis_port,
                        f"agent{n}",
                        f'[sip]\nlisten = "127.0.0.1:{free_port()}"\nmax_calls = {limit + 20}\n'
                        f"rtp_port_low = {low}\nrtp_port_high = {low + 4 * limit + 100}\n"
                        f'[agent]\nname = "a{n}"\nmode = "message"\n'
                        f"record_seconds = {args.seconds + 60}\n",
                    )
                for n in (1, 2):
                    _config(work, url, redis_port, f"worker{n}", "")
                _config(
                    work, url, redis_port, "admin", f'[admin]\nlisten = "127.0.0.1:{admin_port}"\n'
                )
                base = [sys.executable, "-m", "hotline", "--config"]
                subprocess.run(
                    [*base, str(work / "admin.toml"), "db", "upgrade"],
                    env=_env(),
                    check=True,
                    capture_output=True,
                )
                if args.estates:
                    listed = str(estates_file(work, args.estates))
                    subprocess.run(
                        [*base, str(work / "admin.toml"), "estates", "import", listed],
                        env=_env(),
                        check=True,
                        capture_output=True,
                    )
                with contextlib.ExitStack() as stack:
                    for n in (1, 2):
                        stack.enter_context(
                            process(
                                [*base, str(work / f"agent{n}.toml"), "agent"],
                                work / f"agent{n}.log",
                                "agent ready",
                                env=_env(),
                                timeout=300,
                            )
                        )
                        text = (work / f"agent{n}.toml").read_text()
                        agents.append(int(text.split('listen = "127.0.0.1:')[1].split('"')[0]))
                    stack.enter_context(
                        process(
                            [*base, str(work / "admin.toml"), "admin"],
                            work / "admin.log",
                            "web desk on",
                            env=_env(),
                        )
                    )
                    workers = [_worker(work, "worker1"), _worker(work, "worker2")]
                    stack.callback(_stop_all, workers)
                    started = time.monotonic()
                    expected = half * 2 / limit * (args.seconds + 6) / 2
                    side = threading.Thread(
                        target=chaos,
                        args=(work, workers, store, (expected / 3, 2 * expected / 3)),
                        daemon=True,
                    )
                    if not args.no_chaos:
                        side.start()
                    exits: dict[int, int] = {}
                    callers = [
                        threading.Thread(
                            target=lambda n=n, port=port: exits.__setitem__(
                                n,
                                place_calls(
                                    work, f"c{n}", port, half, limit, args.seconds, args.estates
                                ),
                            )
                        )
                        for n, port in enumerate(agents, 1)
                    ]
                    for thread in callers:
                        thread.start()
                    for thread in callers:
                        thread.join(timeout=expected * 4 + 600)
                    placed = time.monotonic() - started
                    side.join(timeout=60)
                    print(f"  calls placed in {placed:.0f} s; SIPp exits {exits}", flush=True)
                    drained = _drain(url, work / "var", args.calls, args.seconds)
                    ready = _readyz(admin_port)
                figures = counts(url, work / "var", args.seconds)
                estates = per_estate(url) if args.estates else []
            finally:
                store.kill()
    print(f"\n{args.calls} calls, {args.concurrent} at once, two agents, two workers, ", end="")
    print("worker killed -9 and Redis restarted" if not args.no_chaos else "no chaos")
    print(f"{'figure':<32} {'count':>7}  goal")
    for name, value in figures.items():
        goal = {
            "calls in the log": args.calls,
            "answered within three rings": args.calls,
            "entries exactly once": args.calls,
            "calls without an entry": 0,
            "calls still open": 0,
            "recordings complete": args.calls,
        }.get(name, "")
        print(f"{name:<32} {value:>7}  {goal}")
    print(f"{'work drained after the calls':<32} {drained:>6.0f}s")
    print(f"{'admin /readyz':<32} {ready}")
    if estates:
        print(f"\n{'estate':<8} {'calls':>6} {'entries once':>13} {'within 3 rings':>15}")
        for code, calls, once, within in estates:
            print(f"{code:<8} {calls:>6} {once:>13} {within:>15}")
    print(f"machine load (1-min average): {os.getloadavg()[0]:.2f}")
    return 0


def _stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _drain(url: str, data_dir: Path, calls: int, seconds: int) -> float:
    """Seconds until every call has its entry (or DRAIN_S)."""
    started = time.monotonic()
    while time.monotonic() - started < DRAIN_S:
        figures = counts(url, data_dir, seconds)
        if figures["calls without an entry"] == 0 and figures["calls in the log"] >= calls:
            break
        time.sleep(5)
    return time.monotonic() - started


def _readyz(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            return f"{response.status} " + json.dumps(json.loads(response.read()))[:120]
    except OSError as exc:
        return f"unreachable: {exc}"


if __name__ == "__main__":
    sys.exit(main())
