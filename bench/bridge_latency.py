"""How much delay the agent's bridge adds between a caller and the duty clerk.

A real call on loopback: SIPp is the caller (presses 0, then speaks), the
agent runs the default call flow and bridges to baresip (the clerk's phone,
answering by itself and speaking from a file); tshark captures every RTP
packet. With G.711 on both legs the agent forwards the caller's samples
unchanged, so each payload the caller sent is found again, byte for byte, in
what the agent sends the clerk (and the other way round): the time between
the two is the bridge's delay for that packet. Run by hand:

    .venv/bin/python bench/bridge_latency.py [--seconds 20] [--calls 10]

With --calls N, N SIPp callers (one process each, each sending its own
rotation of the speech so every packet names its call) press 0 at once and
are bridged to one baresip that answers them all.

Figures, each beside its baseline:
- added one-way delay, p50/p99, each direction: beside the design's own
  (Playout's hold of 3 frames + one 20 ms tick = 80 ms) and the ITU-T G.114
  budget for a whole one-way path (150 ms);
- jitter, p50/p99, each direction: how far the agent's send intervals stray
  from 20 ms, beside the same for what the sender itself sent the agent;
- DTMF detection: from the first and from the last (end) RFC 2833 packet of
  the caller's 0 in the capture to the agent's "key 0" log line, beside one
  20 ms tick of the agent's loop;
- CPU seconds of the agent process per bridged call (/proc/<pid>/stat),
  beside the CPU the idle agent uses in the same time; RSS before and at peak.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.rtp_capture import rtp_packets  # noqa: E402

SCENARIO = ROOT / "tests" / "sip" / "scenarios" / "uac_flow.xml"
DESIGN_MS = 80.0
G114_MS = 150.0
TICK_MS = 20.0
AGENT_RTP = (34000, 34400)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_udp() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"{name} is not installed: run scripts/install-system-deps")
    return path


def wait_for(check: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def speech(path: Path, text: str, encoding: str | None = None) -> None:
    wav = subprocess.run(
        [tool("espeak-ng"), "-v", "en", "-s", "160", "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    out = ["-t", "raw", "-e", encoding] if encoding else ["-t", "wav", "-b", "16"]
    subprocess.run(
        [tool("sox"), "-t", "wav", "-", "-r", "8000", "-c", "1", *out, str(path)],
        input=wav,
        check=True,
    )


def agent_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]
        if ordered
        else float("nan")
    )


@dataclass
class Packet:
    at: float
    src: int
    dst: int
    pt: int
    payload: str
    end: bool = False


@dataclass
class CallFigures:
    delays: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    jitter: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    sender_jitter: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


def setup(work: Path, calls: int, seconds: float) -> tuple[list[str], dict[str, str], int, Path]:
    port, clerk_port = free_udp(), free_udp()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    (work / "hotline.toml").write_text(
        f'[paths]\ndata_dir = "{work / "var"}"\n'
        f'[sip]\nlisten = "127.0.0.1:{port}"\nrtp_port_low = {AGENT_RTP[0]}\n'
        f"rtp_port_high = {AGENT_RTP[1]}\nmax_calls = {max(20, calls)}\n"
        f'clerk_uri_template = "sip:{{extension}}@127.0.0.1:{clerk_port}"\n'
        '[organization]\nopening_hours = "00:00-24:00"\n'
        '[ringing]\nanswer_after_rings = 0\n[agent]\nmode = "flow"\n'
    )
    hotline = [sys.executable, "-m", "hotline", "--config", str(work / "hotline.toml")]
    subprocess.run([*hotline, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [
            *hotline,
            "users",
            "add",
            "clerk",
            "--name",
            "王芳",
            "--job-number",
            "1024",
            "--extension",
            "8002",
            "--password-stdin",
        ],
        input="a-long-enough-password\n",
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )
    words = "the boiler in flat five zero one is leaking again, please send someone today. "
    speech(work / "caller.ulaw", words * max(1, int(seconds / 4)), "mu-law")
    base = (work / "caller.ulaw").read_bytes()
    for i in range(calls):  # each caller's own rotation: its packets name its call
        shift = (i * 1237 + 61) % len(base)
        (work / f"caller{i}.ulaw").write_bytes(base[shift:] + base[:shift])
    home = work / "baresip"
    home.mkdir()
    speech(home / "clerk.wav", "service desk, how can I help you with your repair today? " * 20)
    (home / "config").write_text(
        f"sip_listen 127.0.0.1:{clerk_port}\nnet_interface 127.0.0.1\n"
        f"call_max_calls {calls + 4}\nrtp_ports 20000-20998\n"
        f"audio_source aufile,{home / 'clerk.wav'}\naudio_player aubridge,nullsink\n"
        "module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n"
        "module aubridge.so\nmodule account.so\nmodule menu.so\nmodule contact.so\n"
        "module uuid.so\n"
    )
    (home / "accounts").write_text(
        f"<sip:8002@127.0.0.1:{clerk_port}>;regint=0;audio_codecs=PCMU/8000/1;answermode=auto\n"
    )
    return hotline, env, port, home


def caller_scenario(work: Path, i: int, seconds: float) -> Path:
    text = (
        SCENARIO.read_text()
        .replace("KEY_AT_MS", "12000")  # into the menu
        .replace("dtmf_2833_KEY", "dtmf_2833_0")
        .replace("SPEAK_AT_MS", "14000")  # after the transfer prompt and the whisper
        .replace("SPEECH_MS", str(int(seconds * 1000)))
        .replace("AUDIO_FILE", str(work / f"caller{i}.ulaw"))
    )
    cut = text.index('  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_pound')
    uac = (ROOT / "tests" / "sip" / "scenarios" / "uac_audio.xml").read_text()
    text = text[:cut] + uac[uac.index('  <send retrans="500">\n    <![CDATA[\n      BYE') :]
    path = work / f"uac{i}.xml"
    path.write_text(text)
    return path


def read_capture(capture: Path) -> list[Packet]:
    """Every RTP packet on lo, RTCP left out (tests/support/rtp_capture.py parses the UDP
    payload: tshark's heuristics took the agent's odd ports for RTCP)."""
    found = rtp_packets(capture, "udp and not sip", skip_rtcp=True, tshark=tool("tshark"))
    # RFC 4733: the second byte's top bit marks the end of the key.
    return [
        Packet(
            p.at,
            p.src,
            p.dst,
            p.payload_type,
            p.body.hex(),
            len(p.body) >= 2 and p.body[1] & 0x80 != 0,
        )
        for p in found
    ]


def is_agent(port: int) -> bool:
    return AGENT_RTP[0] <= port <= AGENT_RTP[1] + 1


def chunks(path: Path) -> set[str]:
    data = path.read_bytes()
    return {
        data[k : k + 160].hex()
        for k in range(0, len(data) - 159, 160)
        if len(set(data[k : k + 160])) > 2
    }


def intervals_ms(times: list[float]) -> list[float]:
    return [abs((b - a) * 1000 - TICK_MS) for a, b in itertools.pairwise(times)]


def delays(arriving: list[Packet], leaving: list[Packet]) -> list[float]:
    """Each payload leaving, matched with the latest arrival of the same payload before it."""
    seen: dict[str, list[float]] = defaultdict(list)
    for p in arriving:
        seen[p.payload].append(p.at)
    out = []
    for p in leaving:
        times = seen.get(p.payload)
        if not times:
            continue
        k = bisect_right(times, p.at)
        if k and p.at - times[k - 1] < 1.0:
            out.append((p.at - times[k - 1]) * 1000)
    return out


def analyse(
    packets: list[Packet], work: Path, calls: int
) -> tuple[CallFigures, list[tuple[int, int]]]:
    """Per call: which agent port faces the caller (A) and which the clerk (B), by payload."""
    audio = [p for p in packets if p.pt == 0 and len(set(p.payload)) > 2]
    figures, pairs = CallFigures(), []
    for i in range(calls):
        mine = chunks(work / f"caller{i}.ulaw")
        into = [p for p in audio if is_agent(p.dst) and not is_agent(p.src) and p.payload in mine]
        out = [p for p in audio if is_agent(p.src) and not is_agent(p.dst) and p.payload in mine]
        if not into or not out:
            continue
        a = max({p.dst for p in into}, key=[p.dst for p in into].count)
        b = max({p.src for p in out}, key=[p.src for p in out].count)
        pairs.append((a, b))
        caller_in = [p for p in audio if p.dst == a and not is_agent(p.src)]
        clerk_out = [p for p in audio if p.src == b and not is_agent(p.dst)]
        clerk_in = [p for p in audio if p.dst == b and not is_agent(p.src)]
        caller_out = [p for p in audio if p.src == a and not is_agent(p.dst)]
        for name, arriving, leaving in (
            ("caller→clerk", caller_in, clerk_out),
            ("clerk→caller", clerk_in, caller_out),
        ):
            figures.delays[name] += delays(arriving, leaving)
            # Only while both talk: the bridged span of the leaving stream.
            start, stop = arriving[0].at, arriving[-1].at
            every_out = (
                sorted(
                    p.at
                    for p in packets
                    if p.src == leaving[0].src
                    and p.dst == leaving[0].dst
                    and p.pt == 0
                    and start <= p.at <= stop
                )
                if leaving
                else []
            )
            every_in = sorted(
                p.at
                for p in packets
                if p.src == arriving[0].src
                and p.dst == arriving[0].dst
                and p.pt == 0
                and start <= p.at <= stop
            )
            figures.jitter[name] += intervals_ms(every_out)
            figures.sender_jitter[name] += intervals_ms(every_in)
    return figures, pairs


def key_times(log: Path) -> dict[str, float]:
    """The agent's "key 0" line per call: Call-ID -> epoch seconds (its log is local time)."""
    found = {}
    for line in log.read_text(errors="replace").splitlines():
        if " key 0" in line and "[" in line:
            stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            found[line.split("[", 1)[1].split("]", 1)[0]] = stamp
    return found


