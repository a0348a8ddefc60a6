"""One thread that sends every call's outgoing RTP on absolute deadlines (adapter fix 20).

rfcvoip runs a transmitter thread per call, each sleeping on its own; with
50 calls on two cores the GIL and the scheduler wake them late, and a
transmitter that wakes after its next deadline skips that packet, so the
far end loses audio (bench/sip_load.py: drift 0.45 %, max gap 47 ms).

`RtpPacer` owns all of a phone's streams. A stream's n-th packet is due at
`start + n * period` on the monotonic clock; `start` is snapped to a
multiple of the period, so every 20 ms stream of the phone falls due at the
same instant and the thread wakes once per period for all of them. A late
wake-up sends every packet that is due, back to back: the stream catches
up instead of drifting. Only a stall longer than `max_burst` (the machine
stopped for a fifth of a second) drops the oldest packets' audio rather
than flooding the far end's jitter buffer with it.

A stream that is not sending (held: the agent's side is recvonly) keeps its
deadlines; its packets are skipped (`skip`), so after the unhold it goes on
where the clock is, without a burst.

With a sender process (fix 28, ivr/rtp_sender.py) the packets are built
`lead` seconds before their deadlines and the child puts each on the wire at
its deadline: the thread's late wake-ups and the interpreter lock no longer
show on the wire. The child is supervised: should it go, it is started again
(logged at ERROR, counted in `sender_restarts`); only after RESTARTS_PER_MINUTE
restarts within a minute does the thread send again itself.

A fault in one stream ends that stream's call, never the thread or the sender:
a destination `sendto` cannot take (a port over 65535, a host name: PROTOS
c07-sip case 0003978 killed both with OverflowError) is refused in `transmit`
before any packet leaves, and any exception from a stream is logged and handed
to the stream's `fail` (the adapter hangs that call up).

Nothing here knows rfcvoip: the adapter's `_PacedRTPClient` is a
`PacedStream`, whose packets come back through `transmit`. The clock and the
wait are seams for tests.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from ivr.rtp_plane import PacedStream, PlaneCommands, _Schedule
from ivr.rtp_sender import LEAD_S, Packet, RtpSender, SenderGone
from ivr.sdp_check import sendable

logger = logging.getLogger(__name__)

#: A stall longer than this loses the oldest packets instead of sending them in one burst.
MAX_BURST_S = 0.2
#: RFC 4733 event codes of the keys (section 3.2).
KEYS = "0123456789*#ABCD"
#: Sender processes started again within a minute before the thread sends itself.
RESTARTS_PER_MINUTE = 5


class BadDestination(ValueError):
    """A stream's packets would go where `sendto` cannot send (not an IP and a port)."""


