"""MEASUREMENT SCRIPT (run by hand, not in CI): pyVoIP 1.6.8 beside rfcvoip 2.10.3 on loopback.

This is the only module besides ivr/sip/library.py that loads the SIP libraries; it does so
through importlib inside functions so the one-adapter rule stays visible.

Run: .venv/bin/python bench/sip_library_compare.py
Each library gets a VoIPPhone whose "registrar" is a raw UDP probe socket on 127.0.0.1 (pyVoIP
sends every reply to the registrar, so the probe must be it); the probe plays the caller too.
The digest REGISTER probe runs against Kamailio with the shared kamailio-loopback-auth.cfg.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)
LIBS = {"pyVoIP 1.6.8": "pyVoIP.VoIP", "rfcvoip 2.10.3": "rfcvoip.VoIP"}
AUTH_CFG = Path("/work/shared/notes/kamailio-loopback-auth.cfg")
SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio {rtp} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
)


def free_port() -> int:
    """Return a free UDP port on loopback so runs do not collide."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def header(msg: str, name: str) -> str:
    """Return the first value of a header (pure helper, tested)."""
    for line in msg.split("\r\n")[1:]:
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def status_code(msg: str) -> int:
    """Return the status code of a response, 0 for a request."""
    first = msg.split("\r\n", 1)[0]
    return int(first.split()[1]) if first.startswith("SIP/2.0") else 0


def ok_for(req: str) -> str:
    """Build a 200 OK for a REGISTER so each library believes it registered."""
    hs = [f"{h}: {header(req, h)}" for h in ("Via", "From", "Call-ID", "CSeq", "Contact")]
    hs.append(f"To: {header(req, 'To')};tag=probe")
    return "SIP/2.0 200 OK\r\n" + "\r\n".join(hs) + "\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n"


class Probe:
    """A UDP socket that is both the phone's registrar and its caller."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.sock.settimeout(0.2)
        self.log: list[tuple[float, str]] = []

    def pump(self, seconds: float) -> None:
        """Receive for a bounded time, answering REGISTER and OPTIONS-less traffic."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            msg = data.decode("utf-8", "replace")
            self.log.append((time.monotonic(), msg))
            if msg.startswith("REGISTER"):
                self.sock.sendto(ok_for(msg).encode(), addr)

    def send(self, msg: str, port: int) -> float:
        """Send one message to the phone and return the send time."""
        self.log.clear()
        t = time.monotonic()
        self.sock.sendto(msg.encode(), ("127.0.0.1", port))
        return t

    def responses(self, call_id: str) -> list[tuple[float, int, str]]:
        """Responses received for one Call-ID: (time, code, CSeq method)."""
        return [
            (t, status_code(m), header(m, "CSeq").split()[-1])
            for t, m in self.log
            if status_code(m) and header(m, "Call-ID") == call_id
        ]


def invite(probe: Probe, phone_port: int, call_id: str, extra: str = "") -> str:
    """Build an INVITE from the probe to the phone's user."""
    body = SDP.format(rtp=free_port())
    return (
        f"INVITE sip:clerk@127.0.0.1:{phone_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{probe.port};branch=z9hG4bK{call_id[:8]};rport\r\n"
        f"From: <sip:caller@127.0.0.1:{probe.port}>;tag=c{call_id[:6]}\r\n"
        f"To: <sip:clerk@127.0.0.1:{phone_port}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
        f"Contact: <sip:caller@127.0.0.1:{probe.port}>\r\nMax-Forwards: 70\r\n{extra}"
        f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    )


