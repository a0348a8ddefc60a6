"""Outgoing RTP put on the wire by a process of its own, at each packet's deadline (fix 28).

Why a process: with 50 calls on two cores the pacer thread (ivr/rtp_pacer.py)
woke up to 5 ms late and a burst of 50 `sendto` calls took up to 8 ms, both
waiting for the interpreter lock that the receivers, the call flows and the
recorder hold in turn; a far end saw gaps of up to 32 ms between packets
(bench/sip_load.py, goal 25 ms). No thread of the agent's interpreter can
avoid that wait (docs/sip-library.md, fix 26: six variants measured).

So the pacer builds each packet `LEAD_S` before its deadline and hands it over,
with the deadline, to a small child process that sends it then (fed streams: a
bridge's live audio, key presses). Prompts and silence are the child's own to pace
(issue 17: commanded streams, ivr/rtp_play.py, ivr/rtp_plane.py): no per-packet
traffic. The child sends from the call's own UDP socket (SCM_RIGHTS), so the far end
sees the port the SDP named. It runs ivr/rtp_child.py with `python -I`: the standard
library only; its end of the control socket closing (the agent exited, even killed) ends it.

Control messages (SOCK_SEQPACKET, one `marshal`led tuple each; the pair is unnamed):
("open", key) with the stream's socket attached; ("close", key); ("send", ((key,
deadline, address, packet), ...)) on CLOCK_MONOTONIC, which both processes share;
and the media plane's (ivr/rtp_play.py). The child answers on the same socket, read
by a thread of the parent's.

When the child is gone (killed, crashed) the pacer starts it again; fed streams are
sent from the pacer's own thread meanwhile (what was handed over, at most `LEAD_S`,
is lost), commanded streams' calls are ended (a BYE, not a silent caller).
"""

from __future__ import annotations

import contextlib
import logging
import marshal
import select
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ivr import rtp_play
from ivr.rtp_child import (
    CHILD_NICE,
    CHILD_RT_PRIORITY,
    LATE_S,
    MESSAGE_BYTES,
    READY,
    Lateness,
    _raise_priority,
    serve,
)
from ivr.rtp_spawn import _Child

__all__ = [
    "CHILD_NICE",
    "CHILD_RT_PRIORITY",
    "LATE_S",
    "Lateness",
    "_raise_priority",
    "serve",
]

logger = logging.getLogger(__name__)

PIECE_BYTES = rtp_play.PIECE_BYTES
#: What the child runs (standard library only, loaded by path).
CHILD_PATH = Path(__file__).with_name("rtp_child.py")
#: How long before its deadline a packet is built and handed to the child.
LEAD_S = 0.010
#: Packets per control message (a burst of more calls is split).
PACKETS_PER_MESSAGE = 128
#: How long a control message may wait for room before the child is taken for stuck.
SEND_TIMEOUT_S = 1.0

Packet = tuple[int, float, tuple[Any, ...], bytes]
"""(stream key, deadline on the monotonic clock, destination address, RTP packet)."""


class SenderGone(Exception):
    """The sender process is not there to take packets."""


