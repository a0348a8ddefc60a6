"""Run inside a fresh network namespace with only loopback (see test_torture.py).

Starts `hotline agent`, sends every RFC 4475 torture message to it over UDP,
collects what it answers, then places one good call with SIPp. Prints one
JSON object: replies per message, whether the agent survived, the good call's
exit status. The messages carry foreign addresses (192.0.2.x, example.com);
in this namespace nothing but loopback exists, so nothing can reach them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    config, port, torture_dir, workdir = (
        sys.argv[1],
        int(sys.argv[2]),
        Path(sys.argv[3]),
        Path(sys.argv[4]),
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
        replies: dict[str, list[str]] = {}
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.3)
        for path in sorted(torture_dir.glob("*.dat")):
            sock.sendto(path.read_bytes()[:65000], ("127.0.0.1", port))
            got = []
            while True:
                try:
                    data, _ = sock.recvfrom(65535)
                except TimeoutError:
                    break
                got.append(data.decode("utf-8", "replace").split("\r\n", 1)[0])
            replies[path.stem] = got
        result["replies"] = replies
        result["alive_after"] = agent.poll() is None
        call = subprocess.run(
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
        )
        result["good_call"] = call.returncode
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