def cancel(probe: Probe, phone_port: int, inv: str) -> str:
    """Build the CANCEL matching an INVITE (same Via branch)."""
    cid = header(inv, "Call-ID")
    return (
        f"CANCEL sip:clerk@127.0.0.1:{phone_port} SIP/2.0\r\nVia: {header(inv, 'Via')}\r\n"
        f"From: {header(inv, 'From')}\r\nTo: {header(inv, 'To')}\r\nCall-ID: {cid}\r\n"
        "CSeq: 1 CANCEL\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )


class Harness:
    """One library's VoIPPhone with a callback whose behaviour each probe chooses."""

    def __init__(self, module: str, probe: Probe, mode: dict[str, Any]) -> None:
        voip = importlib.import_module(module)
        self.port = free_port()
        self.mode = mode
        low = free_port() // 2 * 2
        self.phone = voip.VoIPPhone(
            "127.0.0.1",
            probe.port,
            "clerk",
            "pw",
            myIP="127.0.0.1",
            callCallback=self.on_call,
            sipPort=self.port,
            rtpPortLow=low,
            rtpPortHigh=low + 200,
        )

    def on_call(self, call: Any) -> None:
        """Record when the application sees the call, then act as the probe asked."""
        self.mode["callback_at"] = time.monotonic()
        self.mode["call"] = call
        try:
            if self.mode["action"] == "answer":
                call.answer()
                if "write" in self.mode:
                    call.write_audio(self.mode["write"])
            elif self.mode["action"] == "deny":
                call.deny()
            elif self.mode["action"] == "cancel-wait":
                time.sleep(3.0)
                self.mode["state_after_cancel"] = str(call.state)
                call.answer()
                self.mode["answer_after_cancel"] = "answered"
        except Exception as exc:
            self.mode["error"] = type(exc).__name__


def probe_answer(probe: Probe, h: Harness) -> dict[str, str]:
    """100 Trying, INVITE-to-callback delay, 200 OK retransmissions while ACK is withheld."""
    cid = uuid.uuid4().hex
    h.mode.clear()
    h.mode["action"] = "answer"
    t0 = probe.send(invite(probe, h.port, cid), h.port)
    probe.pump(10.0)
    codes = probe.responses(cid)
    oks = [t for t, c, m in codes if c == 200 and m == "INVITE"]
    cb = h.mode.get("callback_at")
    out = {
        "100 Trying sent": "yes" if any(c == 100 for _, c, _ in codes) else "no",
        "INVITE to callback": f"{cb - t0:.3f} s" if cb else "never",
        "INVITE to first 200": f"{oks[0] - t0:.3f} s" if oks else "none",
        "200 OK sent in 10 s without ACK": f"{len(oks)}"
        + (" (no retransmission)" if len(oks) == 1 else ""),
    }
    _hangup(h)
    return out


def _hangup(h: Harness) -> None:
    """End a call the probe left up, ignoring what the library thinks of it."""
    call = h.mode.get("call")
    if call is not None:
        with contextlib.suppress(Exception):
            call.hangup()


def probe_cancel(probe: Probe, h: Harness) -> dict[str, str]:
    """CANCEL while ringing: 487? Can the app still answer afterwards?"""
    cid = uuid.uuid4().hex
    h.mode.clear()
    h.mode["action"] = "cancel-wait"
    inv = invite(probe, h.port, cid)
    probe.send(inv, h.port)
    probe.pump(0.5)
    t_c = time.monotonic()
    probe.sock.sendto(cancel(probe, h.port, inv).encode(), ("127.0.0.1", h.port))
    probe.pump(4.5)
    codes = probe.responses(cid)
    r487 = [t for t, c, _ in codes if c == 487]
    late_200 = any(c == 200 and m == "INVITE" for _, c, m in codes)
    verdict = f"487 after {(r487[0] - t_c) * 1000:.0f} ms" if r487 else "no 487"
    verdict += "; call answered anyway" if late_200 else "; call ended"
    if "error" in h.mode:
        verdict += f"; later answer() raised {h.mode['error']}"
    _hangup(h)
    return {"CANCEL while ringing": verdict}


def probe_deny(probe: Probe, h: Harness) -> dict[str, str]:
    """deny(): which response, does the library raise?"""
    cid = uuid.uuid4().hex
    h.mode.clear()
    h.mode["action"] = "deny"
    probe.send(invite(probe, h.port, cid), h.port)
    probe.pump(3.0)
    finals = sorted({c for _, c, _ in probe.responses(cid) if c >= 300})
    raised = h.mode.get("error", "no exception")
    return {"deny()": f"{'/'.join(map(str, finals)) or 'no final response'}; {raised}"}


def probe_empty_supported(probe: Probe, h: Harness) -> dict[str, str]:
    """A valid INVITE with an empty Supported: header: answered or silently dropped?"""
    cid = uuid.uuid4().hex
    h.mode.clear()
    h.mode["action"] = "answer"
    probe.send(invite(probe, h.port, cid, extra="Supported:\r\n"), h.port)
    probe.pump(3.0)
    codes = sorted({c for _, c, _ in probe.responses(cid)})
    _hangup(h)
    return {
        "INVITE with empty Supported:": "responses " + ",".join(map(str, codes))
        if codes
        else "silently dropped"
    }


def probe_digest(module: str) -> dict[str, str]:
    """Digest REGISTER against Kamailio (kamailio-loopback-auth.cfg, password s3cret)."""
    voip = importlib.import_module(module)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        cfg = Path(tmp) / "k.cfg"
        cfg.write_text(AUTH_CFG.read_text().replace("5060", str(port)))
        log = open(Path(tmp) / "k.log", "w+")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            ["kamailio", "-f", str(cfg), "-DD", "-E"],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            time.sleep(1.5)
            return {"digest REGISTER (Kamailio)": _register(voip, port, Path(tmp) / "k.log")}
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # kamailio -DD forks children: end the group
            proc.wait(5)
            log.close()


def _register(voip: Any, port: int, log: Path) -> str:
    """Start a phone against Kamailio and wait (bounded) for its REGISTERED line."""
    low = free_port() // 2 * 2
    phone = voip.VoIPPhone(
        "127.0.0.1",
        port,
        "clerk",
        "s3cret",
        myIP="127.0.0.1",
        callCallback=None,
        sipPort=free_port(),
        rtpPortLow=low,
        rtpPortHigh=low + 100,
    )
    box: dict[str, str] = {}
    t = threading.Thread(target=lambda: _start(phone, box), daemon=True)
    t0 = time.monotonic()
    t.start()
    t.join(10)
    ok = "REGISTERED sip:clerk@" in log.read_text()
    result = f"registered in {time.monotonic() - t0:.2f} s" if ok else "not registered"
    if "error" in box:
        result += f"; start() raised {box['error']}"
    if t.is_alive():
        result += "; start() still blocked after 10 s"
    threading.Thread(target=phone.stop, daemon=True).start()
    return result


def _start(phone: Any, box: dict[str, str]) -> None:
    """Run phone.start() and keep its exception as a measurement."""
    try:
        phone.start()
    except Exception as exc:
        box["error"] = f"{type(exc).__name__}: {exc}"[:80]


def probe_pcma_pacing(probe: Probe, h: Harness) -> dict[str, str]:
    """PCMA-only offer, 10 s of a 440 Hz tone written by the app: codec and send pacing."""
    np = importlib.import_module("numpy")
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))
    rtp.settimeout(0.2)
    n = np.arange(8000 * 10)
    tone = (128 + 100 * np.sin(2 * np.pi * 440 * n / 8000)).astype(np.uint8)
    cid = uuid.uuid4().hex
    h.mode.clear()
    h.mode["action"] = "answer"
    h.mode["write"] = tone.tobytes()
    inv = _pcma_only(invite(probe, h.port, cid), int(rtp.getsockname()[1]))
    probe.send(inv, h.port)
    probe.pump(1.5)
    probe.sock.sendto(_ack(probe, h.port, inv).encode(), ("127.0.0.1", h.port))
    arrivals, payload = _collect_rtp(rtp, 11.0)
    rtp.close()
    _hangup(h)
    return _pacing(np, arrivals) | _codec(np, payload, tone)