class RtpPacer(PlaneCommands):
    """Sends the due packet of every stream it holds, from one thread."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        max_burst: float = MAX_BURST_S,
        name: str = "RTP pacer",
        sender: RtpSender | None = None,
        lead: float = LEAD_S,
    ) -> None:
        self._clock = clock
        self._max_burst = max_burst
        self._name = name
        self._lock = threading.Lock()
        self._schedules: list[_Schedule] = []
        self._keys = itertools.count(1)
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._sender = sender
        self._lead = lead
        self._serving: _Schedule | None = None
        self._batch: list[Packet] = []
        self._restarts: list[float] = []
        self._restarter: threading.Thread | None = None
        self._round = threading.Lock()  # held by the thread while it builds and hands over
        self._gone = threading.Lock()
        self.sender_restarts = 0
        """How often the sender process was found gone and started again."""
        self.stream_faults = 0
        """Streams dropped (and their calls ended) because of a fault in them."""

    @property
    def sender(self) -> RtpSender | None:
        """The sender process the packets go through; None: this thread sends them."""
        return self._sender

    def add(self, stream: PacedStream, pending: bool = False) -> None:
        """Pace `stream` from its period's next multiple on the clock; `pending`: it is
        about to be handed to the sender process (`play`), and this thread builds none of
        its packets meanwhile (`release` if the hand-over does not happen)."""
        first = math.ceil(self._clock() / stream.period)
        with self._lock:
            self._schedules.append(_Schedule(stream, first, next(self._keys), pending=pending))
        self._wake.set()

    def release(self, stream: PacedStream) -> None:
        """The pending hand-over of `stream` did not happen: this thread feeds it."""
        schedule = self._schedule_of(stream)
        if schedule is not None:
            schedule.pending = False
            self._wake.set()

    def remove(self, stream: PacedStream) -> None:
        with self._lock:
            gone = [s for s in self._schedules if s.stream is stream]
            self._schedules = [s for s in self._schedules if s.stream is not stream]
        sender = self._sender
        if sender is not None:
            for schedule in gone:
                sender.close(schedule.key)

    def transmit(
        self, stream: PacedStream, sock: socket.socket, address: Any, packet: bytes
    ) -> None:
        """Put a stream's packet on the wire: now, or at its deadline through the sender.

        Only packets built by this pacer's thread for a deadline go to the sender;
        anything else (and everything once the sender is gone) is sent at once.
        """
        if not sendable(address):
            raise BadDestination(f"cannot send RTP to {address!r}")
        schedule = self._serving
        sender = self._sender
        if (
            schedule is None
            or schedule.stream is not stream
            or sender is None
            or threading.current_thread() is not self._thread
            or not sender.ready()  # still starting (or restarting): this thread sends
        ):
            _send_now(sock, address, packet)
            return
        if schedule.sock is not sock or not sender.is_open(schedule.key):
            try:
                sender.open(schedule.key, sock)
            except SenderGone:
                self._sender_gone()
                _send_now(sock, address, packet)
                return
            schedule.sock = sock
        self._batch.append((schedule.key, schedule.deadline(), address, packet))

    def streams(self) -> int:
        with self._lock:
            return len(self._schedules)

    def run_due(self, now: float) -> float | None:
        """Send (or skip) every packet due by `now`; the next deadline, None when idle."""
        with self._lock:
            schedules = sorted(self._schedules, key=_Schedule.deadline)
        for schedule in schedules:
            if not self._serve(schedule, now):
                self.remove(schedule.stream)
        with self._lock:
            return min((s.deadline() for s in self._schedules), default=None)

    def _serve(self, schedule: _Schedule, now: float) -> bool:
        stream = schedule.stream
        try:
            if not stream.active():
                return False
            period = stream.period
            due = math.floor(now / period + 1e-9) + 1 - schedule.first - schedule.sent
            if schedule.pending:  # not sent yet: its first packet is the child's
                schedule.first += max(0, due)
                return True
            if schedule.plane:  # the sender process paces it: only a hold is passed on
                schedule.sent += max(0, due)  # the clock only (halt sets it from the child)
                if stream.sending() == schedule.held and self._sender is not None:
                    schedule.held = not schedule.held
                    self._sender.command("mute", schedule.key, schedule.held)
                return True
            if due <= 0:
                return True
            if not stream.sending():
                stream.skip(due)
                schedule.sent += due
                return True
            lost = max(0, due - max(1, math.floor(self._max_burst / period)))
            if lost:
                stream.skip(lost)
                schedule.sent += lost
                logger.warning(
                    "RTP pacer %.0f ms late: %d packets not sent",
                    1e3 * (now - schedule.deadline()),
                    lost,
                )
            for _ in range(due - lost):
                self._serving = schedule
                try:
                    stream.send_next()
                finally:
                    self._serving = None
                schedule.sent += 1
        except Exception as exc:  # one broken stream must not stop every call's audio
            self.stream_faults += 1
            logger.error(
                "an RTP stream failed (%s: %s): its call is ended", type(exc).__name__, exc
            )
            logger.debug("the stream's fault", exc_info=True)
            try:
                stream.fail(f"{type(exc).__name__}: {exc}")
            except Exception as fault:
                logger.error("ending the failed stream's call failed too: %s", fault)
            return False
        return True

    def _flush(self) -> None:
        """Hand the packets built this round to the sender (sent now if it is gone)."""
        batch, self._batch = self._batch, []
        if not batch:
            return
        sender = self._sender
        if sender is not None:
            try:
                sender.send(batch)
                return
            except SenderGone:
                self._sender_gone()
        with self._lock:
            sockets = {s.key: s.sock for s in self._schedules}
        for key, _deadline, address, packet in batch:  # up to `lead` early, not lost
            sock = sockets.get(key)
            if sock is None:
                continue
            try:
                _send_now(sock, address, packet)
            except Exception as exc:
                logger.error("an RTP packet could not be sent to %r: %s", address, exc)

    def _sender_gone(self) -> None:
        """The sender process died or stopped taking packets: another one is started
        from a thread of its own (a fork of the agent takes 50-150 ms), while this
        thread sends every packet itself until the new one says it is ready (fix 28's
        supervision); after RESTARTS_PER_MINUTE in a minute this thread sends for good."""
        with self._lock:
            commanded = [s for s in self._schedules if s.plane]
            self._schedules = [s for s in self._schedules if not s.plane]
        for schedule in commanded:  # their audio was the child's: each call ends (BYE)
            self.stream_faults += 1
            with contextlib.suppress(Exception):
                schedule.stream.fail("the RTP sender process died")
        with self._gone:
            self._restart_locked()

    def _restart_locked(self) -> None:
        sender = self._sender
        if sender is None or (self._restarter is not None and self._restarter.is_alive()):
            return
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < 60.0]
        if len(self._restarts) < RESTARTS_PER_MINUTE:
            self._restarts.append(now)
            self._restarter = threading.Thread(
                target=self._restart, args=(sender,), name=f"{self._name} restart", daemon=True
            )
            self._restarter.start()
            return
        logger.error(
            "%s: the RTP sender process is gone; this thread sends the packets now "
            "(what it held, up to %.0f ms of each call's audio, is lost)",
            self._name,
            1e3 * self._lead,
        )
        self._sender = None

    def _restart(self, sender: RtpSender) -> None:
        try:
            sender.stop()
            sender.start()
        except OSError as exc:
            logger.error("%s: the RTP sender process could not be restarted: %s", self._name, exc)
            return
        self.sender_restarts += 1
        logger.error(
            "%s: the RTP sender process is gone (up to %.0f ms of each call's audio "
            "lost); RTP sender process restarted as pid %s (restart %d)",
            self._name,
            1e3 * self._lead,
            sender.pid,
            self.sender_restarts,
        )

    def start(self) -> None:
        if self._thread is not None:
            return
        if self._sender is not None:
            self._sender.on_reply = self._reply
            self._sender.on_gone = self._sender_gone
            try:
                self._sender.start()
            except OSError:
                logger.exception("%s: no RTP sender process; this thread sends", self._name)
                self._sender = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._restarter is not None:
            self._restarter.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._sender is not None:
            self._sender.stop()

    def _run(self) -> None:
        while not self._stopping:
            sender = self._sender
            lead = self._lead if sender is not None and sender.ready() else 0.0
            try:
                with self._round:
                    next_due = self.run_due(self._clock() + lead)
                    self._flush()
            except Exception as exc:
                logger.error("%s: a round failed (%s: %s)", self._name, type(exc).__name__, exc)
                next_due = self._clock() + 0.02
            if next_due is None:
                self._wake.wait()
            else:
                self._wake.wait(max(0.0, next_due - lead - self._clock()))
            self._wake.clear()


def _send_now(sock: socket.socket, address: Any, packet: bytes) -> None:
    # The far end's port closed (it hung up: ICMP) or the socket was closed by a
    # hang-up meanwhile: the call's own thread sees the end. Anything else (a
    # destination sendto cannot take) goes up to the stream's fault handling.
    with contextlib.suppress(OSError):
        sock.sendto(packet, address)


def key_press_payloads(
    key: str, samples_per_packet: int, duration_samples: int = 1600, volume: int = 10
) -> list[tuple[bytes, bool]]:
    """The RFC 4733 telephone-event payloads of one key press, one per packet time.

    (payload, marker): the first packet has the marker bit; the duration grows by a
    packet's samples until the end, whose packet (E bit) is sent three times
    (section 2.5.1.4). All carry the RTP timestamp of the press's start.
    """
    code = KEYS.index(key.upper())

    def payload(duration: int, end: bool) -> bytes:
        flags = (0x80 if end else 0) | (volume & 0x3F)
        return bytes([code, flags, (duration >> 8) & 0xFF, duration & 0xFF])

    steps = range(samples_per_packet, duration_samples, samples_per_packet)
    packets = [(payload(d, False), n == 0) for n, d in enumerate(steps)]
    packets += [(payload(duration_samples, True), not packets and n == 0) for n in range(3)]
    return packets
