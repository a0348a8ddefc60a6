"""The RTP sender process's own side (fix 28, issue 17): its loop, its priority, its count.

Run with `python -I` by ivr/rtp_sender.py (the parent's side, which has the protocol):
the standard library only; its one helper module, ivr/rtp_play.py, is loaded by path.

The loop sleeps until the next deadline (a handed-over packet's or a commanded stream's),
takes every message waiting, then sends what is due. It counts each packet put on the
wire over LATE_S after its deadline, and says why (issue 17: the child was late at 100
calls although at SCHED_RR 10): the span from the packet's deadline to its sending is
laid over what the child was doing meanwhile -- asleep past the time it asked to wake,
reading commands, in the garbage collector, still sending the round before -- and the
largest share names the cause (`Lateness.summary`).
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import importlib.util
import itertools
import marshal
import os
import select
import signal
import socket
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any


def _sibling(name: str) -> ModuleType:
    """The child runs this file with `python -I`, outside the package: its one helper
    module (standard library only too) is loaded by its path."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


if __package__:
    from ivr import rtp_play
else:  # pragma: no cover -- the child
    rtp_play = _sibling("rtp_play")

#: The child's receive buffer: a message of up to 128 packets of up to 1,500 bytes.
MESSAGE_BYTES = 256 * 1024
#: A packet put on the wire more than this after its deadline counts as sent late.
LATE_S = rtp_play.LATE_S
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

#: What a late packet's wait is laid over (Round's spans), in the summary's words.
CAUSES = (
    "handed over late",
    "commanded after its deadline",
    "asleep past its wake-up time",
    "reading commands",
    "garbage collection",
    "sending the round before",
    "other",
)


def _overlap(start: float, end: float, span_start: float, span_end: float) -> float:
    return max(0.0, min(end, span_end) - max(start, span_start))


class Round:
    """What one turn of the loop did, on the monotonic clock: the spans a late packet's
    wait is laid over."""

    def __init__(self) -> None:
        self.sent_from = self.sent_to = 0.0  # the round before: sending
        self.wake = self.slept = self.woke = 0.0  # asked to wake at, went to sleep, woke
        self.read_to = 0.0  # commands read from `woke` to here
        self.messages = self.read_bytes = 0
        self.collections: list[tuple[float, float]] = []  # this round's and the last's


class Lateness:
    """How late the child's packets were: handed over after their deadline (the agent
    was later than the parent's LEAD_S), and put on the wire after it (the child was late),
    with the cause of each sent late (CAUSES)."""

    def __init__(self) -> None:
        self.packets = self.fed = self.handed_late = self.sent_late = 0
        self.fed_streams: set[int] = set()
        self.worst_handover = self.worst_send = 0.0
        self.causes: dict[str, list[float]] = {cause: [0, 0.0] for cause in CAUSES}
        self.worst_round = ""

    def handed(self, deadline: float, now: float) -> None:
        if now > deadline:
            self.handed_late += 1
            self.worst_handover = max(self.worst_handover, now - deadline)

    def sent(
        self, deadline: float, now: float, spans: Round | None = None, commanded: bool = False
    ) -> None:
        self.packets += 1
        if not commanded:
            self.fed += 1
        late = now - deadline
        if late > LATE_S:
            self.sent_late += 1
            if spans is not None:
                self._blame(deadline, now, spans, commanded)
        self.worst_send = max(self.worst_send, late)

    def _blame(self, deadline: float, now: float, spans: Round, commanded: bool) -> None:
        collected = sum(_overlap(deadline, now, a, b) for a, b in spans.collections)
        shares = {
            "asleep past its wake-up time": _overlap(
                deadline, now, max(spans.wake, spans.slept), spans.woke
            ),
            "reading commands": _overlap(deadline, now, spans.woke, spans.read_to) - collected,
            "garbage collection": collected,
            "sending the round before": _overlap(deadline, now, spans.sent_from, spans.sent_to),
        }
        # A packet due before the round that sends it began was handed over after it.
        cause = max(shares, key=shares.__getitem__)
        if deadline < spans.sent_from:  # the child did not have it in the round before
            cause = "commanded after its deadline" if commanded else "handed over late"
        elif shares[cause] < (now - deadline) / 4:
            cause = "other"
        entry = self.causes[cause]
        entry[0] += 1
        entry[1] = max(entry[1], now - deadline)
        if now - deadline >= self.worst_send:
            self.worst_round = (
                f"worst: {1e3 * (now - deadline):.1f} ms late, "
                + ", ".join(f"{k} {1e3 * v:.1f} ms" for k, v in shares.items())
                + f" ({spans.messages} commands, {spans.read_bytes} bytes read)"
            )

    def summary(self) -> str:
        by_cause = "; ".join(
            f"{cause} {int(count)} (worst {1e3 * worst:.1f} ms)"
            for cause, (count, worst) in self.causes.items()
            if count
        )
        return (
            f"rtp-sender: {self.packets} packets sent; {self.handed_late} handed over after "
            f"their deadline (worst {1e3 * self.worst_handover:.1f} ms), {self.sent_late} sent "
            f"over {1e3 * LATE_S:.0f} ms after it (worst {1e3 * self.worst_send:.1f} ms)\n"
            f"rtp-sender: {self.fed} packets fed by the agent, of {len(self.fed_streams)} "
            "streams\n"
            f"rtp-sender: sent late by cause: {by_cause or 'none'}; {self.worst_round}"
        )