def dtmf_figures(
    packets: list[Packet], pairs: list[tuple[int, int]], keys: dict[str, float], pids: list[int]
) -> tuple[list[float], list[float]]:
    first, last = [], []
    events = [p for p in packets if p.pt == 101 and is_agent(p.dst)]
    for pid in pids:
        at = next((t for cid, t in keys.items() if cid.startswith(f"1-{pid}@")), None)
        if at is None:
            continue
        # The caller's key went to the agent port that faced it (A of its pair).
        ports = {a for a, _ in pairs}
        mine = [p for p in events if p.dst in ports and p.at <= at + 0.001 and at - p.at < 2.0]
        if not mine:
            continue
        # The burst nearest before the log line is this call's key.
        port = max(mine, key=lambda p: p.at).dst
        burst = [p for p in mine if p.dst == port]
        first.append((at - burst[0].at) * 1000)
        ends = [p for p in burst if p.end]
        if ends:
            last.append((at - ends[0].at) * 1000)
    return first, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each caller speaks")
    parser.add_argument("--calls", type=int, default=1, help="bridged calls at once")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bridge-bench-"))
    hotline, env, port, home = setup(work, args.calls, args.seconds)
    procs: list[subprocess.Popen[bytes]] = []
    capture = work / "rtp.pcapng"
    callers: list[subprocess.Popen[bytes]] = []
    try:
        agent_log = open(work / "agent.log", "wb")  # noqa: SIM115
        agent = subprocess.Popen(
            [*hotline, "agent"], env=env, stdout=agent_log, stderr=subprocess.STDOUT
        )
        procs.append(agent)
        procs.append(
            subprocess.Popen(
                [tool("baresip"), "-f", str(home)],
                cwd=home,
                stdin=subprocess.DEVNULL,
                stdout=open(work / "baresip.log", "wb"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )
        )
        procs.append(
            subprocess.Popen(
                [tool("tshark"), "-i", "lo", "-f", "udp", "-w", str(capture), "-q"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_for(lambda: b"agent ready" in (work / "agent.log").read_bytes(), "the agent", 120)
        time.sleep(2)  # tshark and baresip up
        idle_cpu0, idle_t0 = agent_cpu_s(agent.pid), time.monotonic()
        time.sleep(3)
        idle_rate = (agent_cpu_s(agent.pid) - idle_cpu0) / (time.monotonic() - idle_t0)
        rss_before = rss_mb(agent.pid)
        cpu0, t0 = agent_cpu_s(agent.pid), time.monotonic()
        for i in range(args.calls):
            callers.append(
                subprocess.Popen(
                    [
                        tool("sipp"),
                        f"127.0.0.1:{port}",
                        "-sf",
                        str(caller_scenario(work, i, args.seconds)),
                        "-s",
                        "agent",
                        "-i",
                        "127.0.0.1",
                        "-p",
                        str(free_udp()),
                        "-mp",
                        str(40000 + 100 * i),
                        "-m",
                        "1",
                        "-timeout",
                        "180",
                    ],
                    cwd=work,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        codes = [caller.wait(timeout=240) for caller in callers]
        time.sleep(1)
        cpu = agent_cpu_s(agent.pid) - cpu0
        elapsed = time.monotonic() - t0
        rss_peak = rss_mb(agent.pid, "VmHWM")
    finally:
        for proc in [*callers, *reversed(procs)]:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    packets = read_capture(capture)
    figures, pairs = analyse(packets, work, args.calls)
    keys = key_times(work / "agent.log")
    dtmf_first, _dtmf_end = dtmf_figures(packets, pairs, keys, [c.pid for c in callers])
    bridged = (work / "agent.log").read_text(errors="replace").count("bridged to the clerk")
    print(
        f"{args.calls} bridged call(s) at once, {args.seconds:.0f} s of speech each way, G.711; "
        f"callers ok {codes.count(0)}/{args.calls}, bridged {bridged}, pairs found {len(pairs)}"
    )
    print(f"{'figure':<34}{'p50':>9}{'p99':>9}{'n':>7}   baseline")
    for name in ("caller→clerk", "clerk→caller"):
        d = figures.delays[name]
        print(
            f"{'added delay ms ' + name:<34}{pct(d, 0.5):>9.1f}{pct(d, 0.99):>9.1f}{len(d):>7}"
            f"   design {DESIGN_MS:.0f}, G.114 {G114_MS:.0f} (whole path)"
        )
    for name in ("caller→clerk", "clerk→caller"):
        j, s = figures.jitter[name], figures.sender_jitter[name]
        print(
            f"{'jitter ms (|interval-20|) ' + name:<34}{pct(j, 0.5):>9.1f}{pct(j, 0.99):>9.1f}{len(j):>7}"
            f"   sender's own {pct(s, 0.5):.1f} / {pct(s, 0.99):.1f}"
        )
    print(
        f"{'DTMF: first 2833 pkt -> key log':<34}{pct(dtmf_first, 0.5):>9.1f}{pct(dtmf_first, 0.99):>9.1f}"
        f"{len(dtmf_first):>7}   one loop tick 20 (the key is seen at its first packet)"
    )
    per_call = cpu / max(1, bridged)
    idle = idle_rate * elapsed / max(1, bridged)
    print(
        f"{'agent CPU s per bridged call':<34}{per_call:>9.2f}{'':>9}{bridged:>7}"
        f"   idle agent over the same {elapsed:.0f} s: {idle:.2f} per call"
    )
    print(
        f"{'agent CPU % of one core':<34}{100 * cpu / elapsed:>9.1f}{'':>9}{'':>7}"
        f"   idle {100 * idle_rate:.1f}"
    )
    print(
        f"{'agent RSS MB (peak)':<34}{rss_peak:>9.1f}{'':>9}{'':>7}   before the calls {rss_before:.1f}"
    )
    print("work directory:", work)


if __name__ == "__main__":
    main()
