"""MEASUREMENT SCRIPT (run by hand, not in CI): the agent under 20 and 50 concurrent calls.

    .venv/bin/python bench/sip_load.py [--calls 20 50] [--seconds 60]
                                       [--library hotline] [--library pyvoip]
                                       [--rtp-sender process] [--rtp-sender thread]
                                       [--decoders N]

Each run starts its own Kamailio (tests/sip/kamailio.cfg) on a free loopback
port, a phone registered with it as `agent`, and SIPp callers through it
(tests/sip/scenarios/uac_audio.xml: Chinese speech from espeak-ng, looped,
PCMU in 20 ms packets; the caller hangs up after --seconds). Both ways carry
audio: the callers' speech, the agent's greeting and then its silence.

The phone is `hotline agent` (rfcvoip behind ivr/sip/; message
mode: greeting, recording, closing; the default ring cadence and rings), or
with --library pyvoip the plain pyVoIP 1.6.8 VoIPPhone (the design's
library; loaded only in a child process of this script, as
bench/sip_library_compare.py does) answering after the same ring delay,
writing the speech and recording what `read_audio` returns.

Figures per run:
- answered within three rings: INVITE to 200 OK as SIPp saw it, counted in
  rings of the configured cadence (transcripts.compliance.rings_before_answer);
- answer-time error: INVITE to 200 OK minus the configured ring delay, p50/p99;
- outgoing RTP: every packet the phone sent on lo, captured by tshark, per
  stream: interval mean, stdev, max gap, how many gaps over 25 ms and the
  99.9th percentile gap, drift (time the stream took against 20 ms a packet,
  worst stream);
- recordings: best normalised cross-correlation of the speech sent with each
  call's recording (min, median);
- CPU (% of one core over the calls) and peak RSS of the phone's process with
  its children (hotline's RTP sender process);
- hotline with `--rtp-sender process` (sip.rtp_sender, the default): the sender
  process's own count of packets handed over after their deadline and put on
  the wire over 2 ms after it. `--rtp-sender thread` measures the pacer thread
  alone (adapter fix 20 without fix 28) beside it;
- with --decoders N: N Vosk decoders busy beside the agent (bench/decoders.py),
  and how much speech they decoded meanwhile (issue 17: a worker on the same
  machine).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.decoders import busy_decoders  # noqa: E402
from hotline.settings import CONFIG_DIR, RingingSettings  # noqa: E402
from recorder import db  # noqa: E402
from recorder.models import Call, Recording  # noqa: E402
from recorder.stored_paths import resolve  # noqa: E402
from tests.sip.test_agent_calls import best_correlation, caller_audio  # noqa: E402
from tests.support.processes import children  # noqa: E402
from tests.support.rtp_capture import udp_datagrams  # noqa: E402
from transcripts.compliance import rings_before_answer  # noqa: E402

TESTS = ROOT / "tests" / "sip"
RINGING = RingingSettings()  # the defaults: 2 rings of 1 s on, 4 s off
GOALS = {
    "answered within three rings": "100 %",
    "answer-time error p50 / p99": "p99 <= 50 ms",
    "RTP interval mean": "20.00 +- 0.02 ms",
    "RTP interval stdev": "-",
    "RTP max gap": "<= 25 ms",
    "RTP gaps over 25 ms / p99.9 gap": "-",
    "RTP drift (worst stream)": "<= 0.05 %",
    "recording corr min / median": ">= 0.99",
    "agent CPU (% of one core)": "-",
    "agent RSS peak": "-",
    "RTP sender process: packets handed over / sent late": "-",
    "RTP sender process: sent late by cause": "-",
    "calls completed (SIPp)": "all",
    "machine load (1-min average after the calls)": "-",
    "decoders beside it": "-",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def process(
    argv: list[str], log: Path, ready: str, env: dict[str, str] | None = None, timeout: float = 120
) -> Iterator[subprocess.Popen[bytes]]:
    """A child in its own session until `ready` appears in its log; ended by its group."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while ready not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv[0]} did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def kamailio(work: Path) -> Iterator[int]:
    port = free_port()
    cfg = work / "kamailio.cfg"
    cfg.write_text((TESTS / "kamailio.cfg").read_text().replace("KAMAILIO_PORT", str(port)))
    # -DD -E logs to stderr; it prints its listening sockets as it starts.
    with process(
        ["kamailio", "-f", str(cfg), "-DD", "-E", "-w", str(work)], work / "kamailio.log", "udp: "
    ):
        time.sleep(0.5)
        yield port


