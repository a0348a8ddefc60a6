"""MEASUREMENT SCRIPT (run by hand, not in CI): the RTP sender process's own CPU time.

    .venv/bin/python bench/media_child_cpu.py [--streams 100] [--seconds 20]
                                              [--child-dir DIR]

Starts the sender process (ivr/rtp_sender.py, ivr/rtp_child.py), commands N streams
on loopback (each its own socket, deadlines spread over a 20 ms period as calls
answered at random moments are), lets them send silence for --seconds, and prints
the child's CPU time (user + system, from /proc) per second of audio, with the
machine's load beside it. CPU time is the child's own work: less noisy than wall
clock on a shared machine, though a busy machine's cache misses still add to it.

--child-dir runs another version of the child (rtp_child.py and rtp_play.py copied
there, e.g. from `git show <commit>:ivr/rtp_play.py`): before and after, back to back.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr import rtp_sender


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--child-dir", type=Path, help="run rtp_child.py from here")
    args = parser.parse_args()
    if args.child_dir:
        rtp_sender.CHILD_PATH = args.child_dir / "rtp_child.py"
    sender = rtp_sender.RtpSender("bench sender")
    sender.start()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)  # dropped: not read
    sockets = []
    try:
        deadline = time.monotonic() + 10
        while not sender.ready():
            if time.monotonic() > deadline:
                raise RuntimeError("the sender process did not start")
            time.sleep(0.01)
        pid = sender.pid
        assert pid is not None
        start = time.monotonic() + 0.1
        rng = random.Random(17)
        for key in range(args.streams):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
            sender.open(key, sock)
            first = start + rng.uniform(0, 0.02)
            state = (first, 0.02, 0, key, 0, 0, 160, 160, 0xFF, True)
            sender.command("plane", key, (*state, sink.getsockname()))
        time.sleep(0.5)
        before = cpu_seconds(pid)
        time.sleep(args.seconds)
        used = cpu_seconds(pid) - before
    finally:
        sender.stop()
        for sock in sockets:
            sock.close()
        sink.close()
    load = os.getloadavg()[0]
    print(
        f"{args.streams} streams, {args.seconds:.0f} s: the sender process used "
        f"{used:.2f} s of CPU ({100 * used / args.seconds:.1f} % of one core); load {load:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