def serve(control: socket.socket, clock: Any = time.monotonic) -> Lateness:
    """The child's loop: take messages, send each packet at its deadline, until EOF."""
    streams: dict[int, socket.socket] = {}
    due: list[tuple[float, int, int, tuple[Any, ...], bytes]] = []
    order = itertools.count()
    lateness = Lateness()
    spans = Round()

    def reply(message: tuple[Any, ...]) -> None:
        with contextlib.suppress(OSError):
            control.send(marshal.dumps(message))

    def collecting(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            spans.collections.append((clock(), 0.0))
        elif spans.collections:
            spans.collections[-1] = (spans.collections[-1][0], clock())

    gc.callbacks.append(collecting)
    plane = rtp_play.Plane(reply)
    with contextlib.suppress(OSError):
        control.send(READY)
    control.setblocking(False)
    try:
        while True:
            wake = min(
                (d for d in (due[0][0] if due else None, plane.next_deadline()) if d),
                default=None,
            )
            spans.slept = clock()
            spans.wake = spans.slept if wake is None else wake
            timeout = None if wake is None else max(0.0, wake - spans.slept)
            readable = True  # not asleep: look (a message may be waiting)
            if timeout is None or timeout > 0:
                readable = bool(select.select([control], [], [], timeout)[0])
            spans.woke = clock()
            spans.messages = spans.read_bytes = 0
            # Woken by the clock, nothing to read: no recv (a syscall and an exception a
            # round, 5,000 rounds a second at 100 calls).
            if readable and not _read(control, streams, due, order, plane, lateness, spans, clock):
                for sock in streams.values():
                    sock.close()
                return lateness
            now = spans.read_to = clock()
            while due and due[0][0] <= now:
                deadline, _order, key, address, packet = heapq.heappop(due)
                target = streams.get(key)
                if target is None:
                    continue  # closed meanwhile: the call is over
                lateness.sent(deadline, now, spans)
                lateness.fed_streams.add(key)
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
            # After the packets handed over: a stream's commanded packets follow its fed ones.
            plane.send_due(now, streams, lambda d, n: lateness.sent(d, n, spans, True))
            spans.sent_from, spans.sent_to = now, clock()
            spans.collections = [c for c in spans.collections if c[1] == 0.0 or c[1] > now]
    finally:
        gc.callbacks.remove(collecting)


def _read(
    control: socket.socket,
    streams: dict[int, socket.socket],
    due: list[tuple[float, int, int, tuple[Any, ...], bytes]],
    order: itertools.count[int],
    plane: Any,
    lateness: Lateness,
    spans: Round,
    clock: Any,
) -> bool:
    """Every message waiting, before sending (an open may precede its packets); False
    when the parent's end closed."""
    while True:
        try:
            data, fds, _flags, _ = socket.recv_fds(control, MESSAGE_BYTES, 4)
        except BlockingIOError:
            return True
        except OSError:
            data, fds = b"", []
        if not data:
            return False
        spans.messages += 1
        spans.read_bytes += len(data)
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
            plane.forget(body)
            ended = streams.pop(body, None)
            if ended is not None:
                ended.close()
        elif kind == "send":
            now = clock()
            for item in body:
                try:
                    key, deadline, address, packet = item
                    lateness.handed(deadline, now)
                    heapq.heappush(due, (float(deadline), next(order), key, address, packet))
                except (TypeError, ValueError) as exc:
                    print(f"rtp-sender: a packet it cannot take: {exc}", file=sys.stderr)
        else:
            try:
                known = plane.command(kind, message)
            except (TypeError, ValueError, IndexError) as exc:
                known = True
                print(f"rtp-sender: a {kind!r} it cannot take: {exc}", file=sys.stderr)
            if not known:
                print(f"rtp-sender: an unknown message {kind!r}", file=sys.stderr)


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
