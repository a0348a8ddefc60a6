"""MEASUREMENT SCRIPT (run by hand, not in CI): thousands of calls, and what the agent holds after.

    .venv/bin/python bench/sip_soak.py [--calls 2000] [--rate 25] [--concurrent 40]

Issue 4 asks that callers hanging up leave no thread or socket behind "after
thousands of calls"; the flood test in CI (tests/sip/test_dialogs.py) makes 200.
This starts `hotline agent` in direct mode on loopback (message mode, 1 ring
of 0.5 s, 1 s of recording) and SIPp's built-in `uac` caller: `--calls` calls
at `--rate` a second, at most `--concurrent` at once, each hanging up 1.5 s
after the answer (in the greeting: the hang-up at any moment the issue names).
It samples the agent and its RTP sender process (adapter fix 28) before the
calls, every 250 calls, and once the agent is idle again, and prints them
beside the figures before the calls, the baseline.

Figures: calls completed (SIPp), call records written, the agent's threads
and open file descriptors, the sender process's file descriptors (a copy of
every live call's RTP socket), RSS of both, CPU per call.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select  # noqa: E402

from bench.sip_load import free_port, process  # noqa: E402
from hotline.settings import CONFIG_DIR  # noqa: E402
from recorder.models import Call  # noqa: E402
from tests.support.processes import children  # noqa: E402


@dataclass
class Sample:
    calls_done: int
    threads: int
    fds: int
    sender_fds: int
    rss_mb: float
    cpu_s: float
    open_files: list[str]
    """What the agent's fds point at (sockets and pipes by kind only)."""


def _rss_mb(pid: int) -> float:
    match = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else 0.0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sample(pid: int, calls_done: int) -> Sample:
    sender = children(pid)
    return Sample(
        calls_done,
        len(os.listdir(f"/proc/{pid}/task")),
        len(os.listdir(f"/proc/{pid}/fd")),
        sum(len(os.listdir(f"/proc/{c}/fd")) for c in sender),
        _rss_mb(pid) + sum(_rss_mb(c) for c in sender),
        _cpu_s(pid) + sum(_cpu_s(c) for c in sender),
        _open_files(pid),
    )


def _open_files(pid: int) -> list[str]:
    kinds = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        kinds.append(re.sub(r"\[\d+\]$", "", target))
    return sorted(kinds)


def records(database: Path) -> int:
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(Call)).scalar_one())
    finally:
        engine.dispose()


def soak(calls: int, rate: int, concurrent: int) -> list[Sample]:
    with tempfile.TemporaryDirectory(prefix="sip-soak-") as tmp:
        work = Path(tmp)
        data, port = work / "var", free_port()
        rtp = 20000 + free_port() % 20000 // 2 * 2
        config = work / "hotline.toml"
        config.write_text(
            f'[paths]\ndata_dir = "{data}"\n'
            f'[sip]\nlisten = "127.0.0.1:{port}"\nmax_calls = {concurrent + 10}\n'
            f"rtp_port_low = {rtp}\nrtp_port_high = {rtp + 4 * concurrent + 200}\n"
            "[ringing]\nanswer_after_rings = 1\nring_on_s = 0.5\nring_off_s = 0.5\n"
            '[agent]\nmode = "message"\nrecord_seconds = 1.0\n',
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        env["HOTLINE_CONFIG_DIR"] = str(CONFIG_DIR)
        base = [sys.executable, "-m", "hotline", "--config", str(config)]
        subprocess.run([*base, "db", "upgrade"], env=env, check=True, capture_output=True)
        with process([*base, "agent"], work / "agent.log", "agent ready", env=env) as agent:
            time.sleep(1.0)
            samples = [sample(agent.pid, 0)]
            stats = work / "sipp_stats.csv"
            caller = subprocess.Popen(
                [
                    "sipp",
                    f"127.0.0.1:{port}",
                    *("-sn", "uac", "-s", "agent", "-i", "127.0.0.1", "-p", str(free_port())),
                    *("-d", "1500", "-r", str(rate), "-l", str(concurrent), "-m", str(calls)),
                    *("-bg", "-trace_stat", "-stf", str(stats), "-fd", "1", "-nostdin"),
                ],
                cwd=work,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            caller.wait(30)  # -bg: SIPp forks itself into the background and exits
            database = data / "hotline.db"
            step = 250
            while True:
                done = records(database)
                if done >= samples[-1].calls_done + step:
                    samples.append(sample(agent.pid, done))
                if not _sipp_running(stats) or done >= calls:
                    break
                time.sleep(0.5)
            time.sleep(5.0)  # the last calls' threads end (BYE answered, 200 OK resends stop)
            samples.append(sample(agent.pid, records(database)))
            print(f"SIPp: {_sipp_outcome(stats)}", flush=True)
            return samples


def _sipp_running(stats: Path) -> bool:
    out = subprocess.run(["pgrep", "-f", str(stats)], capture_output=True, text=True)
    return bool(out.stdout.strip())


def _sipp_outcome(stats: Path) -> str:
    lines = stats.read_text(errors="replace").splitlines() if stats.exists() else []
    if len(lines) < 2:
        return "no statistics"
    head, last = lines[0].split(";"), lines[-1].split(";")
    row = dict(zip(head, last, strict=False))
    return f"{row.get('SuccessfulCall(C)', '?')} successful, {row.get('FailedCall(C)', '?')} failed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=25, help="calls started a second")
    parser.add_argument("--concurrent", type=int, default=40, help="calls at once at most")
    args = parser.parse_args()
    samples = soak(args.calls, args.rate, args.concurrent)
    first = samples[0]
    print(
        "\n| call records | agent threads | agent fds | sender fds | RSS MB (both) | CPU s per call |"
    )
    print("|---|---|---|---|---|---|")
    for s in samples:
        per_call = (s.cpu_s - first.cpu_s) / s.calls_done if s.calls_done else 0.0
        print(
            f"| {s.calls_done} | {s.threads} | {s.fds} | {s.sender_fds} | {s.rss_mb:.1f} | "
            f"{per_call:.3f} |"
        )
    last = samples[-1]
    print(
        f"\nafter {last.calls_done} calls, once idle, against before the calls (baseline): "
        f"threads {last.threads} vs {first.threads}, agent fds {last.fds} vs {first.fds}, "
        f"sender fds {last.sender_fds} vs {first.sender_fds}, RSS {last.rss_mb:.1f} vs "
        f"{first.rss_mb:.1f} MB"
    )
    opened = list(last.open_files)
    for kind in first.open_files:
        if kind in opened:
            opened.remove(kind)
    print(f"the agent's fds opened since the start and still open: {opened or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
