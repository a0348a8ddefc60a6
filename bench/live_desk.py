"""Live desk latency (issue 19): from the agent receiving an INVITE to a desk's SSE client
holding the call's card, with many calls arriving at once and a large directory.

    .venv/bin/python bench/live_desk.py [--calls 20] [--households 10000] [--bursts 5]
                                        [--database-url URL | --postgresql] [--dir DIR]

What runs: the real `hotline agent` and `hotline admin` (waitress) as processes on
loopback over one database (SQLite in DIR unless --database-url); SIPp places --calls
calls at once (-r N -rp 1), each from a different resident's number; a logged-in clerk's
client reads /live/stream. Per call: the agent's Call.invite_at (its clock when the
INVITE arrived) to the moment the client has read the card's `call` event. Each burst's
calls hang up after 3 s and the next burst starts once the desk is empty again.
The desk's directory holds --households households, one resident and number each, and
every caller's unit has past calls and an open work order (so the card has them).

Figures are wall-clock on a shared machine: `uptime`'s load is printed beside them.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from recorder import db, staff  # noqa: E402
from recorder.calls import DatabaseCallLog  # noqa: E402
from recorder.directory import Household, Resident, ResidentPhone  # noqa: E402
from recorder.live_calls import LiveCall  # noqa: E402
from recorder.models import Call, Disposition, FieldSource, Role, WorkOrder  # noqa: E402
from recorder.reception_log import new_entry  # noqa: E402

HOTLINE = [sys.executable, "-m", "hotline"]
PASSWORD = "bench horse 1"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def cpu_s(pid: int) -> float:
    """A process's CPU time so far (user + system), load-independent where wall time is not."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def number_of(i: int) -> str:
    return f"139{i:08d}"


def seed(url: str, households: int, callers: int) -> None:
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    with sessions.begin() as s:
        staff.add_user(s, "clerk", "王芳", "001", Role.CLERK, PASSWORD)
        rows = []
        for i in range(households):
            building, rest = divmod(i, 200)
            unit, room = divmod(rest, 50)
            floor, door = divmod(room, 2)
            rows.append(
                {
                    "id": i + 1,
                    "address": f"{building + 1}栋{unit + 1}单元{floor + 1}{door + 1:02d}",
                    "building": f"{building + 1}栋",
                    "unit_no": str(unit + 1),
                    "room": f"{floor + 1}{door + 1:02d}",
                }
            )
        s.execute(insert(Household), rows)
        s.execute(
            insert(Resident),
            [{"id": r["id"], "household_id": r["id"], "name": f"业主{r['id']}"} for r in rows],
        )
        s.execute(
            insert(ResidentPhone),
            [
                {"resident_id": r["id"], "number": "+86" + number_of(r["id"]),
                 "local": number_of(r["id"])}
                for r in rows
            ],
        )  # fmt: skip
        at = datetime.now(UTC) - timedelta(days=3)
        for r in rows[:callers]:
            for k in range(3):
                entry = new_entry(
                    s,
                    {"received_at": at + timedelta(hours=k), "unit": r["address"],
                     "category": "repair", "summary": "水龙头滴水"},
                    FieldSource.AUTO,
                )  # fmt: skip
                s.flush()
                if k == 0:
                    s.add(WorkOrder(number=f"PG-B-{r['id']}", year=2026, seq=r["id"],
                                    entry_id=entry.id, department="工程部"))  # fmt: skip
    engine.dispose()


def config(folder: Path, url: str, sip_port: int, admin_port: int) -> Path:
    rtp = free_port() // 10 * 10 % 30000 + 20000
    path = folder / "hotline.toml"
    path.write_text(
        f'[paths]\ndata_dir = "{folder / "var"}"\n'
        f'[database]\nurl = "{url}"\n'
        f'[sip]\nlisten = "127.0.0.1:{sip_port}"\nrtp_port_low = {rtp}\n'
        f"rtp_port_high = {rtp + 400}\nmax_calls = 100\n"
        "[ringing]\nanswer_after_rings = 1\nring_on_s = 0.5\nring_off_s = 0.5\n"
        '[agent]\nmode = "message"\nrecord_seconds = 20.0\n'
        f'[admin]\nlisten = "127.0.0.1:{admin_port}"\n',
        encoding="utf-8",
    )
    return path


def started(argv: list[str], log: Path, ready: str, timeout: float = 90) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready in log.read_text(errors="replace"):
            return proc
        if proc.poll() is not None:
            raise SystemExit(f"{argv} exited: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{argv} not ready in {timeout} s")