@dataclass
class Phone:
    pid: int
    rtp: tuple[int, int]
    recordings: Path
    """Where the phone's recordings are (hotline: its database says)."""
    database: Path | None = None


@contextlib.contextmanager
def hotline_phone(
    work: Path, registrar: int, rtp: tuple[int, int], seconds: int, calls: int, sender: str
) -> Iterator[Phone]:
    data = work / "var"
    config = work / "hotline.toml"
    config.write_text(
        f'[paths]\ndata_dir = "{data}"\n'
        f'[sip]\nlisten = "127.0.0.1:{free_port()}"\nregistrar = "127.0.0.1:{registrar}"\n'
        f'user = "agent"\nmax_calls = {calls + 10}\n'
        f"rtp_port_low = {rtp[0]}\nrtp_port_high = {rtp[1]}\n"
        f'rtp_sender = "{sender}"\n'
        f'[agent]\nmode = "message"\nrecord_seconds = {seconds + 60}\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_CONFIG_DIR"] = str(CONFIG_DIR)
    base = [sys.executable, "-m", "hotline", "--config", str(config)]
    subprocess.run(
        [*base, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120, cwd=ROOT
    )
    with process([*base, "agent"], work / "agent.log", "agent ready", env=env) as proc:
        yield Phone(proc.pid, rtp, data, data / "hotline.db")


@contextlib.contextmanager
def pyvoip_phone(work: Path, registrar: int, rtp: tuple[int, int]) -> Iterator[Phone]:
    recordings = work / "pyvoip"
    recordings.mkdir()
    argv = [
        sys.executable,
        __file__,
        "--serve-pyvoip",
        str(registrar),
        str(free_port()),
        f"{rtp[0]}-{rtp[1]}",
        str(recordings),
        str(work / "speech.ulaw"),
    ]
    with process(argv, work / "pyvoip.log", "pyvoip ready") as proc:
        yield Phone(proc.pid, rtp, recordings)


def serve_pyvoip(registrar: int, port: int, rtp: str, recordings: Path, speech: Path) -> int:
    """The plain pyVoIP 1.6.8 phone: answers after the ring delay, records read_audio()."""
    import audioop  # pyVoIP needs it too (deprecated in 3.11, gone in 3.13)
    import importlib

    voip = importlib.import_module("pyVoIP.VoIP")  # pyVoIP.VoIP before pyVoIP.SIP (notes)
    low, high = (int(p) for p in rtp.split("-"))
    outgoing = audioop.bias(audioop.ulaw2lin(speech.read_bytes(), 1), 1, 128)  # 8-bit unsigned

    def on_call(call: object) -> None:
        time.sleep(RINGING.answer_delay_s())  # the library has waited its fixed 1 s already
        call.answer()  # type: ignore[attr-defined]
        call.write_audio(outgoing)  # type: ignore[attr-defined]
        name = re.sub(r"[^A-Za-z0-9.-]", "_", str(call.call_id))  # type: ignore[attr-defined]
        with wave.open(str(recordings / f"{name}.wav"), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            while call.state == voip.CallState.ANSWERED:  # type: ignore[attr-defined]
                data = call.read_audio(160, True)  # type: ignore[attr-defined]
                wav.writeframes(audioop.lin2lin(audioop.bias(data, 1, -128), 1, 2))

    phone = voip.VoIPPhone(
        "127.0.0.1",
        registrar,
        "agent",
        "",
        myIP="127.0.0.1",
        callCallback=on_call,
        sipPort=port,
        rtpPortLow=low,
        rtpPortHigh=high,
    )
    phone.start()
    print("pyvoip ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_a: stop.set())
    stop.wait()
    phone.stop()
    return 0


class Meter:
    """CPU time and peak RSS of one process and its children (the agent's RTP sender
    process, adapter fix 28), sampled twice a second."""

    def __init__(self, pid: int) -> None:
        self.pid, self.rss_peak_kb, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _pids(self) -> list[int]:
        return [self.pid, *children(self.pid)]

    def _cpu(self) -> float:
        total = 0
        for pid in self._pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            with contextlib.suppress(OSError):
                rss = 0
                for pid in self._pids():
                    status = Path(f"/proc/{pid}/status").read_text()
                    match = re.search(r"VmRSS:\s+(\d+)", status)
                    rss += int(match.group(1)) if match else 0
                self.rss_peak_kb = max(self.rss_peak_kb, rss)

    def __enter__(self) -> Meter:
        self._cpu0, self._wall0 = self._cpu(), time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.cpu_percent = 100 * (self._cpu() - self._cpu0) / (time.monotonic() - self._wall0)
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def capture(work: Path, rtp: tuple[int, int]) -> Iterator[Path]:
    """tshark on lo: the UDP packets sent from the phone's RTP ports."""
    path = work / "rtp.pcapng"
    argv = [
        "tshark",
        "-i",
        "lo",
        "-f",
        f"udp and src portrange {rtp[0]}-{rtp[1]}",
        "-w",
        str(path),
        "-q",
    ]
    with process(argv, work / "tshark.log", "Capturing on") as proc:
        yield path
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def place_calls(
    work: Path, proxy: int, calls: int, seconds: int, audio: Path
) -> tuple[list[float], set[tuple[str, str]]]:
    """SIPp callers through Kamailio: each call's INVITE-to-200 time (s) as SIPp saw it,
    and the (phone port, caller port) of each call's media from the SDP of both ends."""
    text = (TESTS / "scenarios" / "uac_audio.xml").read_text()
    text = text.replace("AUDIO_FILE,1,PAYLOAD", f"{audio},-1,0").replace(
        "PAUSE_MS", str(seconds * 1000)
    )
    text = text.replace("PTIME", "20").replace("PAYLOAD", "0").replace("CODEC", "PCMU")
    scenario = work / "uac_load.xml"
    scenario.write_text(text)
    out = subprocess.run(
        [
            "sipp",
            f"127.0.0.1:{proxy}",
            "-sf",
            str(scenario),
            "-s",
            "agent",
            "-i",
            "127.0.0.1",
            "-p",
            str(free_port()),
            "-l",
            str(calls),
            "-m",
            str(calls),
            "-r",
            "10",
            "-timeout",
            str(seconds + 90),
            "-trace_rtt",
            "-rtt_freq",
            "1",
            "-trace_err",
            "-trace_msg",
            "-bg",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    pid = int(re.search(r"PID=\[(\d+)\]", out.stdout + out.stderr).group(1))  # type: ignore[union-attr]
    while Path(f"/proc/{pid}").exists():
        time.sleep(0.5)
    rtts = []
    for csv in work.glob("uac_load_*_rtt.csv"):
        for line in csv.read_text().splitlines()[1:]:
            parts = line.split(";")
            if len(parts) >= 2 and parts[1].strip():
                rtts.append(float(parts[1]) / 1000)
    return rtts, media_pairs(work)


def media_pairs(work: Path) -> set[tuple[str, str]]:
    """(phone's RTP port, caller's RTP port) per call, from the SDP in SIPp's message trace.

    The capture's filter is a port range; other programs on this machine may use the
    same ports on lo, so only these pairs are measured.
    """
    offers: dict[str, str] = {}
    answers: dict[str, str] = {}
    for log in work.glob("uac_load_*_messages.log"):
        for message in re.split(r"\n-{20,}[^\n]*\n", log.read_text(errors="replace")):
            call_id = re.search(r"^Call-ID:\s*(\S+)", message, re.MULTILINE | re.IGNORECASE)
            port = re.search(r"^m=audio (\d+)", message, re.MULTILINE)
            if not (call_id and port):
                continue
            if "INVITE sip:" in message:
                offers[call_id.group(1)] = port.group(1)
            elif "SIP/2.0 200" in message:
                answers[call_id.group(1)] = port.group(1)
    return {(answers[c], offers[c]) for c in answers if c in offers}


@dataclass
class Figures:
    values: dict[str, str] = field(default_factory=dict)


def pacing(path: Path, pairs: set[tuple[str, str]]) -> dict[str, str]:
    streams: dict[tuple[str, str], list[float]] = {}
    for d in udp_datagrams(path, payload=False, timeout=600):  # times and ports only
        key = (str(d.src), str(d.dst))
        if key in pairs:
            streams.setdefault(key, []).append(d.at)
    intervals, drifts = [], []
    for times in streams.values():
        t = np.array(sorted(times))[10:]  # the first packets of a stream: start-up
        if len(t) < 50:
            continue
        intervals.append(np.diff(t) * 1000)
        drifts.append(abs((t[-1] - t[0]) / (len(t) - 1) * 1000 - 20) / 20 * 100)
    if not intervals:
        return {"RTP interval mean": "no packets"}
    every = np.concatenate(intervals)
    return {
        "RTP interval mean": f"{every.mean():.3f} ms ({len(intervals)} streams, {len(every)} gaps)",
        "RTP interval stdev": f"{every.std():.2f} ms",
        "RTP max gap": f"{every.max():.1f} ms",
        "RTP gaps over 25 ms / p99.9 gap": f"{int((every > 25).sum())} of {len(every)} / "
        f"{np.percentile(every, 99.9):.1f} ms",
        "RTP drift (worst stream)": f"{max(drifts):.3f} % (median {np.median(drifts):.3f} %)",
    }


def recordings_of(phone: Phone) -> list[Path]:
    if phone.database is None:
        return sorted(phone.recordings.glob("*.wav"))
    engine = db.make_engine(f"sqlite:///{phone.database}")
    try:
        with db.session_factory(engine)() as session:
            # hotline's rows name files relative to its data directory (phone.recordings)
            return [resolve(phone.recordings, r.path) for r in session.scalars(select(Recording))]
    finally:
        engine.dispose()


def correlations(paths: list[Path], sent: np.ndarray) -> list[float]:
    found = []
    for path in paths:
        with wave.open(str(path)) as wav:
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
        # Calls shorter than the speech: the part of it that fits (it loops from the start).
        part = sent[: max(0, min(len(sent), len(pcm) - 8000))]
        found.append(best_correlation(part, pcm) if len(part) > 8000 else 0.0)
    return found


def agent_ring_counts(phone: Phone) -> list[int]:
    if phone.database is None:
        return []
    engine = db.make_engine(f"sqlite:///{phone.database}")
    try:
        with db.session_factory(engine)() as session:
            return [c.ring_count for c in session.scalars(select(Call)) if c.answered_at]
    finally:
        engine.dispose()


def sender_lateness(log: Path) -> str:
    """The RTP sender process's own count at exit (ivr/rtp_sender.py), from the agent's log:
    packets handed over after their deadline (the agent's pacer more than 10 ms late) and
    packets put on the wire over 2 ms after it (the child woke late)."""
    deadline = time.monotonic() + 5  # the child writes it once the agent has gone
    while time.monotonic() < deadline:
        match = re.search(
            r"rtp-sender: (\d+) packets sent; (\d+) handed over after their deadline "
            r"\(worst ([\d.]+) ms\), (\d+) sent over 2 ms after it \(worst ([\d.]+) ms\)",
            log.read_text(errors="replace"),
        )
        if match:
            sent, handed, worst_handed, late, worst_late = match.groups()
            return (
                f"{handed} / {late} of {sent} (worst {worst_handed} / {worst_late} ms after "
                "the deadline)"
            )
        time.sleep(0.2)
    return "no count (sip.rtp_sender = thread?)"


def measure(library: str, calls: int, seconds: int, sender: str = "process") -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix=f"sip-load-{library}-{calls}-") as tmp:
        work = Path(tmp)
        audio, sent = caller_audio(work, "PCMU")
        (work / "speech.ulaw").write_bytes(audio.read_bytes())
        low = 20000 + free_port() % 20000 // 2 * 2
        rtp = (low, low + 4 * calls + 40)
        with kamailio(work) as proxy:
            start = (
                hotline_phone(work, proxy, rtp, seconds, calls, sender)
                if library == "hotline"
                else pyvoip_phone(work, proxy, rtp)
            )
            with start as phone:
                time.sleep(1)
                with capture(work, rtp) as pcap, Meter(phone.pid) as meter:
                    rtts, pairs = place_calls(work, proxy, calls, seconds, audio)
        delay = RINGING.answer_delay_s()
        invited = datetime(2026, 1, 1, tzinfo=UTC)
        rings = [
            rings_before_answer(invited, invited + timedelta(seconds=r), RINGING) for r in rtts
        ]
        errors = np.array([(r - delay) * 1000 for r in rtts]) if rtts else np.array([math.nan])
        corr = correlations(recordings_of(phone), sent)
        figures = {
            "answered within three rings": f"{100 * sum(n <= 3 for n in rings) / calls:.1f} % "
            f"({len(rtts)}/{calls} answered)",
            "answer-time error p50 / p99": f"{np.percentile(errors, 50):+.0f} / "
            f"{np.percentile(errors, 99):+.0f} ms",
            **pacing(pcap, pairs),
            "recording corr min / median": f"{min(corr):.4f} / {np.median(corr):.4f} "
            f"({len(corr)} recordings)"
            if corr
            else "no recordings",
            "agent CPU (% of one core)": f"{meter.cpu_percent:.0f} %",
            "agent RSS peak": f"{meter.rss_peak_kb / 1024:.0f} MB",
            "calls completed (SIPp)": f"{len(rtts)}/{calls}",
            # Other work on this 2-core machine (tests, other benches) shows in every figure.
            "machine load (1-min average after the calls)": f"{os.getloadavg()[0]:.2f}",
        }
        if library == "hotline" and sender == "process":
            figures["RTP sender process: packets handed over / sent late"] = sender_lateness(
                work / "agent.log"
            )
            log = (work / "agent.log").read_text(errors="replace")
            causes = re.search(r"rtp-sender: sent late by cause: ([^\n]*)", log)
            fed = re.search(r"rtp-sender: (\d+ packets fed by the agent, of \d+ streams)", log)
            if causes:
                figures["RTP sender process: sent late by cause"] = (
                    f"{causes.group(1)}; {fed.group(1) if fed else ''}"
                )
        counts = agent_ring_counts(phone)
        if counts:
            figures["answered within three rings"] += (
                f"; agent's ring_count <= 3: {sum(c <= 3 for c in counts)}/{len(counts)}"
            )
        return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--seconds", type=int, default=60, help="length of each call")
    parser.add_argument(
        "--library",
        action="append",
        choices=["hotline", "pyvoip"],
        help="hotline (rfcvoip + adapter) and/or the plain pyVoIP 1.6.8",
    )
    parser.add_argument(
        "--rtp-sender",
        action="append",
        choices=["process", "thread"],
        help="hotline's sip.rtp_sender: the sender process (fix 28, default) and/or the "
        "pacer thread alone (fix 20)",
    )
    parser.add_argument(
        "--decoders",
        type=int,
        default=0,
        metavar="N",
        help="N CPU-bound Vosk decoders running beside the agent (bench/decoders.py), as "
        "a worker on the same machine would (issue 17)",
    )
    args = parser.parse_args()
    libraries = args.library or ["hotline", "pyvoip"]
    senders = args.rtp_sender or ["process"]
    runs = [(lib, s) for lib in libraries for s in (senders if lib == "hotline" else ["-"])]
    columns: dict[str, dict[str, str]] = {}
    for calls in args.calls:
        for library, sender in runs:
            name = "baseline: pyVoIP 1.6.8 plain"
            if library == "hotline":
                name = "hotline" if senders == ["process"] else f"hotline ({sender})"
            print(f"measuring {name} with {calls} calls of {args.seconds} s ...", flush=True)
            if args.decoders:
                name += f", {args.decoders} decoders"
            try:
                with busy_decoders(args.decoders) as decoders:
                    found = measure(library, calls, args.seconds, sender)
                found["decoders beside it"] = decoders.summary()
                columns[f"{name}, {calls} calls"] = found
            except Exception as exc:  # a run that fails is a figure too
                columns[f"{name}, {calls} calls"] = {"calls completed (SIPp)": f"failed: {exc}"}
    names = list(columns)
    print(f"\n| figure | goal | {' | '.join(names)} |")
    print("|---|---|" + "---|" * len(names))
    for figure, goal in GOALS.items():
        print(f"| {figure} | {goal} | {' | '.join(columns[n].get(figure, '-') for n in names)} |")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-pyvoip":
        registrar, port, rtp, recordings, speech = sys.argv[2:7]
        sys.exit(serve_pyvoip(int(registrar), int(port), rtp, Path(recordings), Path(speech)))
    sys.exit(main())
