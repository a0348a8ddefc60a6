"""The calls' RTP, sent by the phone's one pacer (fixes 20, 25, 27, 28, 31)."""

from __future__ import annotations

import contextlib
import errno
import logging
import select
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ivr.rtp_pacer import RtpPacer, key_press_payloads
from ivr.rtp_plays import Plays
from ivr.rtp_stats import ReceiveStats, header
from ivr.sip.library import (
    CallState,
    InvalidStateError,
    PayloadType,
    RTPClient,
    RTPParseError,
    TransmitType,
    VoIPCall,
)
from ivr.sip.offer import DEFAULT_PTIME_MS, _audio_offer, packet_time_ms
from ivr.sip.threads import Started

logger = logging.getLogger(__name__)
#: How long the receiver waits on its socket before it looks whether the call is over.
RECEIVE_WAIT_S = 0.1


class _PacedRTPClient(RTPClient):
    """An RTPClient whose packets the phone's one RtpPacer sends (fix 20).

    `start()` is RTPClient.start without the transmitter thread: it opens the
    socket and starts the receiver, then hands the stream to the pacer. What
    the transmitter did per packet is `send_next`: a frame of what was
    written (silence when nothing was), encoded, or the next packet of a key
    press (`send_dtmf` queues keys as before; a press replaces 240 ms of audio).
    """

    pacer: RtpPacer
    started: Started
    receive_stats: ReceiveStats
    ptime_ms: int = DEFAULT_PTIME_MS
    fault: str | None = None
    """Why the stream's media failed (fix 31), None while it is fine."""
    on_fault: Callable[[str], None] | None = None
    restarts_at_start: int = 0
    _key_packets: deque[tuple[bytes, bool]]
    _key_timestamp: int
    _marker: bool
    _plays: Plays
    _commanded: bool

    @classmethod
    def adopt(cls, client: RTPClient, pacer: RtpPacer, started: Started) -> None:
        """Make a client the library created a paced one (before it is started)."""
        if isinstance(client, cls):
            return
        client.__class__ = cls
        assert isinstance(client, cls)
        client.pacer = pacer
        client.started = started
        client.receive_stats = ReceiveStats()  # fix 25
        client._key_packets = deque()
        client._key_timestamp = 0
        client._marker = True  # the first packet of a stream (RFC 3551 4.1)
        client._plays = Plays()
        client._commanded = False  # the sender process paces it (issue 17)
        client.restarts_at_start = pacer.sender_restarts

    def fail(self, reason: str) -> None:
        """Fix 31: the pacer dropped this stream (`reason`): the call is ended."""
        self.fault = reason
        if self.on_fault is not None:
            self.on_fault(reason)

    @property
    def period(self) -> float:
        return self.ptime_ms / 1000

    def start(self) -> None:
        if self.NSD:
            raise RuntimeError("Attempted to start already started RTPClient")
        sock = socket.socket(self._socket_family, socket.SOCK_DGRAM)
        try:
            for attempt in range(5):  # an ended call's copy in the sender process is let go
                try:
                    sock.bind(self._socket_address(self.inIP, self.inPort))
                    break
                except OSError as exc:
                    if exc.errno != errno.EADDRINUSE or attempt == 4:
                        raise
                    time.sleep(0.02)
            sock.setblocking(False)
        except Exception:
            sock.close()
            raise
        with self._socket_lock:
            self.sin = self.sout = sock
        adapter = self._adapter()
        self.pmout.configure(
            adapter.source_frame_size(self.ptime_ms), self.period, self.pmout.silence_byte
        )
        self.NSD = True
        self.started.start(self.recv, f"RTP Receiver {self.inPort}")  # joined by SipPhone.stop
        # Commanded from its first packet (issue 17): the silence before the first prompt
        # is the sender process's too (the agent's pacer, stalled while a hundred calls
        # are answered, once held a stream's first packets for two seconds), and the
        # pacer builds none of its packets before the hand-over (it fed 268 packets of 18
        # streams at 100 calls, late by up to 1.5 s, while their call threads waited).
        commandable = self.pacer.commandable()
        self.pacer.add(self, pending=commandable)
        if commandable and not self._command(b"", 0):  # nothing to play: id 0 is never reported
            self.pacer.release(self)

    def stop(self) -> None:
        self.pacer.remove(self)  # first: the sender process lets go of its copy of the socket
        super().stop()

    def recv(self) -> None:
        """Fix 25: RTPClient.recv, waiting on the socket instead of polling it every 10 ms,
        each packet measured (arrival on the monotonic clock) before the library parses it."""
        while self.NSD:
            sock = self.sin
            if sock is None:
                return
            try:
                ready, _, _ = select.select([sock], [], [], RECEIVE_WAIT_S)
                if not ready:
                    continue
                packet = sock.recv(8192)
            except (OSError, ValueError):  # closed by stop() meanwhile, or nothing after all
                continue
            self._measure(packet, time.monotonic())
            try:
                self.parse_packet(packet)
            except RTPParseError as exc:
                logger.debug("RTP packet not taken on port %s: %s", self.inPort, exc)

    def _measure(self, packet: bytes, arrival: float) -> None:
        """Count a packet of the negotiated payload types (audio, or a key press)."""
        fields = header(packet)
        codec = self.assoc.get(fields[0]) if fields is not None else None
        if fields is None or codec is None:
            return
        _pt, seq, timestamp, ssrc = fields
        self.receive_stats.packet(ssrc, seq, timestamp, arrival, codec != PayloadType.EVENT)

    def active(self) -> bool:
        return bool(self.NSD)

    # ---------------------------------------------------- the media plane (issue 17)

    def play(self, pcm16: bytes) -> int:
        """Queue a whole prompt; its id comes back from `finished_plays` once sent. The
        RTP sender process sends it (ivr/rtp_plane.py); without one it is fed as written."""
        play_id = self._plays.new()
        if self._command(pcm16, play_id):
            return play_id
        self.feed()
        self.write(pcm16)
        self._plays.fed(play_id, self.outOffset)
        return play_id

    def _command(self, pcm16: bytes, play_id: int) -> bool:
        """Hand `pcm16` to the sender process (and the stream with it, if it is fed)."""
        if self._key_packets or not self.NSD:
            return False
        adapter = self._adapter()
        samples = round(self.period * adapter.rate)
        frame = adapter.encode(b"\x00" * adapter.source_frame_size(self.ptime_ms))

        def state() -> tuple[Any, ...]:
            # Read under the pacer's round lock (RtpPacer.play): a packet the pacer thread
            # builds meanwhile moves the sequence number, and the child must go on after it.
            return (
                self.preference_payload_type,
                self.outSSRC,
                self.outSequence,
                self.outTimestamp,
                samples,
                len(frame),
                frame[0] if frame else 0xFF,
                self._marker,
            )

        address = self._socket_address(self.outIP, self.outPort)
        with self._socket_lock:
            sock = getattr(self, "sout", None)
        payload = adapter.encode(pcm16) if pcm16 else b""
        if sock is None or not self.pacer.play(self, sock, state, address, payload, play_id):
            return False
        self._commanded = True
        return True

    def moved(self) -> None:
        """The far end's address or mode changed (a re-INVITE, an answer in an ACK): the
        sender process was told the old one once, so the stream is fed from here again;
        the next prompt commands it with the new address."""
        if self._commanded:
            self.feed()

    def feed(self) -> None:
        """Build this stream's packets in the agent again (live audio, a key press), going
        on with the sequence number and timestamp the sender process reached."""
        if not self._commanded:
            return  # (a flag of its own: every write of a bridge asks)
        self._commanded = False
        state = self.pacer.halt(self)
        if state is not None:
            self.outSequence, self.outTimestamp, self._marker = state
        self._plays.clear()  # the child dropped what it had queued

    def stop_play(self) -> None:
        """Drop every prompt queued (a key barged in); silence goes on."""
        if self._commanded:
            self.pacer.clear(self)
        else:
            self.pmout.read(self.pmout.available())
        self._plays.clear()

    def play_done(self, play_id: int) -> None:
        self._plays.done(play_id)

    def finished_plays(self) -> list[int]:
        if not self._commanded:
            self._plays.consumed(self.outOffset - self.pmout.available())
        return self._plays.take()

    def sending(self) -> bool:
        return self.sendrecv not in (TransmitType.RECVONLY, TransmitType.INACTIVE)

    def send_next(self) -> None:
        adapter = self._adapter()
        pcm = self.pmout.read(adapter.source_frame_size(self.ptime_ms))
        increment = round(self.period * adapter.rate)
        if not self._key_packets:
            self._next_key(increment)
        if self._key_packets:
            payload, marker = self._key_packets.popleft()
            event = int(self._telephone_event_pt or 101)
            self._send_rtp_packet(event, payload, marker=marker, timestamp=self._key_timestamp)
        else:
            payload = adapter.encode(pcm)
            self._send_rtp_packet(
                self.preference_payload_type,
                payload,
                marker=self._marker,
                timestamp=self.outTimestamp,
            )
            self._marker = False
        self.outTimestamp = (self.outTimestamp + increment) & 0xFFFFFFFF

    def skip(self, count: int) -> None:
        """Held (or stalled past catching up): the time passes, what was written with it."""
        adapter = self._adapter()
        self.pmout.read(count * adapter.source_frame_size(self.ptime_ms))
        increment = round(self.period * adapter.rate)
        self.outTimestamp = (self.outTimestamp + count * increment) & 0xFFFFFFFF
        self._marker = True

    def _send_rtp_packet(
        self, payload_type: int, payload: bytes, *, marker: bool, timestamp: int
    ) -> None:
        """RTPClient's, the packet put on the wire by the pacer (fix 28: by its sender
        process, at the packet's deadline)."""
        packet = self._build_rtp_packet(payload_type, payload, marker=marker, timestamp=timestamp)
        with self._socket_lock:
            sout = getattr(self, "sout", None)
        if sout is None or not self.NSD:
            return
        self.pacer.transmit(self, sout, self._socket_address(self.outIP, self.outPort), packet)
        self.outSequence = (self.outSequence + 1) & 0xFFFF

    def _next_key(self, increment: int) -> None:
        with self._dtmf_lock:
            key = self._pending_dtmf.popleft() if self._pending_dtmf else None
        if key is not None and self._telephone_event_pt is not None:
            self._key_packets.extend(key_press_payloads(key, increment))
            self._key_timestamp = self.outTimestamp

    def _adapter(self) -> Any:
        return self._codec_adapter(self.preference, self.preference_payload_type)