class Client:
    """A clerk's browser, as far as the stream goes: logs in, reads /live/stream."""

    def __init__(self, base: str) -> None:
        self.base = base
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = self.opener.open(f"{base}/login", timeout=10).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, "no CSRF token on /login"
        form = {"username": "clerk", "password": PASSWORD, "csrf_token": token.group(1)}
        data = urllib.parse.urlencode(form).encode()
        self.opener.open(f"{base}/login", data=data, timeout=10).read()
        self.seen: dict[int, float] = {}
        self.shown: set[int] = set()
        self.connected = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, name="sse", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            self._stream()
        except OSError:
            if not self.stop.is_set():
                raise

    def _stream(self) -> None:
        while not self.stop.is_set():
            with self.opener.open(f"{self.base}/live/stream", timeout=30) as stream:
                event = ""
                for raw in stream:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "call":
                        pk = int(json.loads(line[6:])["id"])
                        self.seen.setdefault(pk, time.time())
                        self.shown.add(pk)
                    elif line.startswith("data: ") and event == "gone":
                        self.shown.discard(int(json.loads(line[6:])["id"]))
                    elif line.startswith("data: ") and event == "reset":
                        self.shown.clear()
                        self.connected.set()
                    if self.stop.is_set():
                        return


class RowWatch:
    """When each call's live_calls row became visible to a reader (polled every 5 ms):
    splits the path into agent + journal applier (INVITE to row) and desk (row to client)."""

    def __init__(self, url: str) -> None:
        self.engine = db.make_engine(url)
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="rows", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        sessions = db.reading(db.session_factory(self.engine))
        while not self.stop.wait(0.005):
            with sessions() as s:
                pks = s.scalars(select(LiveCall.call_pk)).all()
            now = time.time()
            for pk in pks:
                self.seen.setdefault(pk, now)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.engine.dispose()


def journaled(log: Path) -> dict[str, float]:
    """Each call's `started` line in the agent's log: when its call_started was journaled."""
    out: dict[str, float] = {}
    for m in re.finditer(r"^(\S+ \S+) INFO hotline\.calls: \[([^\]]+)\] started",
                         log.read_text(errors="replace"), re.M):  # fmt: skip
        at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").astimezone()
        out.setdefault(m.group(2), at.timestamp())
    return out


def stages(rows: list[tuple[float, float, float, float]]) -> str:
    """p50 / p95 ms of INVITE -> journaled -> row visible -> client parsed."""
    if not rows:
        return "no calls"
    a = np.array(rows) * 1000
    parts = (("INVITE->journaled", a[:, 1] - a[:, 0]), ("journaled->row", a[:, 2] - a[:, 1]),
             ("row->client", a[:, 3] - a[:, 2]), ("total", a[:, 3] - a[:, 0]))  # fmt: skip
    return ", ".join(
        f"{name} {np.percentile(v, 50):.0f}/{np.percentile(v, 95):.0f}" for name, v in parts
    )


def desk_only(url: str, calls: int, first: int, client: Client) -> list[float]:
    """The desk's part alone: `calls` call_started written one after the other as the
    journal's applier writes them (DatabaseCallLog, no agent); seconds from each row's
    commit until the client has its card."""
    engine = db.make_engine(url)
    log = DatabaseCallLog(db.session_factory(engine))
    committed: dict[str, float] = {}
    for i in range(calls):
        call_id = f"desk-{first + i}"
        log.call_started(call_id, number_of(first + i), "8001", datetime.now(UTC))
        committed[call_id] = time.time()
    with db.session_factory(engine)() as s:
        rows = s.execute(select(Call.id, Call.call_id).where(Call.call_id.in_(committed)))
        pks = {call_id: pk for pk, call_id in rows}
    deadline = time.monotonic() + 10
    while any(pk not in client.seen for pk in pks.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    for call_id in committed:
        log.call_ended(call_id, datetime.now(UTC), Disposition.ANSWERED, "bench", "greeting")
    engine.dispose()
    return [client.seen[pk] - committed[cid] for cid, pk in pks.items() if pk in client.seen]


def burst(folder: Path, sip_port: int, calls: int, first: int) -> None:
    numbers = folder / f"callers-{first}.csv"
    numbers.write_text("SEQUENTIAL\n" + "".join(f"{number_of(first + i)};\n" for i in range(calls)))
    audio = folder / "silence.pcmu"
    audio.write_bytes(b"\xff" * 16000)
    text = (ROOT / "tests" / "sip" / "scenarios" / "uac_audio.xml").read_text()
    for key, value in {"13800138000": "[field0]", "AUDIO_FILE": str(audio), "PAUSE_MS": "3000",
                       "PTIME": "20", "PAYLOAD": "0", "CODEC": "PCMU"}.items():  # fmt: skip
        text = text.replace(key, value)
    scenario = folder / "uac_bench.xml"
    scenario.write_text(text)
    done = subprocess.run(
        ["sipp", f"127.0.0.1:{sip_port}", "-i", "127.0.0.1", "-p", str(free_port(socket.SOCK_DGRAM)),
         "-sf", str(scenario), "-inf", str(numbers), "-m", str(calls), "-r", str(calls),
         "-rp", "1", "-l", str(calls), "-s", "agent", "-timeout", "60", "-timeout_error"],
        cwd=folder, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    if done.returncode != 0:
        print(f"  SIPp exit {done.returncode}: {done.stdout[-500:]}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--bursts", type=int, default=5)
    parser.add_argument("--database-url")
    parser.add_argument("--dir", type=Path)
    parser.add_argument(
        "--postgresql", action="store_true", help="a temporary PostgreSQL server (initdb)"
    )
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="live-desk-"))
    (folder / "var").mkdir(parents=True, exist_ok=True)
    if args.postgresql:
        from tests.conftest import new_pg_database
        from tests.support.postgres import postgres_server

        (folder / "pg").mkdir(exist_ok=True)
        with postgres_server(folder / "pg") as server:
            return run(args, folder, new_pg_database(server))
    return run(args, folder, args.database_url or f"sqlite:///{folder / 'var' / 'hotline.db'}")


