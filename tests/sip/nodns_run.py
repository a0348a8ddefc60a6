"""Run inside the namespace test_no_dns.py makes (`ip netns exec`): loopback only; the
resolver its resolv.conf names is an address put on lo here, with a socket that takes
every query and never answers, as on a site whose DNS server cannot be reached.

    nodns_run.py CONFIG PORT WORKDIR

Starts `hotline agent`; measures how long one name lookup takes here (the stall the
agent must never wait for on its receive thread); sends OPTIONS with host-name Vias and
no rport, and stray 200 OKs whose Contact names a host, from sockets of its own; then a
good call with SIPp, at once. Prints one JSON object: the lookup's seconds, the
status line each OPTIONS got back to its socket (None: nothing), what came back to the stray responses' sockets, the good call's
exit status and seconds, and the agent's log lines about names.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

RESOLVER = "10.255.255.53"


def options(port: int, local: int, n: int) -> bytes:
    return (
        f"OPTIONS sip:agent@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP stall{n}.example.com:{local};branch=z9hG4bKnodns{n}\r\n"
        f"From: <sip:probe@stall{n}.example.com>;tag=p{n}\r\n"
        f"To: <sip:agent@127.0.0.1:{port}>\r\n"
        f"Call-ID: nodns-options-{n}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def stray_ok(port: int, n: int) -> bytes:
    return (
        "SIP/2.0 200 OK\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKstray{n}\r\n"
        f"From: <sip:agent@127.0.0.1:{port}>;tag=a{n}\r\n"
        f"To: <sip:x@stall{n}.example.com>;tag=b{n}\r\n"
        f"Call-ID: nodns-stray-{n}\r\nCSeq: 1 INVITE\r\n"
        f"Contact: <sip:x@stray{n}.example.com:5060>\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def main() -> None:
    config, port, workdir = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", f"{RESOLVER}/32", "dev", "lo"], check=True)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind((RESOLVER, 53))  # takes the queries, answers none
    log = open(workdir / "agent.log", "wb")  # noqa: SIM115
    agent = subprocess.Popen(
        [sys.executable, "-m", "hotline", "--config", config, "agent"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
    )
    result: dict[str, object] = {}
    try:
        deadline = time.monotonic() + 90
        while b"agent ready" not in (workdir / "agent.log").read_bytes():
            if agent.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((workdir / "agent.log").read_text()[-2000:])
            time.sleep(0.2)
        started = time.monotonic()
        with contextlib.suppress(OSError):
            socket.getaddrinfo("probe.example.com", None)
        result["lookup_s"] = round(time.monotonic() - started, 2)
        time.sleep(1.2)  # the library reads SIP 1 s after "ready"
        sockets = []
        for n in range(3):  # stray responses first: each stalled the agent 9.9 s before
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sock.sendto(stray_ok(port, n), ("127.0.0.1", port))
            sockets.append(sock)
        probes = []
        for n in range(5):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sock.sendto(options(port, sock.getsockname()[1], n), ("127.0.0.1", port))
            probes.append((time.monotonic(), sock))
        began = time.monotonic()
        call = subprocess.run(
            ["sipp", f"127.0.0.1:{port}", "-sn", "uac", "-s", "agent", "-d", "500", "-m", "1",
             "-i", "127.0.0.1", "-p", "5070", "-timeout", "60", "-timeout_error"],
            cwd=workdir, capture_output=True, timeout=90, check=False,
        )  # fmt: skip
        result["good_call"] = call.returncode
        result["good_call_s"] = round(time.monotonic() - began, 2)
        answers: list[str | None] = []
        for _sent, sock in probes:
            sock.settimeout(1.0)
            try:
                answers.append(sock.recvfrom(65535)[0].split(b"\r\n", 1)[0].decode())
            except TimeoutError:
                answers.append(None)
            sock.close()
        result["options_answers"] = answers
        stray_replies = []
        for sock in sockets:
            sock.settimeout(0.2)
            with contextlib.suppress(TimeoutError):
                stray_replies.append(sock.recvfrom(65535)[0].split(b"\r\n", 1)[0].decode())
            sock.close()
        result["stray_replies"] = stray_replies
        result["alive"] = agent.poll() is None
    finally:
        agent.terminate()
        try:
            agent.wait(timeout=10)
        except subprocess.TimeoutExpired:
            agent.kill()
        log.close()
        silent.close()
    text = (workdir / "agent.log").read_text(errors="replace")
    result["log"] = [line for line in text.splitlines() if "resolve" in line or "discarded" in line]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
