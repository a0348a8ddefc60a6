"""MEASUREMENT SCRIPT (run by hand, not in CI): the agent's outbound calls under load
(issue 22: "200 follow-up tasks due at once, at a configured 20 concurrent outbound
calls, all done without a double call; calls per minute and the agent's CPU").

    .venv/bin/python bench/outbound_load.py [--tasks 200] [--concurrent 20] [--key 1]

One run starts its own Kamailio (tests/sip/kamailio.cfg) on a free loopback port, one
SIPp answering as every resident (tests/sip/scenarios/uas_survey.xml: rings, answers
with PCMU and telephone-event, presses --key as an RFC 4733 event a second after the
ACK, waits for the agent's BYE), registered with Kamailio under each of the --tasks
residents' numbers, and `hotline agent` registered as `agent` with outbound calls on
(outbound.max_calls = --concurrent, any hour, the follow-up due as soon as the work is
returned, the spoken comment cut at 5 s / 1 s of silence, one attempt per task: a
call that goes wrong is counted as given up, not tried again an hour later). The
database (SQLite under the run's data_dir) holds --tasks completed repairs, one per
resident, before the agent starts: at its first look every follow-up falls due at once.

Figures:
- tasks done (the resident's key on the entry's follow-up), given up, still open;
- calls per minute: answered outbound calls over the span from the first INVITE to the
  last call's end (the call log's times);
- the most calls in progress at once (call log: INVITE to end intervals);
- INVITEs per number as the residents' SIPp saw them (distinct Call-IDs per To user):
  the most to one number, and numbers called more than once (must be 0);
- the agent's CPU (% of one core over the run, with its RTP sender process and the
  espeak-ng runs it waited for) and peak RSS;
- calls the residents' SIPp aborted itself (its errors log: on an overloaded machine it
  takes the ACK the agent sends again for a 200 OK SIPp sent again as unexpected);
- machine load (`uptime`) before and after: the 2-core machine is shared, so figures
  are noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from bench.sip_load import Meter, free_port, kamailio, process  # noqa: E402
from hotline.settings import CONFIG_DIR  # noqa: E402
from recorder.models import Call, Direction, Disposition, FieldSource  # noqa: E402
from recorder.outbound_models import OutboundTask, TaskState  # noqa: E402
from recorder.reception_log import new_entry  # noqa: E402
from recorder.work_orders import complete, dispatch  # noqa: E402

TESTS = ROOT / "tests" / "sip"
FIRST_NUMBER = 13800000001


def numbers(count: int) -> list[str]:
    return [str(FIRST_NUMBER + i) for i in range(count)]


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[0]


def seed(database: Path, residents: list[str]) -> None:
    """One completed repair per resident, returned done five minutes ago."""
    engine = create_engine(f"sqlite:///{database}")
    now = datetime.now(UTC)
    with sessionmaker(engine).begin() as s:
        for i, number in enumerate(residents):
            entry = new_entry(
                s,
                {
                    "received_at": now - timedelta(hours=5),
                    "caller_number": number,
                    "unit": f"{1 + i // 100}号楼{1 + i % 100:02d}01",
                    "category": "repair",
                    "summary": "厨房水管漏水",
                    "follow_up_due": (now + timedelta(days=7)).date(),
                },
                FieldSource.AUTO,
            )
            s.flush()
            order = dispatch(s, entry, "工程部", ["工程部"], None, now - timedelta(hours=4))
            complete(s, order, True, None, now=now - timedelta(minutes=5))
    engine.dispose()


def register_all(work: Path, proxy: int, contact_port: int, residents: list[str]) -> None:
    """Every resident's number registered at the one SIPp's address (an injection file)."""
    csv = work / "residents.csv"
    csv.write_text("SEQUENTIAL\n" + "".join(f"{n};\n" for n in residents))
    scenario = (TESTS / "scenarios" / "register.xml").read_text()
    scenario = scenario.replace("EXTENSION", "[field0]").replace("CONTACT_PORT", str(contact_port))
    scenario = scenario.replace("Expires: 120", "Expires: 3600")  # the whole run
    (work / "register-all.xml").write_text(scenario)
    argv = ["sipp", f"127.0.0.1:{proxy}", "-sf", "register-all.xml", "-inf", str(csv)]
    argv += ["-i", "127.0.0.1", "-p", str(free_port()), "-m", str(len(residents))]
    argv += ["-r", "100", "-l", "20", "-timeout", "60", "-timeout_error", "-bg"]
    out = subprocess.run(
        argv,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    pid = int(re.search(r"PID=\[(\d+)\]", out.stdout + out.stderr).group(1))  # type: ignore[union-attr]
    while Path(f"/proc/{pid}").exists():
        time.sleep(0.2)


def agent_config(work: Path, proxy: int, concurrent: int) -> Path:
    data = work / "var"
    config = work / "hotline.toml"
    config.write_text(
        f'[paths]\ndata_dir = "{data}"\n'
        f'[sip]\nlisten = "127.0.0.1:{free_port()}"\nregistrar = "127.0.0.1:{proxy}"\n'
        f'user = "agent"\nmax_calls = {concurrent + 20}\n'
        "[outbound]\nenabled = true\n"
        f'hours = "00:00-24:00"\nmax_calls = {concurrent}\nfollow_up_after_hours = 0\n'
        "poll_s = 0.5\nring_timeout_s = 20\ncomment_s = 5\ncomment_silence_s = 1.0\n"
        # One attempt each: a call that went wrong is given up (and counted), not tried
        # again an hour later.
        "attempts = 1\n",
        encoding="utf-8",
    )
    return config


def invites_per_number(work: Path) -> Counter[str]:
    """Distinct INVITE Call-IDs per To user, from the residents' SIPp message trace."""
    seen: set[tuple[str, str]] = set()
    for log in work.glob("uas_load_*_messages.log"):
        text = log.read_text(encoding="utf-8", errors="replace")
        for chunk in text.split("message received")[1:]:
            block = chunk.split(":", 1)[-1].lstrip()
            if not block.startswith("INVITE "):
                continue
            to = re.search(r"^To:.*?sip:(\d+)@", block, re.M | re.I)
            cid = re.search(r"^Call-ID:\s*(\S+)", block, re.M | re.I)
            if to and cid:
                seen.add((to.group(1), cid.group(1)))
    return Counter(number for number, _ in seen)


