"""Outgoing RTP put on the wire by a process of its own, at each packet's deadline (fix 28).

Why a process: with 50 calls on two cores the pacer thread (ivr/rtp_pacer.py)
woke up to 5 ms late and a burst of 50 `sendto` calls took up to 8 ms, both
waiting for the interpreter lock that the receivers, the call flows and the
recorder hold in turn; a far end saw gaps of up to 32 ms between packets
(bench/sip_load.py, goal 25 ms). No thread of the agent's interpreter can
avoid that wait (docs/sip-library.md, fix 26: six variants measured).

So the pacer builds each packet `LEAD_S` before its deadline and hands it over,
with the deadline, to a small child process that does nothing else: it sleeps
until the earliest deadline and sends what is due. A pacer that wakes up to
`LEAD_S` late no longer moves a packet on the wire. The price: audio leaves
`LEAD_S` later after it was written (bridged audio, prompts).

The child sends from the call's own UDP socket, received as a duplicate
(SCM_RIGHTS), so the far end sees the port the SDP named (symmetric RTP). It
runs this file with `python -I`: the standard library only, no hotline
import, nothing of the agent's state. Its end of the control socket closing
(the agent exited, even killed) ends it, so it never outlives the agent.

Control messages (SOCK_SEQPACKET, one `marshal`led tuple each, never from
anyone but the parent: the pair is created unnamed):

    ("open", key)               with the stream's socket attached
    ("close", key)              the stream ended: its duplicate is closed
    ("send", ((key, deadline, address, packet), ...))

Deadlines are on CLOCK_MONOTONIC, which both processes share.

When the child is gone (killed, crashed), `RtpSender.send` raises
`SenderGone`; the pacer then sends from its own thread again. What was handed
over and not yet sent (at most `LEAD_S` of each stream) is lost and logged.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import marshal
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

logger = logging.getLogger(__name__)

#: How long before its deadline a packet is built and handed to the child.
LEAD_S = 0.010
#: Packets per control message (a burst of more calls is split).
PACKETS_PER_MESSAGE = 128
#: The child's receive buffer: a message of PACKETS_PER_MESSAGE packets of up to 1,500 bytes.
MESSAGE_BYTES = 256 * 1024
#: How long a control message may wait for room before the child is taken for stuck.
SEND_TIMEOUT_S = 1.0
#: A packet put on the wire more than this after its deadline counts as sent late.
LATE_S = 0.002
#: The child's nice value where real-time scheduling is refused (a negative one needs
#: privilege too).
CHILD_NICE = -10
#: The child's real-time priority (SCHED_RR, 1-99) where the system allows it: above every
#: ordinary thread, below the kernel's own (its interrupt threads run at 50). The child
#: sleeps but for a few microseconds a packet, and the kernel's RT throttling (95 % of a
#: period) bounds it even if it misbehaved.
CHILD_RT_PRIORITY = 10

#: What the child sends once, when it is ready to take packets.
READY = b"ready"

Packet = tuple[int, float, tuple[Any, ...], bytes]
"""(stream key, deadline on the monotonic clock, destination address, RTP packet)."""


class SenderGone(Exception):
    """The sender process is not there to take packets."""


class RtpSender:
    """The parent's side: starts the child, hands it sockets and packets."""

    def __init__(self, name: str = "rtp-sender") -> None:
        self.name = name
        self._lock = threading.Lock()
        self._control: socket.socket | None = None
        self._process: _Child | None = None
        self._open: set[int] = set()
        self._ready = False

    def start(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = _Child.spawn(
                [sys.executable, "-I", __file__, str(child.fileno())], child.fileno()
            )
        except OSError:
            parent.close()
            raise
        finally:
            child.close()
        parent.settimeout(SEND_TIMEOUT_S)
        self._ready = False
        self._control = parent
        logger.info("%s: RTP sender process %d started", self.name, self._process.pid)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def alive(self) -> bool:
        return self._control is not None

    def ready(self) -> bool:
        """Whether the child has started and said so (it takes 30-100 ms to start: until
        then, and after a restart, the pacer sends from its own thread, without a gap)."""
        if self._ready:
            return True
        control = self._control
        if control is None:
            return False
        try:
            # Not recv(MSG_DONTWAIT): with a timeout set, Python waits for readability first.
            readable, _, _ = select.select([control], [], [], 0)
            if readable:
                self._ready = control.recv(16) == READY
        except (OSError, ValueError):  # gone: the next send says so
            return False
        return self._ready

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


class _Child:
    """The sender process, started with posix_spawn: glibc starts it with vfork semantics,
    so the agent (150 MB, ~70 threads mid-call) is not copied page table by page table
    as fork() does; a restart with subprocess.Popen stalled every thread's audio for
    150-180 ms. Only the control socket is inherited (every other descriptor Python opens
    is close-on-exec); standard input is /dev/null."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._status: int | None = None

    @classmethod
    def spawn(cls, argv: list[str], keep_fd: int) -> _Child:
        os.set_inheritable(keep_fd, True)
        try:
            pid = os.posix_spawn(
                argv[0],
                argv,
                dict(os.environ),
                file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)],
            )
        finally:
            os.set_inheritable(keep_fd, False)
        return cls(pid)

    def poll(self) -> int | None:
        if self._status is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self._status = -1
                return self._status
            if pid:
                self._status = os.waitstatus_to_exitcode(status)
        return self._status

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while (code := self.poll()) is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.005)
        return code

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


class Lateness:
    """How late the child's packets were: handed over after their deadline (the agent
    was later than LEAD_S), and put on the wire after it (the child woke late)."""

    def __init__(self) -> None:
        self.packets = self.handed_late = self.sent_late = 0
        self.worst_handover = self.worst_send = 0.0

    def handed(self, deadline: float, now: float) -> None:
        if now > deadline:
            self.handed_late += 1
            self.worst_handover = max(self.worst_handover, now - deadline)

    def sent(self, deadline: float, now: float) -> None:
        self.packets += 1
        if now - deadline > LATE_S:
            self.sent_late += 1
        self.worst_send = max(self.worst_send, now - deadline)

    def summary(self) -> str:
        return (
            f"rtp-sender: {self.packets} packets sent; {self.handed_late} handed over after "
            f"their deadline (worst {1e3 * self.worst_handover:.1f} ms), {self.sent_late} sent "
            f"over {1e3 * LATE_S:.0f} ms after it (worst {1e3 * self.worst_send:.1f} ms)"
        )


def serve(control: socket.socket, clock: Any = time.monotonic) -> Lateness:
    """The child's loop: take messages, send each packet at its deadline, until EOF."""
    streams: dict[int, socket.socket] = {}
    due: list[tuple[float, int, int, tuple[Any, ...], bytes]] = []
    order = 0
    lateness = Lateness()
    with contextlib.suppress(OSError):
        control.send(READY)
    control.setblocking(False)
    while True:
        timeout = None if not due else max(0.0, due[0][0] - clock())
        if timeout is None or timeout > 0:
            select.select([control], [], [], timeout)
        while True:  # every message waiting, before sending: an open may precede its packets
            try:
                data, fds, _flags, _ = socket.recv_fds(control, MESSAGE_BYTES, 4)
            except BlockingIOError:
                break
            except OSError:
                data, fds = b"", []
            if not data:
                for sock in streams.values():
                    sock.close()
                return lateness
            try:
                message = marshal.loads(data)  # noqa: S302 -- from the parent: the pair is unnamed
                kind, body = message[0], message[1]
            except (EOFError, ValueError, TypeError, IndexError):
                print(f"rtp-sender: a message it cannot read ({len(data)} bytes)", file=sys.stderr)
                for fd in fds:
                    os.close(fd)
                continue
            if kind == "open":
                for fd in fds[1:]:
                    os.close(fd)
                old = streams.pop(body, None)
                if old is not None:
                    old.close()
                if fds:
                    streams[body] = socket.socket(fileno=fds[0])
            elif kind == "close":
                ended = streams.pop(body, None)
                if ended is not None:
                    ended.close()
            elif kind == "send":
                now = clock()
                for item in body:
                    try:
                        key, deadline, address, packet = item
                        lateness.handed(deadline, now)
                        order += 1
                        heapq.heappush(due, (float(deadline), order, key, address, packet))
                    except (TypeError, ValueError) as exc:
                        print(f"rtp-sender: a packet it cannot take: {exc}", file=sys.stderr)
        now = clock()
        while due and due[0][0] <= now:
            deadline, _order, key, address, packet = heapq.heappop(due)
            target = streams.get(key)
            if target is None:
                continue  # closed meanwhile: the call is over
            lateness.sent(deadline, now)
            try:
                target.sendto(packet, address)
            except OSError:
                # The far end hung up and its port is closed (ICMP): the call's own
                # thread notices the end; the child keeps going.
                continue
            except Exception as exc:
                # A destination sendto() cannot take (a port over 65535 got past the
                # agent's checks): that stream is dropped, every other call goes on.
                print(
                    f"rtp-sender: stream {key} dropped: {type(exc).__name__}: {exc}",
                    file=sys.stderr,
                )
                streams.pop(key, None)
                target.close()