def run(args: argparse.Namespace, folder: Path, url: str) -> int:
    sip_port, admin_port = free_port(socket.SOCK_DGRAM), free_port()
    toml = config(folder, url, sip_port, admin_port)
    env_argv = [*HOTLINE, "--config", str(toml)]
    subprocess.run([*env_argv, "db", "upgrade"], check=True, capture_output=True, timeout=120)
    t = time.monotonic()
    seed(url, args.households, args.calls * args.bursts)
    print(
        f"seeded {args.households} households in {time.monotonic() - t:.1f} s ({url.split(':', maxsplit=1)[0]})"
    )
    admin = started([*env_argv, "admin"], folder / "admin.log", "web desk on")
    agent = started([*env_argv, "agent"], folder / "agent.log", "agent ready")
    latencies: list[float] = []
    split: list[tuple[float, float, float, float]] = []
    rows = RowWatch(url)
    desk_part: list[float] = []
    cpu: dict[str, float] = {}
    try:
        client = Client(f"http://127.0.0.1:{admin_port}")
        if not client.connected.wait(10):
            raise SystemExit("the stream did not open")
        burst(folder, sip_port, 2, args.households - 1)  # warm-up, not counted
        idle = cpu_s(admin.pid)
        time.sleep(5)
        idle_share = (cpu_s(admin.pid) - idle) / 5
        print(f"admin CPU with one idle desk open (polling): {idle_share:.1%} of a core")
        cpu = {"agent": 0.0, "admin": 0.0}
        for b in range(args.bursts):
            before = set(client.seen)
            used = {name: cpu_s(p.pid) for name, p in (("agent", agent), ("admin", admin))}
            burst(folder, sip_port, args.calls, 1 + b * args.calls)
            for name, p in (("agent", agent), ("admin", admin)):
                cpu[name] += cpu_s(p.pid) - used[name]
            deadline = time.monotonic() + 15
            while client.shown and time.monotonic() < deadline:
                time.sleep(0.1)  # the burst's calls leave the desk before the next
            new = {pk: at for pk, at in client.seen.items() if pk not in before}
            engine = db.make_engine(url)
            with db.session_factory(engine)() as s:
                found = s.execute(
                    select(Call.id, Call.invite_at, Call.call_id).where(Call.id.in_(new))
                )
                invites = {pk: (at, cid) for pk, at, cid in found}
            engine.dispose()
            got = [new[pk] - invites[pk][0].timestamp() for pk in new if pk in invites]
            latencies += got
            logged = journaled(folder / "agent.log")
            here = [
                (at.timestamp(), logged[cid], rows.seen[pk], new[pk])
                for pk, (at, cid) in invites.items()
                if cid in logged and pk in rows.seen
            ]
            split += here
            print(f"burst {b + 1}: {len(got)}/{args.calls} calls shown, p95 "
                  f"{np.percentile(got, 95) * 1000 if got else float('nan'):.0f} ms | {load()}\n"
                  f"  p50/p95 ms: {stages(here)}")  # fmt: skip
        for b in range(args.bursts):
            got = desk_only(url, args.calls, 1 + (args.bursts + b) * args.calls, client)
            desk_part += got
            print(f"desk only {b + 1}: {len(got)}/{args.calls} shown, p95 "
                  f"{np.percentile(got, 95) * 1000 if got else float('nan'):.0f} ms | {load()}")  # fmt: skip
            time.sleep(1)
        client.stop.set()
    finally:
        rows.close()
        for proc in (agent, admin):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    per_call = {name: seconds / (args.bursts * args.calls) * 1000 for name, seconds in cpu.items()}
    print(
        f"CPU per call (whole call, 3 s of media): agent {per_call['agent']:.1f} ms, "
        f"admin (one desk's stream) {per_call['admin']:.1f} ms"
    )
    ms = np.array(latencies) * 1000
    print(
        f"\n{len(ms)} calls, {args.households} households, {url.split(':', maxsplit=1)[0]}: "
        f"p50 {np.percentile(ms, 50):.0f} ms, p95 {np.percentile(ms, 95):.0f} ms, "
        f"max {ms.max():.0f} ms | {load()}"
    )
    print(f"where the time goes, p50/p95 ms: {stages(split)}")
    part = np.array(desk_part) * 1000
    print(
        f"desk only (from each row committed to the card read): "
        f"p50 {np.percentile(part, 50):.0f} ms, p95 {np.percentile(part, 95):.0f} ms, "
        f"max {part.max():.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