def _pcma_only(inv: str, rtp_port: int) -> str:
    """Rewrite the SDP of an INVITE to offer PCMA only on our RTP socket."""
    head, body = inv.split("\r\n\r\n", 1)
    body = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {rtp_port} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n"
    )
    lines = [ln for ln in head.split("\r\n") if not ln.startswith("Content-Length")]
    return "\r\n".join(lines) + f"\r\nContent-Length: {len(body)}\r\n\r\n{body}"


def _ack(probe: Probe, port: int, inv: str) -> str:
    """ACK for the 200 OK (To tag taken from the phone's response)."""
    to = next((header(m, "To") for _, m in probe.log if status_code(m) == 200), header(inv, "To"))
    return (
        f"ACK sip:clerk@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{probe.port};branch=z9hG4bKack{uuid.uuid4().hex[:6]}\r\n"
        f"From: {header(inv, 'From')}\r\nTo: {to}\r\nCall-ID: {header(inv, 'Call-ID')}\r\n"
        "CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )


def _collect_rtp(sock: socket.socket, seconds: float) -> tuple[list[float], bytes]:
    """Receive RTP for a bounded time: loopback arrival times and the payloads (PT 8 only)."""
    arrivals: list[float] = []
    payload = bytearray()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data = sock.recv(2048)
        except TimeoutError:
            continue
        if len(data) > 12 and data[1] & 0x7F == 8:
            arrivals.append(time.monotonic())
            payload += data[12:]
    return arrivals, bytes(payload)


def _pacing(np: Any, arrivals: list[float]) -> dict[str, str]:
    """Mean/stdev/max gap of packet spacing and drift against 20 ms per packet."""
    arrivals = arrivals[60:]  # packets queued before the probe started reading arrive in a burst
    if len(arrivals) < 50:
        return {"RTP pacing (~10 s, loopback arrival)": f"only {len(arrivals)} packets"}
    gaps = np.diff(np.array(arrivals)) * 1000
    drift = (arrivals[-1] - arrivals[0]) * 1000 - 20 * (len(arrivals) - 1)
    return {
        "RTP pacing (~10 s, loopback arrival)": f"n={len(arrivals)} mean {gaps.mean():.3f} ms, "
        f"sd {gaps.std():.2f}, max {gaps.max():.1f}, drift {drift:+.1f} ms"
    }


def _codec(np: Any, payload: bytes, tone: Any) -> dict[str, str]:
    """Decode the PT 8 payload as A-law and as µ-law; correlate each with the source tone."""
    audioop = importlib.import_module("audioop")
    src = tone[:8000].astype(np.float64) - 128
    out = {}
    for law, fn in (("A-law", audioop.alaw2lin), ("mu-law", audioop.ulaw2lin)):
        pcm = np.frombuffer(fn(payload[16000:24000], 2), dtype=np.int16).astype(np.float64)
        if len(pcm) < 8000:
            return {"PCMA transmit": f"only {len(payload)} payload bytes"}
        cc = np.correlate(pcm - pcm.mean(), src[:400], mode="valid")
        norm = np.sqrt(
            np.convolve((pcm - pcm.mean()) ** 2, np.ones(400), "valid") * (src[:400] ** 2).sum()
        )
        out[law] = float(np.max(cc / np.maximum(norm, 1e-9)))
    # a tone correlates under either law; the wrong law distorts the amplitude: compare RMS too
    rms = {
        law: float(
            np.sqrt(
                (
                    np.frombuffer(fn(payload[16000:24000], 2), dtype=np.int16).astype(float) ** 2
                ).mean()
            )
        )
        for law, fn in (("A-law", audioop.alaw2lin), ("mu-law", audioop.ulaw2lin))
    }
    ratio = rms["A-law"] / (src.std() * 256)
    return {
        "PCMA transmit (PT 8 payload)": f"corr A-law {out['A-law']:.4f} / mu-law {out['mu-law']:.4f}; "
        f"A-law RMS vs source {ratio:.2f} (1.00 = correct) -> {'A-law' if abs(ratio - 1) < 0.1 else 'NOT A-law'}"
    }


def measure(name: str, module: str) -> dict[str, str]:
    """Run every probe against one library and return point -> figure."""
    probe = Probe()
    mode: dict[str, Any] = {}
    h = Harness(module, probe, mode)
    pump = threading.Thread(target=h.phone.start, daemon=True)
    pump.start()
    probe.pump(3.0)
    row: dict[str, str] = {}
    for fn in (probe_answer, probe_cancel, probe_deny, probe_empty_supported, probe_pcma_pacing):
        try:
            row.update(fn(probe, h))
        except Exception as exc:
            row[fn.__name__] = f"probe failed: {exc!r}"[:60]
    threading.Thread(target=h.phone.stop, daemon=True).start()
    probe.sock.close()
    row.update(probe_digest(module))
    return row


def main() -> int:
    """Measure both libraries and print the comparison table."""
    logging.basicConfig(level=logging.WARNING)
    rows = {name: measure(name, mod) for name, mod in LIBS.items()}
    points = list(dict.fromkeys(p for r in rows.values() for p in r))
    names = list(rows)
    sys.stdout.write(f"| point | {' | '.join(names)} |\n|---|---|---|\n")
    for p in points:
        sys.stdout.write(f"| {p} | {' | '.join(rows[n].get(p, '-') for n in names)} |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
