"""How much delay the agent's bridge adds between a caller and the duty clerk.

A real call on loopback: SIPp is the caller (presses 0, then speaks), the
agent runs the default call flow and bridges to baresip (the clerk's phone,
answering by itself and speaking from a file); tshark captures every RTP
packet. With G.711 on both legs the agent forwards the caller's samples
unchanged, so each payload the caller sent is found again, byte for byte, in
what the agent sends the clerk (and the other way round): the time between
the two is the bridge's delay for that packet. Run by hand:

    .venv/bin/python bench/bridge_latency.py [--seconds 20]

Baseline: the design's own delay (Playout's hold of 3 frames + one 20 ms
tick = 80 ms) and the ITU-T G.114 budget for a whole one-way path (150 ms).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "tests" / "sip" / "scenarios" / "uac_flow.xml"
DESIGN_MS = 80.0
G114_MS = 150.0


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the caller speaks")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bridge-bench-"))
    port, clerk_port = free_udp(), free_udp()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    (work / "hotline.toml").write_text(
        f'[paths]\ndata_dir = "{work / "var"}"\n'
        f'[sip]\nlisten = "127.0.0.1:{port}"\nrtp_port_low = 34000\nrtp_port_high = 34200\n'
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
    speech(work / "caller.ulaw", words * max(1, int(args.seconds / 4)), "mu-law")
    home = work / "baresip"
    home.mkdir()
    speech(home / "clerk.wav", "service desk, how can I help you with your repair today? " * 20)
    (home / "config").write_text(
        f"sip_listen 127.0.0.1:{clerk_port}\nnet_interface 127.0.0.1\n"
        f"audio_source aufile,{home / 'clerk.wav'}\naudio_player aubridge,nullsink\n"
        "module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n"
        "module aubridge.so\nmodule account.so\nmodule menu.so\nmodule contact.so\n"
        "module uuid.so\n"
    )
    (home / "accounts").write_text(
        f"<sip:8002@127.0.0.1:{clerk_port}>;regint=0;audio_codecs=PCMU/8000/1;answermode=auto\n"
    )
    procs: list[subprocess.Popen[bytes]] = []
    capture = work / "rtp.pcapng"
    try:
        agent_log = open(work / "agent.log", "wb")  # noqa: SIM115
        procs.append(
            subprocess.Popen(
                [*hotline, "agent"], env=env, stdout=agent_log, stderr=subprocess.STDOUT
            )
        )
        procs.append(
            subprocess.Popen(
                [tool("baresip"), "-f", str(home)],
                cwd=home,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
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
        text = (
            SCENARIO.read_text()
            .replace("KEY_AT_MS", "12000")  # into the menu
            .replace("dtmf_2833_KEY", "dtmf_2833_0")
            .replace("SPEAK_AT_MS", "14000")  # after the transfer prompt and the whisper
            .replace("SPEECH_MS", str(int(args.seconds * 1000)))
            .replace("AUDIO_FILE", str(work / "caller.ulaw"))
        )
        cut = text.index(
            '  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_pound'
        )
        uac = (ROOT / "tests" / "sip" / "scenarios" / "uac_audio.xml").read_text()
        text = text[:cut] + uac[uac.index('  <send retrans="500">\n    <![CDATA[\n      BYE') :]
        (work / "uac.xml").write_text(text)
        subprocess.run(
            [
                tool("sipp"),
                f"127.0.0.1:{port}",
                "-sf",
                str(work / "uac.xml"),
                "-s",
                "agent",
                "-i",
                "127.0.0.1",
                "-p",
                str(free_udp()),
                "-m",
                "1",
                "-timeout",
                "120",
            ],
            cwd=work,
            check=True,
            capture_output=True,
        )
        time.sleep(1)
    finally:
        for proc in reversed(procs):
            proc.kill()
            proc.wait()
    fields = subprocess.run(
        [
            tool("tshark"),
            "-r",
            str(capture),
            "-o",
            "rtp.heuristic_rtp:TRUE",
            "-Y",
            "rtp",
            "-T",
            "fields",
            "-e",
            "frame.time_epoch",
            "-e",
            "udp.srcport",
            "-e",
            "udp.dstport",
            "-e",
            "rtp.payload",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flows: dict[tuple[int, int], list[tuple[float, str]]] = defaultdict(list)
    for line in fields.splitlines():
        at, src, dst, payload = ([*line.split("\t"), "", "", "", ""])[:4]
        if payload and len(set(payload.replace(":", ""))) > 2:  # not silence
            flows[(int(src), int(dst))].append((float(at), payload))
    results = []
    # The agent receives on one port per leg and sends from the same port; match any
    # payload seen arriving at the agent with the same payload leaving it later.
    arrivals: dict[str, float] = {}
    for (_src, dst), packets in flows.items():
        if 34000 <= dst <= 34200:
            for at, payload in packets:
                arrivals.setdefault(payload, at)
    for (src, _dst), packets in flows.items():
        if 34000 <= src <= 34200:
            delays = [
                (at - arrivals[payload]) * 1000
                for at, payload in packets
                if payload in arrivals and 0 <= at - arrivals[payload] < 2
            ]
            if delays:
                results.append((src, delays))
    print(f"bridge delay through the agent ({args.seconds:.0f} s of speech each way, G.711)")
    print(
        f"{'leg (agent port)':<20}{'packets':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
        f"{'design':>9}{'G.114':>8}"
    )
    for src, delays in sorted(results):
        delays.sort()
        p95 = delays[int(0.95 * (len(delays) - 1))]
        print(
            f"{src:<20}{len(delays):>9}{statistics.median(delays):>9.1f}{p95:>9.1f}"
            f"{delays[-1]:>9.1f}{DESIGN_MS:>9.0f}{G114_MS:>8.0f}"
        )
    if not results:
        print("no forwarded packets matched: see", work)


if __name__ == "__main__":
    main()
