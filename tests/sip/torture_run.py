"""Run inside a fresh network namespace with only loopback (see test_torture.py).

    torture_run.py CONFIG PORT rfc4475 DIR WORKDIR
    torture_run.py CONFIG PORT protos ARCHIVE.tar.xz WORKDIR

Starts `hotline agent`, sends it every RFC 4475 torture message, or every
PROTOS c07-sip case (an INVITE and its CANCEL, placeholders filled with
loopback addresses), over UDP, collects what it answers, then places one good
call with SIPp. Prints one JSON object: the status lines received per
message, whether the agent survived, the good call's exit status and how
long it took. The RFC 4475 messages carry foreign addresses (192.0.2.x,
example.com); in this namespace nothing but loopback exists, so nothing can
reach them.
"""

from __future__ import annotations

import json
import os
import re
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


def rfc4475_messages(folder: Path) -> Iterator[tuple[str, list[bytes]]]:
    for path in sorted(folder.glob("*.dat")):
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


def protos_messages(
    archive: Path, agent_port: int, local_port: int
) -> Iterator[tuple[str, list[bytes]]]:
    with tarfile.open(archive) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not member.isfile() or "/cases/" not in member.name:
                continue
            handle = tar.extractfile(member)
            assert handle is not None
            case = Path(member.name).name
            yield (
                case,
                [fill(r, case, agent_port, local_port) for r in protos_records(handle.read())],
            )


def collect(sock: socket.socket, quiet: float) -> list[str]:
    """Status lines received until nothing more comes for `quiet` seconds."""
    sock.settimeout(quiet)
    got = []
    while True:
        try:
            data, _ = sock.recvfrom(65535)
        except TimeoutError:
            return got
        got.append(data.decode("utf-8", "replace").split("\r\n", 1)[0])


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
            "-timeout",
            "30",
            "-timeout_error",
        ],
        cwd=workdir,
        capture_output=True,
        timeout=60,
        check=False,
    ).returncode


def main() -> None:
    config, port, kind, source, workdir = (
        sys.argv[1],
        int(sys.argv[2]),
        sys.argv[3],
        Path(sys.argv[4]),
        Path(sys.argv[5]),
    )
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
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
                raise SystemExit(
                    f"agent did not start: {(workdir / 'agent.log').read_text()[-2000:]}"
                )
            time.sleep(0.2)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        local_port = sock.getsockname()[1]
        if kind == "protos":
            messages, quiet = protos_messages(source, port, local_port), 0.005
        else:
            messages, quiet = rfc4475_messages(source), 0.3
        replies: dict[str, list[str]] = {}
        started = time.monotonic()
        for name, case in messages:
            got: list[str] = []
            for message in case:
                sock.sendto(message[:65000], ("127.0.0.1", port))
                got += collect(sock, quiet)
            replies[name] = got
        # Replies still on their way (retransmissions, the BYE of answered cases).
        result["late"] = collect(sock, 1.0)
        result["send_s"] = round(time.monotonic() - started, 1)
        result["replies"] = replies
        result["alive_after"] = agent.poll() is None
        # The cases the agent accepted as calls are still being answered (each
        # is a real call: greeting, recording, closing); while all its lines are
        # busy a good caller is rightly told 486. Call until a line is free.
        began, tries = time.monotonic(), 0
        while True:
            tries += 1
            result["good_call"] = good_call(port, workdir)
            if result["good_call"] == 0 or time.monotonic() - began > 120:
                break
            time.sleep(1)
        result["good_call_s"] = round(time.monotonic() - began, 1)
        result["good_call_tries"] = tries
        result["alive_end"] = agent.poll() is None
    finally:
        agent.terminate()
        try:
            agent.wait(timeout=10)
        except subprocess.TimeoutExpired:
            agent.kill()
        log.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