def _pace_media(call: VoIPCall, pacer: RtpPacer, started: Started) -> None:
    """Fix 20: the call's RTP clients, now and when created later (an outgoing call's
    are created when the 200 OK arrives), are paced by the phone's pacer; fix 27: in
    the packet time the far end's SDP asks for."""
    for client in call._rtp_clients_snapshot():  # a call received: made from its INVITE
        _PacedRTPClient.adopt(client, pacer, started)
        client.ptime_ms = packet_time_ms(_audio_offer(getattr(call, "request", None)))
        client.on_fault = lambda reason: _end_failed_call(call, reason, started)
    create = call.create_rtp_clients

    def create_paced(*args: Any, **kwargs: Any) -> None:
        before = set(map(id, call._rtp_clients_snapshot()))
        create(*args, **kwargs)
        media = kwargs.get("media", args[5] if len(args) > 5 else None)
        for client in call._rtp_clients_snapshot():
            _PacedRTPClient.adopt(client, pacer, started)
            client.on_fault = lambda reason: _end_failed_call(call, reason, started)
            if id(client) not in before:
                client.ptime_ms = packet_time_ms(media)

    call.create_rtp_clients = create_paced


def _end_failed_call(call: VoIPCall, reason: str, started: Started) -> None:
    """Fix 31: one call's media failed (the pacer dropped its stream): that call is hung
    up (from a thread of its own: the pacer's goes on with every other call)."""
    logger.error("[%s] the call's outgoing audio failed (%s): hanging up", call.call_id, reason)

    def hang_up() -> None:
        with contextlib.suppress(InvalidStateError, OSError, RuntimeError):
            if call.state == CallState.ANSWERED:
                call.hangup()

    started.start(hang_up, f"media fault {call.call_id}")