def measure(
    tasks: int, concurrent: int, key: str, limit_s: float, keep: bool = False
) -> dict[str, str]:
    residents = numbers(tasks)
    kept = tempfile.mkdtemp(prefix="outbound-load-") if keep else None
    with contextlib.nullcontext(kept) if kept else tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if kept:
            print(f"the run's files are kept in {work}", flush=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        env["HOTLINE_CONFIG_DIR"] = str(CONFIG_DIR)
        with kamailio(work) as proxy:
            config = agent_config(work, proxy, concurrent)
            base = [sys.executable, "-m", "hotline", "--config", str(config)]
            subprocess.run(
                [*base, "db", "upgrade"], env=env, check=True, capture_output=True, cwd=ROOT
            )
            database = work / "var" / "hotline.db"
            seed(database, residents)
            scenario = (TESTS / "scenarios" / "uas_survey.xml").read_text()
            scenario = scenario.replace("KEY_AT_MS", "1000").replace("KEY", key)
            (work / "uas_load.xml").write_text(scenario)
            port = free_port()
            uas = ["sipp", "-sf", "uas_load.xml", "-i", "127.0.0.1", "-p", str(port)]
            uas += ["-m", str(tasks * 3), "-mp", str(free_port()), "-trace_msg", "-trace_err"]
            # In the run's directory: the scenario and its message trace are there.
            in_work = ["sh", "-c", f'cd "{work}" && exec "$0" "$@"', *uas]
            with process(in_work, work / "sipp-uas.log", "", timeout=10):
                register_all(work, proxy, port, residents)
                before = load()
                started = time.monotonic()
                with (
                    process([*base, "agent"], work / "agent.log", "agent ready", env=env) as agent,
                    AgentMeter(agent.pid) as meter,
                ):
                    sessions = sessionmaker(create_engine(f"sqlite:///{database}"))
                    open_left = tasks
                    while time.monotonic() - started < limit_s:
                        time.sleep(2)
                        with sessions() as s:
                            open_left = _open(s, tasks)
                        if open_left == 0:
                            break
                    time.sleep(3)  # the last calls' ends land in the journal
                wall = time.monotonic() - started
                with sessions() as s:
                    states = dict(
                        s.execute(
                            select(OutboundTask.state, func.count()).group_by(OutboundTask.state)
                        ).all()
                    )
                    calls = s.scalars(
                        select(Call).where(Call.direction == Direction.OUTBOUND)
                    ).all()
            per_number = invites_per_number(work)
            aborted = aborted_by_sipp(work)
    answered = [c for c in calls if c.disposition is Disposition.ANSWERED and c.ended_at]
    first = min((c.invite_at for c in calls), default=None)
    last = max((c.ended_at for c in answered if c.ended_at), default=None)
    span = (last - first).total_seconds() if first and last else 0.0
    twice = sum(1 for n in per_number.values() if n > 1)
    return {
        "follow-up tasks": str(tasks),
        "outbound.max_calls": str(concurrent),
        "tasks done (key on the entry)": str(states.get(TaskState.DONE, 0)),
        "tasks given up": str(states.get(TaskState.GAVE_UP, 0)),
        "tasks still open": str(open_left),
        "calls the residents' SIPp aborted itself (overloaded)": str(aborted),
        "outbound calls in the log": str(len(calls)),
        "answered calls": str(len(answered)),
        "calls per minute (first INVITE to last end)": f"{60 * len(answered) / span:.1f}"
        if span
        else "-",
        "span first INVITE to last end": f"{span:.0f} s",
        "most calls in progress at once": str(_most_at_once(calls)),
        "numbers called (residents' SIPp)": str(len(per_number)),
        "most INVITEs to one number": str(max(per_number.values(), default=0)),
        "numbers called more than once": str(twice),
        "agent CPU (% of one core)": f"{meter.cpu_percent:.0f}",
        "agent peak RSS": f"{meter.rss_peak_kb / 1024:.0f} MB",
        "wall time": f"{wall:.0f} s",
        "load (1 min) before / after": f"{before} / {load()}",
    }


class AgentMeter(Meter):
    """bench/sip_load.py's Meter, with the CPU of the children the agent has waited for
    (cutime, cstime: the espeak-ng runs that synthesise each call's intro)."""

    def _cpu(self) -> float:
        total = super()._cpu()
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
        return total


def aborted_by_sipp(work: Path) -> int:
    """Calls the residents' SIPp gave up on itself (an unexpected message while it was
    overloaded, e.g. an ACK sent again for a 200 OK it sent again)."""
    return sum(
        log.read_text(errors="replace").count("Aborting call")
        for log in work.glob("uas_load_*_errors.log")
    )


def _open(s: Session, tasks: int) -> int:
    settled = s.scalar(
        select(func.count())
        .select_from(OutboundTask)
        .where(OutboundTask.state.in_([TaskState.DONE, TaskState.GAVE_UP]))
    )
    return tasks - int(settled or 0)


def _most_at_once(calls: Sequence[Call]) -> int:
    edges = []
    for call in calls:
        if call.ended_at is None:
            continue
        edges += [(call.invite_at, 1), (call.ended_at, -1)]
    most = now = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        now += step
        most = max(most, now)
    return most


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--key", default="1", choices=list("0123456789"))
    parser.add_argument("--limit-s", type=float, default=900, help="give up after this")
    parser.add_argument("--keep", action="store_true", help="keep the run's logs")
    args = parser.parse_args()
    found = measure(args.tasks, args.concurrent, args.key, args.limit_s, args.keep)
    print("\n| figure | value |\n|---|---:|")
    for figure, value in found.items():
        print(f"| {figure} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