class RtpSender:
    """The parent's side: starts the child, hands it sockets, packets and commands; a
    thread of its own takes what the child says (ready, a prompt's end, a stream's state)."""

    def __init__(self, name: str = "rtp-sender") -> None:
        self.name = name
        self._lock = threading.Lock()
        self._control: socket.socket | None = None
        self._process: _Child | None = None
        self._open: set[int] = set()
        self._ready = False
        self._reader: threading.Thread | None = None
        self._stopped: dict[int, tuple[threading.Event, list[Any]]] = {}
        self.on_reply: Callable[[tuple[Any, ...]], None] = lambda _reply: None
        """Called from the reader thread with ("done", key, play_id) and ("dropped", key, why)."""
        self.on_gone: Callable[[], None] = lambda: None
        """Called from the reader thread when the child went away without being stopped."""

    def start(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = _Child.spawn(
                [sys.executable, "-I", str(CHILD_PATH), str(child.fileno())], child.fileno()
            )
        except OSError:
            parent.close()
            raise
        finally:
            child.close()
        parent.settimeout(SEND_TIMEOUT_S)
        self._ready = False
        self._control = parent
        self._reader = threading.Thread(
            target=self._read, args=(parent,), name=f"{self.name} replies", daemon=True
        )
        self._reader.start()
        logger.info("%s: RTP sender process %d started", self.name, self._process.pid)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def alive(self) -> bool:
        return self._control is not None

    def ready(self) -> bool:
        """Whether the child has started and said so (it takes 30-100 ms to start: until
        then, and after a restart, the pacer sends from its own thread, without a gap)."""
        return self._ready and self._control is not None

    def _read(self, control: socket.socket) -> None:
        """What the child says, until its end of the pair closes (or this one is)."""
        while True:
            try:
                readable, _, _ = select.select([control], [], [], 0.5)
                if not readable:
                    if self._control is not control:
                        return
                    continue
                data = control.recv(MESSAGE_BYTES)
            except (OSError, ValueError):  # closed by stop() meanwhile
                data = b""
            if not data:
                if self._control is control:  # not stopped by us: the child is gone
                    with self._lock:
                        if self._control is control:
                            self._lost(EOFError("its end of the control socket closed"))
                    self.on_gone()
                return
            if data == READY:
                self._ready = True
                continue
            reply = marshal.loads(data)  # noqa: S302 -- from our own child, on an unnamed pair
            if reply[0] == "stopped":
                waiting = self._stopped.get(reply[1])
                if waiting is not None:
                    waiting[1].append(reply[2])
                    waiting[0].set()
                continue
            try:
                self.on_reply(reply)
            except Exception:
                logger.exception("%s: a reply from the RTP sender process failed", self.name)

    def open(self, key: int, sock: socket.socket) -> None:
        """Let the child send as `sock` for stream `key` (a duplicate of the socket)."""
        with self._lock:
            self._send_locked(marshal.dumps(("open", key)), [sock.fileno()])
            self._open.add(key)

    def close(self, key: int) -> None:
        with self._lock:
            if key not in self._open:
                return
            self._open.discard(key)
            with contextlib.suppress(SenderGone):
                self._send_locked(marshal.dumps(("close", key)))

    def is_open(self, key: int) -> bool:
        with self._lock:
            return key in self._open

    def send(self, packets: Sequence[Packet]) -> None:
        """Hand over packets to be sent at their deadlines. Raises SenderGone."""
        with self._lock:
            for start in range(0, len(packets), PACKETS_PER_MESSAGE):
                chunk = tuple(packets[start : start + PACKETS_PER_MESSAGE])
                self._send_locked(marshal.dumps(("send", chunk)))

    def command(self, *message: Any) -> None:
        """A media-plane command (ivr/rtp_play.py: plane, clear, mute). Raises SenderGone."""
        with self._lock:
            self._send_locked(marshal.dumps(message))

    def play(self, key: int, play_id: int, payload: bytes) -> None:
        """Queue an encoded prompt on a commanded stream, in pieces. Raises SenderGone."""
        with self._lock:
            pieces = range(0, max(1, len(payload)), PIECE_BYTES)
            for at in pieces:
                piece = payload[at : at + PIECE_BYTES]
                last = at + PIECE_BYTES >= len(payload)
                self._send_locked(marshal.dumps(("play", key, play_id, piece, last)))

    def halt(self, key: int, timeout: float = SEND_TIMEOUT_S) -> tuple[Any, ...] | None:
        """Take a commanded stream back: (seq, ts, next deadline, marker) it reached; None
        when the child had no such stream. Raises SenderGone (also when it does not answer)."""
        waiting: tuple[threading.Event, list[Any]] = (threading.Event(), [])
        self._stopped[key] = waiting
        try:
            self.command("stop", key)
            if not waiting[0].wait(timeout):
                raise SenderGone(f"{self.name}: the RTP sender process did not answer a stop")
            state = waiting[1][0]
            return None if state is None else tuple(state)
        finally:
            self._stopped.pop(key, None)

    def _send_locked(self, message: bytes, fds: Sequence[int] = ()) -> None:
        control = self._control
        if control is None:
            raise SenderGone(f"{self.name}: no RTP sender process")
        try:
            if fds:
                socket.send_fds(control, [message], list(fds))
            else:
                control.send(message)
        except OSError as exc:  # the child died (EPIPE, ECONNRESET) or is stuck (timeout)
            self._lost(exc)
            raise SenderGone(f"{self.name}: the RTP sender process is gone: {exc}") from exc

    def _lost(self, exc: BaseException) -> None:
        code = self._process.poll() if self._process else None
        logger.error(
            "%s: the RTP sender process (pid %s, exit status %s) stopped taking packets: %s",
            self.name,
            self.pid,
            code,
            exc,
        )
        self._shut_locked()

    def _shut_locked(self) -> None:
        self._ready = False
        if self._control is not None:
            self._control.close()
            self._control = None
        self._open.clear()
        process = self._process
        if process is not None:
            try:
                process.wait(2.0)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(2.0)

    def stop(self) -> None:
        """Close the control socket: the child sends what is due and exits."""
        with self._lock:
            self._shut_locked()
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(2.0)