def _raise_priority() -> str:
    """Real-time scheduling for the child where allowed (root, CAP_SYS_NICE or an
    RLIMIT_RTPRIO, e.g. systemd's LimitRTPRIO=), else nice -10, else nothing; what it got,
    as one line for the agent's log (issue 17: say plainly where it is refused)."""
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(CHILD_RT_PRIORITY))
    except (OSError, AttributeError):
        pass
    else:
        return f"rtp-sender: real-time priority (SCHED_RR {CHILD_RT_PRIORITY})"
    advice = "grant CAP_SYS_NICE or LimitRTPRIO (README: Audio on time on a busy machine)"
    try:
        os.nice(CHILD_NICE)
    except OSError:
        return f"rtp-sender: real-time priority refused, normal priority: {advice}"
    return f"rtp-sender: real-time priority refused, nice {CHILD_NICE}: {advice}"


if __name__ == "__main__":
    # Ctrl-C in a terminal and a service manager's SIGTERM reach the whole process group:
    # the child outlives the agent by nothing, since the agent's exit closes the control
    # socket, and meanwhile the calls' audio goes on until the agent has hung up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print(_raise_priority(), file=sys.stderr, flush=True)
    print(serve(socket.socket(fileno=int(sys.argv[1]))).summary(), file=sys.stderr)
