"""Run inside a fresh network namespace with only loopback (see test_torture.py).

    torture_run.py CONFIG PORT rfc4475 DIR WORKDIR [--names a,b,...]
    torture_run.py CONFIG PORT protos ARCHIVE.tar.xz WORKDIR [--cases N,M,...|--every K]

Starts `hotline agent`, sends it every RFC 4475 torture message, or the PROTOS
c07-sip cases (an INVITE and its CANCEL, placeholders filled with loopback
addresses), over UDP, each from a socket of its own, and collects what comes
back to that socket. tshark on lo sees every datagram the agent sends, so what
it sends anywhere else is known too. Then one good call with SIPp. Prints one
JSON object (see `main`).

RFC 4475 messages: only the top Via's sent-by is rewritten to the message's
socket (127.0.0.1:<port>), so replies routed by the Via (RFC 3261 18.2.2) come
back; every other byte is as in the .dat file. The messages carry foreign
addresses (192.0.2.x, example.com); in this namespace nothing but loopback
exists, and /etc/resolv.conf names no server that can answer.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

PLACEHOLDER = re.compile(
    rb"<(To|From|From-Address|From-IP|Local-Port|Branch-ID|Call-ID|CSeq|Teardown-Method)>"
)
#: The top Via's sent-by, also when the header is folded (RFC 4475 3.1.1.1 wsinv).
TOP_VIA = re.compile(
    rb"(?im)^(?:via|v)[ \t]*:[ \t]*(?:\r\n[ \t]+)?SIP[ \t]*(?:\r\n[ \t]+)?/[ \t]*(?:\r\n[ \t]+)?"
    rb"2\.0[ \t]*(?:\r\n[ \t]+)?/[ \t]*(?:\r\n[ \t]+)?[A-Za-z]+(?:\r\n)?[ \t]+([^;,\s]+)"
)
STATUS_LINE = re.compile(r"^SIP/2\.0 [1-6]\d\d [^\r\n]*$")
REQUEST_LINE = re.compile(r"^(BYE|ACK|CANCEL|INVITE|OPTIONS) sips?:[^\s]+ SIP/2\.0$")
#: Octets a SIP message may carry in its headers besides printable text (RFC 3261 25.1).
CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: The good call's SIPp port.
SIPP_PORT = 5070


def well_formed(message: bytes) -> bool:
    """A start line of a status or a request, and no control octet in the header."""
    head = message.split(b"\r\n\r\n", 1)[0]
    line = head.split(b"\r\n", 1)[0].decode("utf-8", "replace")
    ok_line = bool(STATUS_LINE.match(line) or REQUEST_LINE.match(line))
    return ok_line and not CONTROL.search(head)


def rewrite_top_via(message: bytes, port: int) -> bytes:
    return TOP_VIA.sub(
        lambda m: m.group(0)[: m.start(1) - m.start(0)] + f"127.0.0.1:{port}".encode(),
        message,
        count=1,
    )


def rfc4475_messages(folder: Path, names: set[str] | None) -> Iterator[tuple[str, list[bytes]]]:
    for path in sorted(folder.glob("*.dat")):
        if names is None or path.stem in names:
            yield path.stem, [path.read_bytes()[:65000]]


def protos_records(data: bytes) -> list[bytes]:
    """The messages of one PROTOS case file: records of "<length> <template>"."""
    records, at = [], 0
    while at < len(data):
        space = data.index(b" ", at)
        length = int(data[at:space])
        records.append(data[space + 1 : space + 1 + length])
        at = space + 1 + length
    return records


def fill(template: bytes, case: str, agent_port: int, local_port: int) -> bytes:
    """A PROTOS template with every placeholder filled with loopback values."""
    values = {
        b"To": f"agent@127.0.0.1:{agent_port}".encode(),
        b"From": f"protos@127.0.0.1:{local_port}".encode(),
        b"From-Address": b"127.0.0.1",
        b"From-IP": b"127.0.0.1",
        b"Local-Port": str(local_port).encode(),
        b"Branch-ID": case.encode(),
        b"Call-ID": f"protos-{case}".encode(),
        b"CSeq": b"1",
        b"Teardown-Method": b"CANCEL",
    }
    message = PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    _head, _sep, body = message.partition(b"\r\n\r\n")
    return message.replace(b"<Content-Length>", str(len(body)).encode())


def protos_cases(archive: Path, chosen: set[str] | None) -> Iterator[tuple[str, list[bytes]]]:
    """(case, templates) in case order; `chosen` limits them."""
    with tarfile.open(archive) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not member.isfile() or "/cases/" not in member.name:
                continue
            case = Path(member.name).name
            if chosen is not None and case not in chosen:
                continue
            handle = tar.extractfile(member)
            assert handle is not None
            yield case, protos_records(handle.read())


def drain(sock: socket.socket) -> list[bytes]:
    got = []
    sock.setblocking(False)
    while True:
        try:
            data, _ = sock.recvfrom(65535)
        except (BlockingIOError, OSError):
            return got
        got.append(data)


def wait_final(sock: socket.socket, quiet: float, limit: float) -> list[bytes]:
    """Datagrams until a final response has come and nothing more for `quiet` s, or `limit`."""
    got: list[bytes] = []
    end = time.monotonic() + limit
    final = False
    while time.monotonic() < end:
        sock.settimeout(quiet if final else max(0.001, min(quiet, end - time.monotonic())))
        try:
            data, _ = sock.recvfrom(65535)
        except TimeoutError:
            if final or quiet >= limit:
                break
            continue
        got.append(data)
        final = final or bool(re.match(rb"SIP/2\.0 [2-6]", data))
    return got


def good_call(port: int, workdir: Path) -> int:
    return subprocess.run(
        [
            "sipp",
            f"127.0.0.1:{port}",
            "-sn",
            "uac",
            "-s",
            "agent",
            "-d",
            "500",
            "-m",
            "1",
            "-i",
            "127.0.0.1",
            "-p",
            str(SIPP_PORT),
            "-timeout",
            "30",
            "-timeout_error",
        ],
        cwd=workdir,
        capture_output=True,
        timeout=60,
        check=False,
    ).returncode


def rss_kb(pid: int) -> int:
    """The agent's resident memory with its children's (the RTP sender process)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def sent_by_agent(capture: Path, port: int) -> list[tuple[int, bytes]]:
    """(destination port, payload) of every datagram the agent's SIP port sent."""
    out = subprocess.run(
        [
            "tshark",
            "-r",
            str(capture),
            "-Y",
            f"udp.srcport == {port}",
            "-T",
            "fields",
            "-e",
            "udp.dstport",
            "-e",
            "udp.payload",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    rows = []
    for line in out.splitlines():
        dst, _, data = line.partition("\t")
        rows.append((int(dst), bytes.fromhex(data.replace(":", ""))))
    return rows


def first_line(data: bytes) -> str:
    return data.split(b"\r\n", 1)[0].decode("utf-8", "replace")


def main() -> None:
    config, port, kind, source, workdir = (
        sys.argv[1],
        int(sys.argv[2]),
        sys.argv[3],
        Path(sys.argv[4]),
        Path(sys.argv[5]),
    )
    options = dict(zip(sys.argv[6::2], sys.argv[7::2], strict=False))
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    capture = workdir / "torture.pcapng"
    tshark_log = open(workdir / "tshark.log", "wb")  # noqa: SIM115
    tshark = subprocess.Popen(
        ["tshark", "-i", "lo", "-f", f"udp port {port}", "-w", str(capture), "-q"],
        stdout=tshark_log,
        stderr=subprocess.STDOUT,
    )
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
        while b"agent ready" not in (workdir / "agent.log").read_bytes() or (
            b"Capturing on" not in (workdir / "tshark.log").read_bytes()
        ):
            if agent.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"agent did not start: {(workdir / 'agent.log').read_text()[-2000:]}"
                )
            time.sleep(0.2)
        time.sleep(1.2)  # the library starts reading 1 s after "ready" (D14)
        result["rss_before_kb"] = rss_kb(agent.pid)
        replies: dict[str, list[str]] = {}
        sockets: dict[int, str] = {}
        open_socks: list[tuple[float, socket.socket, str]] = []
        started = time.monotonic()

        def close_old(keep_s: float) -> None:
            while open_socks and time.monotonic() - open_socks[0][0] > keep_s:
                _at, old, old_name = open_socks.pop(0)
                replies[old_name] += [first_line(d) for d in drain(old)]
                old.close()

        if kind == "rfc4475":
            names = set(options["--names"].split(",")) if "--names" in options else None
            for name, case in rfc4475_messages(source, names):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.bind(("127.0.0.1", 0))
                local = sock.getsockname()[1]
                sockets[local] = name
                replies[name] = []
                for message in case:
                    sock.sendto(rewrite_top_via(message, local), ("127.0.0.1", port))
                    replies[name] += [first_line(d) for d in wait_final(sock, 0.3, 1.5)]
                open_socks.append((time.monotonic(), sock, name))
            time.sleep(2.0)  # retransmissions
            close_old(0.0)
        else:
            chosen = None
            if "--cases" in options:
                chosen = set(options["--cases"].split(","))
            elif "--every" in options:
                step = int(options["--every"])
                chosen = {f"{n:07d}" for n in range(0, 4527, step)} | {"0003978"}
            for name, templates in protos_cases(source, chosen):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.bind(("127.0.0.1", 0))
                local = sock.getsockname()[1]
                sockets[local] = name
                replies[name] = []
                for template in templates:
                    message = fill(template, name, port, local)
                    sock.sendto(message[:65000], ("127.0.0.1", port))
                    replies[name] += [first_line(d) for d in wait_final(sock, 0.005, 0.005)]
                open_socks.append((time.monotonic(), sock, name))
                close_old(1.5)
            time.sleep(1.0)
            close_old(0.0)
        result["send_s"] = round(time.monotonic() - started, 1)
        result["replies"] = replies
        result["alive_after"] = agent.poll() is None
        # Accepted cases are real calls (greeting, recording, closing); while every
        # line is busy a good caller is rightly told 486. Call until a line is free.
        began, tries = time.monotonic(), 0
        while True:
            tries += 1
            result["good_call"] = good_call(port, workdir)
            if result["good_call"] == 0 or time.monotonic() - began > 120:
                break
            time.sleep(1)
        result["good_call_s"] = round(time.monotonic() - began, 1)
        result["good_call_tries"] = tries
        # Every call over (the 200s resent for 32 s without ACK end by then too).
        idle_until = time.monotonic() + float(options.get("--idle", "40"))
        while time.monotonic() < idle_until:
            time.sleep(1)
        result["rss_after_kb"] = rss_kb(agent.pid)
        try:
            result["sender_alive_end"] = bool(
                Path(f"/proc/{agent.pid}/task/{agent.pid}/children").read_text().split()
            )
        except OSError:
            result["sender_alive_end"] = False
        result["alive_end"] = agent.poll() is None
    finally:
        agent.terminate()
        try:
            agent.wait(timeout=10)
        except subprocess.TimeoutExpired:
            agent.kill()
        log.close()
        time.sleep(0.5)
        tshark.send_signal(signal.SIGINT)
        try:
            tshark.wait(timeout=20)
        except subprocess.TimeoutExpired:
            tshark.kill()
        tshark_log.close()
    sent = sent_by_agent(capture, port)
    result["sent_total"] = len(sent)
    result["malformed_sent"] = [first_line(d)[:200] for _dst, d in sent if not well_formed(d)]
    result["control_octets_sent"] = sum(
        1 for _dst, d in sent if CONTROL.search(d.split(b"\r\n\r\n", 1)[0])
    )
    result["elsewhere"] = {
        f"{dst}": [first_line(d)[:120] for d2, d in sent if d2 == dst][:5]
        for dst in sorted({d for d, _ in sent if d not in sockets and d != SIPP_PORT})
    }
    # A reply to the port a case's Via named (RFC 3261 18.2.2) is a reply too.
    answered_elsewhere = set()
    for dst, data in sent:
        if dst not in sockets:
            found = re.search(rb"(?im)^(?:call-id|i)[ \t]*:[ \t]*protos-(\d{7})", data)
            if found:
                answered_elsewhere.add(found.group(1).decode())
    result["answered_elsewhere"] = sorted(answered_elsewhere)
    text = (workdir / "agent.log").read_text(errors="replace")
    result["tracebacks"] = text.count("Traceback (most recent call last)")
    result["sender_restarts"] = text.count("RTP sender process restarted")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
