"""The one module that imports the SIP library (rfcvoip, pyVoIP's maintained successor).

Everything else in hotline talks to `SipPhone` and `SipCall` below. What is
still wrong in rfcvoip 2.10 for a service desk is fixed here, each fix
documented and tested (tests/sip/):

0. It never sends 100 Trying, so a caller's INVITE is retransmitted until
   180 Ringing: a new INVITE gets 100 Trying at once.
1. The library waits a hard-coded 1 s after an INVITE before telling the
   application (`_run_call_callback(delay=1.0)`): we take the call at once
   and ring for the configured number of rings ourselves.
2. `start()` always registers: in direct mode (a trunk or PBX sends INVITEs
   straight here) registration is switched off.
3. It prints to stdout (`print()` with DEBUG off): its `debug` hook is routed
   into `logging`.
4. `deny()` can only answer 486: an untrusted source in direct mode gets 403
   Forbidden (`SipCall.forbid`).
6. Its 200 OK to an INVITE is sent once: it is resent until the ACK arrives
   (RFC 3261 timers; BYE after 32 s without one).
5. Its Call-IDs are sha256 of a per-process counter, so they repeat after
   every restart (RFC 3261 8.1.1.4 wants them globally unique): they are
   random (uuid4) instead.
8-11. See docs/sip-library.md: a message it chokes on, trust by datagram
   source, unusable media addresses (488), a Contact that is no SIP URI (400).
12. It accepts and offers every codec it has (opus, G.711.1 wideband): an
   opus-only offer was answered with opus, which the 8 kHz recorder cannot
   take. Only the configured G.711 laws and telephone-event are negotiated.
13. Its Allow header names SUBSCRIBE and NOTIFY, which the agent answers 501
   or 481: Allow lists the methods it answers.
14. A re-INVITE that takes a call off hold (a=sendrecv after a=sendonly) was
   answered a=recvonly: the direction was negotiated against the last answer
   instead of what the agent wants. The answer's o= version goes up when the
   SDP changes (RFC 3264 8).
15. Record-Route is not copied into 18x/2xx and the BYE it sends goes
   straight to the Contact without Route (RFC 3261 12.1.1, 12.2.1.1).
16. The BYE it sends is sent once: it is resent until answered (RFC 3261 17.1.2).
17. It reads 8 KB of a datagram and drops what it cannot parse unanswered:
   whole datagrams are read, a request over 16 KB gets 513 and a request it
   cannot parse or handle gets 400.
18. It re-registers 5 s before the expiry it asked for, whatever the
   registrar granted, and stops the phone for good after three failed
   REGISTERs (a registrar restart left the agent deaf): the granted expiry
   is honoured and failures are retried with back-off for as long as it runs.
19. A bridge inherits the send queue's backlog: `SipCall.live_audio()` drops it.
20. It runs one transmitter thread per call, each sleeping on its own: at 50
   calls on two cores they wake late and skip packets (drift 0.45 %, gaps of
   47 ms). No transmitter thread is started; the phone's one `RtpPacer`
   (ivr/rtp_pacer.py) sends every call's packets on absolute deadlines,
   catching up when late, key presses (RFC 4733) included.
23. It answers an INVITE for any user but its own 404 and rings for its own,
   and rings an untrusted source before the agent can refuse it: SIPVicious's
   svwar told the agent's extension from every other by that. A new INVITE
   from a source the agent does not admit gets 403 before anything else, and
   an admitted one is the agent's call whatever user it names (a trunk dials
   the desk's public number, not the agent's user name).
24. It drops the final status of an INVITE the agent sent once the call has
   failed (`_callback_RESP_Failed`): a clerk's phone that answers 486 looked
   like one that never answered. The status (>= 300) is kept per Call-ID
   (`_ClientFixes._response_seen`, also for a final answer that arrives while
   `call()` still waits for the first one) and shown as `SipCall.final_status`.
25. It measures nothing of what it receives, and its receiver polls the
   socket every 10 ms, which would add up to 10 ms to each packet's arrival.
   The receiver waits on the socket (select), stamps each packet's arrival on
   the monotonic clock and feeds it to RFC 3550 receive statistics
   (ivr/rtp_stats.py): `SipCall.rtp_stats()` gives packets received, lost
   and the interarrival jitter for the call log.
27. It always sends 20 ms packets, whatever the far end's a=ptime asks for
   (RFC 4566 6: the packet time the receiver wants). A stream is sent in the
   offer's (or answer's) ptime when G.711 can: 10 to 60 ms in whole 10 ms.
28. (Beyond fix 20.) Under load the pacer thread still woke late, waiting for
   the interpreter lock: gaps of up to 32 ms at 50 calls. The packets are
   built 10 ms ahead and a child process (ivr/rtp_sender.py) sends each at
   its deadline from a duplicate of the call's socket (`sip.rtp_sender`).
29. The ACK and BYE of a call the agent placed (to a clerk) go straight to
   the far end's Contact without Route: through a proxy that record-routes,
   they carry the 2xx's Record-Route reversed and go to its first hop
   (RFC 3261 12.1.2, 13.2.2.4).
30. It keeps a dialog tag per call for as long as it runs, in a dict and in a
   list every new tag is checked against (a scan that grows with every call):
   the list keeps the newest 4096, and a call's tag leaves both 32 s (64*T1)
   after the call.

31-36. Hostile input (issue 15, docs/hostile-input.md): SDP fields that reach a
   socket or a number checked at the parse (488; ivr/sdp_check.py), a stream fault
   ends only its call and the RTP sender process is supervised (ivr/rtp_pacer.py);
   no name resolution on the receive thread, responses to the request's source
   (ivr/sip_resolve.py); stray responses and foreign in-dialog requests dropped;
   audio+video answered with m=video 0; every datagram judged by ivr/sip_gate.py
   before the library (RFC 4475 section 3), replies without control octets; memory
   given back when idle (ivr/memory.py).

Audio crosses this boundary as 8 kHz 16-bit signed little-endian mono; the
library converts to and from PCMU/PCMA, the adapter's pacer sends the RTP.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import re
import select
import socket
import threading
import time
import uuid
import warnings
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import rfcvoip
from rfcvoip.RTP import PayloadType, RTPClient, RTPParseError, TransmitType
from rfcvoip.SIP import SIPMessageType, SIPParseError, SIPStatus
from rfcvoip.SIPTransport import SIPTransport
from rfcvoip.VoIP import CallState, InvalidStateError, VoIPCall, VoIPPhone
from rfcvoip.VoIP.status import PhoneStatus
from rfcvoip.VoIP.VoIP import (
    _media_port_is_enabled,
    _media_rtp_targets,
    _media_transmit_type,
    _media_uses_supported_rtp_profile,
    _negotiate_local_transmit_type,
    _payload_type_from_media_method,
)

from ivr import sdp_check, sip_gate, sip_wire
from ivr.cancel_reason import reason_headers
from ivr.errors import IvrError
from ivr.memory import IdleTrim
from ivr.phone import FRAME_BYTES
from ivr.rtp_pacer import RtpPacer, key_press_payloads
from ivr.rtp_sender import RtpSender
from ivr.rtp_stats import ReceiveStats, header
from ivr.sip_resolve import Resolver, ip_literal
from recorder.calls import RtpStats

logger = logging.getLogger(__name__)
#: The packet time sent when the far end's SDP names none (RFC 3551 4.5: 20 ms for G.711).
DEFAULT_PTIME_MS = 20
#: How long the receiver waits on its socket before it looks whether the call is over.
RECEIVE_WAIT_S = 0.1
#: Final statuses of the agent's INVITEs kept for SipCall.final_status (fix 24), newest last.
FINAL_STATUSES_KEPT = 1024
#: Tags given out that a new one is checked against (fix 30), newest last.
TAGS_KEPT = 4096
#: How long a call's own thread waits for a host name (fix 32; never the receive thread).
RESOLVE_WAIT_S = 2.0
#: Addresses the agent sent requests to, whose responses and requests it takes (fix 33).
PEERS_KEPT = 256


class _Unresolved(OSError):
    """A host name the agent would send to has no address (yet): fix 32."""


class SipError(IvrError):
    """The SIP layer could not start or place a call."""


def _route_library_debug() -> None:
    """rfcvoip's debug() prints; send it to logging instead (fix 3)."""
    library_log = logging.getLogger("rfcvoip")

    def debug(*parts: Any, **_kw: Any) -> None:
        library_log.debug(" ".join(str(p) for p in parts))

    for module in (rfcvoip, getattr(rfcvoip, "SIP", None), getattr(rfcvoip, "RTP", None)):
        if module is not None and hasattr(module, "debug"):
            setattr(module, "debug", debug)  # noqa: B010
    vo = __import__("rfcvoip.VoIP.VoIP", fromlist=["debug"])
    if hasattr(vo, "debug"):
        setattr(vo, "debug", debug)  # noqa: B010


_route_library_debug()
# A refused call the agent placed (a clerk's phone busy: 486) is an outcome, not a fault:
# the library warns on stderr; the agent logs it with the leg's result (fix 24, call_media).
warnings.filterwarnings("ignore", message=r"Call failed with SIP ", category=RuntimeWarning)


#: What the agent records and plays (settings.sip.codecs) besides RFC 2833 keys (fix 12).
CODECS = {"PCMU": PayloadType.PCMU, "PCMA": PayloadType.PCMA}
#: The methods the agent answers (fix 13); rfcvoip's Allow also names SUBSCRIBE and NOTIFY.
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS"
_ALLOW_LINE = re.compile(rb"^Allow:[^\r\n]*", re.MULTILINE | re.IGNORECASE)


class _Phone(VoIPPhone):
    """VoIPPhone without the fixed 1 s before the application sees a call (fix 1),
    answering every new INVITE with 100 Trying at once (fix 0), negotiating
    only the configured codecs (fix 12) and taking calls off hold (fix 14)."""

    allowed: frozenset[Any] = frozenset({*CODECS.values(), PayloadType.EVENT})

    def _callback_MSG_Invite(self, request: Any) -> None:
        call_id = str(request.headers.get("Call-ID", "") or "").strip()
        offered = _keep_codecs(request, self.allowed)
        call = self._get_call(call_id) if call_id else None
        if call_id and call is None and not self.admits(request):
            # fix 23: the same 403 for every user, before any 100 or 180.
            source = getattr(request, "source_address", None)
            logger.warning(
                "[%s] refused: %s is not a trusted source",
                call_id,
                source[0] if source else "an unknown address",
            )
            self.sip.send_response(request, self.sip.gen_response(request, SIPStatus.FORBIDDEN))
            return
        bad_sdp = sdp_check.problem(_body_text(request))
        if call_id and bad_sdp is not None:  # fix 31: before any 100, 180 or media
            logger.warning("[%s] 488: the offer's %s is out of range", call_id, bad_sdp)
            self.sip.send_response(
                request, self.sip.gen_response(request, SIPStatus.NOT_ACCEPTABLE_HERE)
            )
            return
        if call_id:  # fix 34: audio answered, every other stream refused with port 0
            rejected = _take_audio_only(request)
            if rejected:
                self.rejected_media[call_id] = rejected
                logger.info(
                    "[%s] offer with %s: answering the audio, refusing the rest (port 0)",
                    call_id,
                    ", ".join(sorted({line.split()[0][2:] for _i, line in rejected})),
                )
        if call_id and call is None and offered and not _has_audio(request):
            logger.warning("[%s] 488: no common codec (offered %s)", call_id, ", ".join(offered))
        if call_id and call is None:  # not a re-INVITE of a known call
            try:
                self.sip.send_response(request, self.sip.gen_response(request, SIPStatus.TRYING))
            except Exception:  # a malformed request: the library answers it below
                logger.debug("no 100 Trying for %s", call_id, exc_info=True)
        elif call is not None and call.state == CallState.ANSWERED:
            # fix 14: negotiate what the agent wants (both ways), not the last answer;
            # after a=sendonly (hold) the library kept a=recvonly for good.
            call.sendmode = self.recvmode
            if self.reinvite(call, request):  # fixes 21 and 22
                return
        super()._callback_MSG_Invite(request)

    def _callback_MSG_Cancel(self, request: Any) -> None:
        """Keep the CANCEL's Reason headers on the ringing call (RFC 3326): in a ring
        group they say whether another phone answered (ivr/cancel_reason.py)."""
        call = self._get_call(str(request.headers.get("Call-ID", "") or "").strip())
        if call is not None and call.state == CallState.RINGING:
            call.cancel_reasons = reason_headers(bytes(getattr(request, "raw", b"") or b""))
        super()._callback_MSG_Cancel(request)

    def _invite_targets_local_account(self, request: Any) -> bool:
        """Every INVITE the agent admits is for it, whatever user it names (fix 23)."""
        return True

    admits: Callable[[Any], bool] = staticmethod(lambda _request: True)
    rejected_media: dict[str, list[tuple[int, str]]]
    """Call-ID -> (position, m= line with port 0) of the streams refused (fix 34)."""
    forget: Callable[[str], None] = staticmethod(lambda _call_id: None)
    reinvite: Callable[[Any, Any], bool] = staticmethod(lambda _call, _request: False)
    pacer: RtpPacer | None = None

    memory: IdleTrim | None = None

    def _set_call(self, call_id: str, call: VoIPCall) -> None:
        super()._set_call(call_id, call)
        if self.memory is not None:
            self.memory.busy()
        if self.pacer is not None:
            _pace_media(call, self.pacer)

    def _remove_call(self, call_id: Any, *, expected: Any = None) -> Any:
        removed = super()._remove_call(call_id, expected=expected)
        if removed is not None:
            self.forget(str(call_id))
            if self.memory is not None:
                self.memory.idle()  # fix 36: what the calls freed goes back to the system
        return removed

    def _default_audio_offer(self) -> dict[int, Any]:
        """What OPTIONS and the agent's own INVITEs offer: the configured codecs (fix 12)."""
        offer = super()._default_audio_offer()
        return {pt: codec for pt, codec in offer.items() if codec in self.allowed}

    @staticmethod
    def _run_call_callback(callback: Callable[[Any], None], call: Any, delay: float = 0.0) -> None:
        VoIPPhone._run_call_callback(callback, call, delay=0.0)


class _PacedRTPClient(RTPClient):
    """An RTPClient whose packets the phone's one RtpPacer sends (fix 20).

    `start()` is RTPClient.start without the transmitter thread: it opens the
    socket and starts the receiver, then hands the stream to the pacer. What
    the transmitter did per packet is `send_next`: a frame of what was
    written (silence when nothing was), encoded, or the next packet of a key
    press (`send_dtmf` queues keys as before; a press replaces 240 ms of audio).
    """

    pacer: RtpPacer
    receive_stats: ReceiveStats
    ptime_ms: int = DEFAULT_PTIME_MS
    fault: str | None = None
    """Why the stream's media failed (fix 31), None while it is fine."""
    on_fault: Callable[[str], None] | None = None
    restarts_at_start: int = 0
    _key_packets: deque[tuple[bytes, bool]]
    _key_timestamp: int
    _marker: bool

    @classmethod
    def adopt(cls, client: RTPClient, pacer: RtpPacer) -> None:
        """Make a client the library created a paced one (before it is started)."""
        if isinstance(client, cls):
            return
        client.__class__ = cls
        assert isinstance(client, cls)
        client.pacer = pacer
        client.receive_stats = ReceiveStats()  # fix 25
        client._key_packets = deque()
        client._key_timestamp = 0
        client._marker = True  # the first packet of a stream (RFC 3551 4.1)
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
        threading.Thread(target=self.recv, name=f"RTP Receiver {self.inPort}", daemon=True).start()
        self.pacer.add(self)

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


def packet_time_ms(media: Mapping[str, Any] | None) -> int:
    """Fix 27: the ptime to send in, from an m= section's a=ptime: 10 to 60 ms in whole
    10 ms (G.711 packs any number of 1 ms samples, but a far end that asks for 25 ms
    or 200 ms is more likely wrong than served), 20 ms when absent or unusable."""
    attributes = (media or {}).get("attributes") or {}
    try:
        ptime = int(str(attributes.get("ptime", "")).strip())
    except ValueError:
        return DEFAULT_PTIME_MS
    return ptime if 10 <= ptime <= 60 and ptime % 10 == 0 else DEFAULT_PTIME_MS


def _audio_offer(request: Any) -> Mapping[str, Any] | None:
    """The first audio m= section of a request's SDP that is not refused (port 0)."""
    body = getattr(request, "body", None)
    if not isinstance(body, dict):
        return None
    for media in body.get("m") or []:
        if isinstance(media, dict) and media.get("type") == "audio" and media.get("port"):
            return media
    return None


def _pace_media(call: VoIPCall, pacer: RtpPacer) -> None:
    """Fix 20: the call's RTP clients, now and when created later (an outgoing call's
    are created when the 200 OK arrives), are paced by the phone's pacer; fix 27: in
    the packet time the far end's SDP asks for."""
    for client in call._rtp_clients_snapshot():  # a call received: made from its INVITE
        _PacedRTPClient.adopt(client, pacer)
        client.ptime_ms = packet_time_ms(_audio_offer(getattr(call, "request", None)))
        client.on_fault = lambda reason: _end_failed_call(call, reason)
    create = call.create_rtp_clients

    def create_paced(*args: Any, **kwargs: Any) -> None:
        before = set(map(id, call._rtp_clients_snapshot()))
        create(*args, **kwargs)
        media = kwargs.get("media", args[5] if len(args) > 5 else None)
        for client in call._rtp_clients_snapshot():
            _PacedRTPClient.adopt(client, pacer)
            client.on_fault = lambda reason: _end_failed_call(call, reason)
            if id(client) not in before:
                client.ptime_ms = packet_time_ms(media)

    call.create_rtp_clients = create_paced


def _end_failed_call(call: VoIPCall, reason: str) -> None:
    """Fix 31: one call's media failed (the pacer dropped its stream): that call is hung
    up (from a thread of its own: the pacer's goes on with every other call)."""
    logger.error("[%s] the call's outgoing audio failed (%s): hanging up", call.call_id, reason)

    def hang_up() -> None:
        with contextlib.suppress(InvalidStateError, OSError, RuntimeError):
            if call.state == CallState.ANSWERED:
                call.hangup()

    threading.Thread(target=hang_up, name=f"media fault {call.call_id}", daemon=True).start()


def _body_text(message: Any) -> str:
    """The body of a SIP message as text (the SDP, or a multipart body holding it)."""
    raw = bytes(getattr(message, "raw", b"") or b"")
    return raw.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int


def unique_call_id(local: Endpoint) -> str:
    return f"{uuid.uuid4().hex}@{local.host}:{local.port}"


#: RFC 3261 17.2.1: the 200 OK to an INVITE is resent at T1, doubling to T2,
#: until the ACK arrives; without an ACK after 64 x T1 the call is ended.
T1, T2 = 0.5, 4.0
#: A REGISTER transaction gives up after 0.5 + 1 + 2 + 4 s; the next one follows with back-off.
REGISTER_GIVE_UP = 7.5


class SipCall:
    """One call, as the agent sees it."""

    def __init__(
        self,
        call: VoIPCall,
        dialogs: _Dialogs | None = None,
        final_statuses: Mapping[str, int] | None = None,
    ) -> None:
        self._call = call
        self._dialogs = dialogs
        self._final_statuses: Mapping[str, int] = {} if final_statuses is None else final_statuses
        headers = getattr(call.request, "headers", {}) if getattr(call, "request", None) else {}
        self.call_id: str = str(call.call_id)
        self.caller: str | None = (headers.get("From") or {}).get("number")
        self.called: str | None = (headers.get("To") or {}).get("number")
        self.source: str | None = _source_host(call)

    @property
    def ended(self) -> bool:
        return self._call.state == CallState.ENDED

    @property
    def answered(self) -> bool:
        return self._call.state == CallState.ANSWERED

    @property
    def cancel_reasons(self) -> tuple[str, ...]:
        """The Reason headers of the CANCEL that ended this call while it rang (RFC 3326);
        empty when it was not cancelled or the CANCEL gave none."""
        return tuple(getattr(self._call, "cancel_reasons", ()))

    @property
    def final_status(self) -> int | None:
        """The final status (>= 300) of the INVITE the agent sent for this call (fix 24),
        e.g. 486 from a busy clerk's phone; None while it rings, once answered, or for a
        call the agent received."""
        return self._final_statuses.get(self.call_id)

    @property
    def media_fault(self) -> str | None:
        """Fix 31: why this call's outgoing audio failed or was interrupted (its stream
        dropped, or the RTP sender process died and was restarted during it), else None."""
        for client in self._clients():
            if isinstance(client, _PacedRTPClient):
                if client.fault:
                    return f"outgoing audio failed: {client.fault}"
                restarts = client.pacer.sender_restarts - client.restarts_at_start
                if restarts:
                    return f"the RTP sender process died and was restarted ({restarts}x) during the call"
        return None

    def rtp_stats(self) -> RtpStats | None:
        """What arrived on the call's RTP (fix 25): received, lost, jitter; None before any."""
        results = [
            client.receive_stats.result()
            for client in self._clients()
            if isinstance(client, _PacedRTPClient)
        ]
        found = [r for r in results if r is not None]
        if not found:
            return None
        return RtpStats(
            packets_received=sum(r.packets_received for r in found),
            packets_lost=sum(r.packets_lost for r in found),
            jitter_ms=max(r.jitter_ms for r in found),
        )

    def codec(self) -> str | None:
        """The negotiated codec, e.g. PCMU or PCMA."""
        clients = getattr(self._call, "RTPClients", None) or []
        preference = getattr(clients[0], "preference", None) if clients else None
        return str(getattr(preference, "name", preference) or "") or None

    def answer(self) -> bool:
        """Answer; False when the caller gave up meanwhile (CANCEL: the library sent 487).

        VoIPCall.answer() sends its 200 OK once (fix 6): the same steps, keeping
        the 200 to resend until the ACK arrives.
        """
        call = self._call
        if call.state != CallState.RINGING:
            return False
        try:
            media = call.gen_ms()  # starts the RTP clients: binds their ports
        except OSError as exc:
            # rfcvoip's release_ports() frees every port of a call not yet in its table,
            # so under a flood two calls can be given one port (PROTOS: 4 of 4,527).
            logger.error("[%s] 503: no RTP port could be bound (%s)", self.call_id, exc)
            self._refuse(SIPStatus.SERVICE_UNAVAILABLE)
            return False
        ok = call.sip.gen_answer(call.request, call.session_id, media, call.sendmode)
        if self._dialogs is None:
            call.sip.send_response(call.request, ok)
        else:
            self._dialogs.send_ok(call, call.request, ok)
        call._set_state(CallState.ANSWERED)
        return True

    def deny(self) -> None:
        with contextlib.suppress(InvalidStateError):
            self._call.deny()

    def forbid(self) -> None:
        """403 Forbidden (an untrusted source in direct mode); the library's deny() only says 486."""
        self._refuse(SIPStatus.FORBIDDEN)

    def refuse_media(self) -> None:
        """488 Not Acceptable Here: the offer names no address media could be sent to."""
        self._refuse(SIPStatus.NOT_ACCEPTABLE_HERE)

    def media_address_ok(self) -> bool:
        """Whether every media stream offered goes to an IP address or a host name (fix 10).

        The library takes the SDP's c= line as given; a garbage address there
        kills its send thread mid-call with "encoding of hostname failed".
        """
        return all(_usable_host(str(getattr(c, "outIP", ""))) for c in self._clients())

    def refuse_malformed(self) -> None:
        """400 Bad Request."""
        self._refuse(SIPStatus.BAD_REQUEST)

    def remote_target_ok(self) -> bool:
        """Whether the INVITE names a SIP URI the agent's BYE could go to (fix 11).

        The library takes what sits between the Contact's first < and > as
        the BYE's Request-URI; PROTOS case 0001513 (Contact: <<<<...sip:x>)
        made it send "BYE <<<<...sip:x SIP/2.0".
        """
        headers = getattr(self._call.request, "headers", {}) or {}
        contact = headers.get("Contact")
        if not contact:
            return True  # the library falls back to From, which it parsed itself
        value = str(contact).strip()
        if "<" in value and ">" in value:
            value = value.split("<", 1)[1].split(">", 1)[0]
        return bool(_SIP_URI.fullmatch(value.strip()))

    def _refuse(self, status: SIPStatus) -> None:
        call = self._call
        if call.state != CallState.RINGING:
            return
        sip = call.sip
        sip.send_response(call.request, sip._build_response(call.request, status, contact=True))
        call._stop_rtp_clients()
        call._set_state(CallState.ENDED)
        call._finalize_ended_call()

    def hangup(self) -> None:
        if self._call.state == CallState.ANSWERED:
            with contextlib.suppress(InvalidStateError):
                self._call.hangup()

    def write(self, pcm16: bytes) -> None:
        self._call.write_audio(pcm16)

    def read(self, size: int = FRAME_BYTES) -> bytes:
        """The next `size` bytes received, silence where nothing arrived (never blocks).

        The library's `read_audio` returns only silence once the call has
        ended; reading the one media stream directly keeps what arrived just
        before the caller's BYE.
        """
        clients = self._clients()
        if len(clients) == 1 and self._call.state in (CallState.ANSWERED, CallState.ENDED):
            return bytes(clients[0].read(size, False))
        return bytes(self._call.read_audio(size, False))

    def buffered(self) -> int:
        """Received bytes waiting to be read (what `read` returns without padding)."""
        clients = self._clients()
        return min((client.pmin.available() for client in clients), default=0)

    def _clients(self) -> list[Any]:
        return list(getattr(self._call, "RTPClients", None) or [])

    def dtmf(self) -> str:
        return str(self._call.get_dtmf(1) or "")

    def live_audio(self) -> None:
        """From now on this call carries live audio (fix 19: a bridge).

        The library queues every byte written until its own 20 ms sender takes
        it: right for prompts, but a backlog left from before the bridge (a
        prompt's tail, a burst after the loop was held up) then delays every
        word of the conversation (bench/bridge_latency.py: 167 ms p50 one way,
        98 ms the other). What is still queued is dropped: 96 and 103 ms. (The
        library's realtime mode bounds the queue too, but drops words: the
        clerk heard the caller at 0.93 correlation instead of 0.9996.)
        """
        for client in self._clients():
            output = client.pmout
            output.read(output.available())  # the unsent rest of what came before

    def send_dtmf(self, digits: str) -> bool:
        """Press keys (RFC 4733 telephone-events); False when the far end takes none."""
        return bool(self._call.send_dtmf(digits))

    def dtmf_digits(self) -> str:
        """Every key pressed since the last look (RFC 2833), in order."""
        digits = ""
        while digit := self.dtmf():
            digits += digit
        return digits

    def cancel_or_hangup(self) -> None:
        """End an outgoing call whatever its state: CANCEL while it rings, BYE once answered."""
        state = self._call.state
        with contextlib.suppress(InvalidStateError, OSError, RuntimeError):
            if state in (CallState.DIALING, CallState.RINGING):
                self._call.cancel()
            elif state == CallState.ANSWERED:
                self._call.hangup()


def _audio_media(request: Any) -> list[dict[str, Any]]:
    body = getattr(request, "body", None)
    media = (body.get("m", []) if isinstance(body, dict) else []) or []
    return [m for m in media if isinstance(m, dict) and m.get("type") == "audio"]


def _keep_codecs(request: Any, allowed: frozenset[Any]) -> list[str]:
    """Strip from an offer every payload type the agent does not take (fix 12); what was offered.

    With nothing left the library answers 488 Not Acceptable Here itself.
    """
    offered = []
    for media in _audio_media(request):
        kept = []
        for method in media.get("methods", []) or []:
            try:
                codec = _payload_type_from_media_method(media, method)
            except (KeyError, ValueError, TypeError):
                offered.append(str(method))
                continue
            offered.append(str(getattr(codec, "description", codec)))
            if codec in allowed:
                kept.append(method)
        media["methods"] = kept
    return offered


def _take_audio_only(request: Any) -> list[tuple[int, str]]:
    """Fix 34 (RFC 3264 6): rfcvoip refused a whole offer with 488 when it also offered
    video. The streams other than audio are taken out of the offer the library sees;
    returned, by their position, as the port-0 m= lines the answer carries for them."""
    body = getattr(request, "body", None)
    offered = sdp_check.sections(_body_text(request))
    rejected = [
        (i, f"m={m.kind} 0 {m.proto} {' '.join(m.formats) or '0'}".strip())
        for i, m in enumerate(offered)
        if m.kind != "audio"
    ]
    if rejected and isinstance(body, dict):
        body["m"] = [
            m for m in body.get("m") or [] if isinstance(m, dict) and m.get("type") == "audio"
        ]
    return rejected


def _has_audio(request: Any) -> bool:
    """Whether an offer (after _keep_codecs) still names an audio codec, not only keys."""
    return any(
        str(_payload_type_from_media_method(media, method)) != "telephone-event"
        for media in _audio_media(request)
        for method in media.get("methods", [])
    )


_SIP_URI = re.compile(r"sips?:[^\s<>\"]+")
_HOST_NAME = re.compile(
    r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z][A-Za-z0-9-]{0,62}"
)


def _usable_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOST_NAME.fullmatch(host))
    return True


def _source_host(call: VoIPCall) -> str | None:
    """The address the INVITE came from (fix 9): the datagram's source, never a header.

    A Via header says whatever the sender writes in it; trusting it would let
    anyone past the `--trust` list by writing 127.0.0.1 there.
    """
    return _request_source(getattr(call, "request", None))


def _request_source(request: Any) -> str | None:
    source = getattr(request, "source_address", None)
    return str(source[0]) if source else None


def _address_of(host: str) -> str:
    """The IP address a registrar's host name stands for (itself if it is one)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return socket.gethostbyname(host)
    except OSError:
        return host


def _fallback_target(message: Any, why: Exception) -> tuple[str, int]:
    """Fix 32: where a message of a dialog came from, for a target whose name has no
    address; OSError when not known (the send is then logged and dropped)."""
    source = getattr(message, "source_address", None)
    if source is None:
        raise why
    logger.info("%s: sending to %s:%s, where the dialog's message came from", why, *source)
    return str(source[0]), int(source[1])


def _cseq(message: Any) -> str:
    cseq = message.headers.get("CSeq")
    return str(cseq.get("check", "")) if isinstance(cseq, dict) else ""


class _Dialogs:
    """The 2xx to each INVITE until its ACK (fixes 6, 22) and offers in a 2xx (fix 21).

    rfcvoip sends the 200 OK to an INVITE or re-INVITE once and drops every ACK
    unseen; a re-INVITE without an offer got 488. Here each 2xx is resent at T1
    doubling to T2 until the ACK with its CSeq arrives, for at most 64 x T1, then
    the call is ended with BYE (RFC 3261 13.3.1.4, 14.2). A retransmitted INVITE
    whose 2xx was sent is absorbed (RFC 6026 7.1). A re-INVITE without SDP gets the
    agent's offer in its 200 (the current session, a=sendrecv), and the answer is
    taken from the ACK (RFC 3261 14.2, RFC 3264 4, RFC 6337 5).
    """

    def __init__(self, phone: _Phone) -> None:
        self.phone, self.sip = phone, phone.sip
        self._lock = threading.Lock()
        self._acks: dict[tuple[str, str], threading.Event] = {}
        self._offers: dict[str, str] = {}
        """Call-ID -> CSeq of the re-INVITE whose 200 carried the agent's offer."""
        self.last_ok: dict[str, tuple[str, str]] = {}
        """Call-ID -> (CSeq, message) of the last 2xx with SDP built for it."""

    def forget(self, call_id: str) -> None:
        with self._lock:
            for key in [k for k in self._acks if k[0] == call_id]:
                del self._acks[key]
            self._offers.pop(call_id, None)
            self.last_ok.pop(call_id, None)

    def _ack_event(self, call_id: str, cseq: str) -> tuple[threading.Event, bool]:
        """The event set by the ACK of (Call-ID, CSeq), and whether it was new."""
        with self._lock:
            event = self._acks.get((call_id, cseq))
            if event is not None:
                return event, False
            event = self._acks[(call_id, cseq)] = threading.Event()
            return event, True

    def ack(self, message: Any, call_id: str) -> None:
        """An ACK arrived (the library ignores them)."""
        cseq = _cseq(message)
        self._ack_event(call_id, cseq)[0].set()
        with self._lock:
            offered = self._offers.get(call_id) == cseq
            if offered:
                del self._offers[call_id]
        call = self.phone._get_call(call_id)
        if offered and call is not None:
            self._take_answer(call, message)

    def send_ok(self, call: Any, request: Any, ok: str) -> None:
        """Send a 2xx to an INVITE and keep resending it until its ACK (fixes 6, 22)."""
        call_id, cseq = str(call.call_id), _cseq(request)
        acked, _new = self._ack_event(call_id, cseq)
        self.sip.send_response(request, ok)
        threading.Thread(
            target=self._resend_until_ack,
            args=(call, request, ok, acked),
            name=f"200 {call_id} {cseq}",
            daemon=True,
        ).start()

    def _resend_until_ack(self, call: Any, request: Any, ok: str, acked: threading.Event) -> None:
        interval, waited = T1, 0.0
        while waited < 64 * T1:
            if acked.wait(interval) or call.state == CallState.ENDED:
                return
            waited += interval
            logger.debug("[%s] no ACK yet: 200 OK (CSeq %s) again", call.call_id, _cseq(request))
            with contextlib.suppress(OSError, RuntimeError):
                self.sip.send_response(request, ok)
            interval = min(interval * 2, T2)
        logger.warning("[%s] no ACK for the 200 OK in %.0f s: hanging up", call.call_id, waited)
        with contextlib.suppress(InvalidStateError, OSError, RuntimeError):
            call.hangup()

    def reinvite(self, call: Any, request: Any) -> bool:
        """An INVITE inside an answered call; True when handled here (fixes 21, 22)."""
        call_id, cseq = str(call.call_id), _cseq(request)
        with self._lock:
            answered = (call_id, cseq) in self._acks
        if answered:
            logger.debug("[%s] INVITE (CSeq %s) again: absorbed, its 200 is resent", call_id, cseq)
            return True
        if _audio_media(request):
            call.renegotiate(request)  # the library answers: 200 with SDP, or 488
            sent = self.last_ok.get(call_id)
            if sent is not None and sent[0] == cseq:
                acked, _new = self._ack_event(call_id, cseq)
                threading.Thread(
                    target=self._resend_until_ack,
                    args=(call, request, sent[1], acked),
                    name=f"200 {call_id} {cseq}",
                    daemon=True,
                ).start()
            return True
        # fix 21: no offer: the agent offers the session it has, the ACK answers.
        offer = self.sip.gen_answer(
            request, call.session_id, call._rtp_media_answer_map(), call.sendmode
        )
        with self._lock:
            self._offers[call_id] = cseq
        logger.info("[%s] re-INVITE without an offer: offering in the 200 OK", call_id)
        self.send_ok(call, request, offer)
        return True

    def _take_answer(self, call: Any, ack: Any) -> None:
        """The answer in an ACK to the agent's offer: where and how to send (fix 21)."""
        media = [
            m
            for m in _audio_media(ack)
            if _media_uses_supported_rtp_profile(m) and _media_port_is_enabled(m)
        ]
        clients = call._rtp_clients_snapshot()
        targets = [t for m in media for t in _media_rtp_targets(ack, m, m["port"])]
        if not media or len(targets) != len(clients):
            logger.warning(
                "[%s] the ACK carried no usable answer to the agent's offer: media unchanged",
                call.call_id,
            )
            return
        mode = _negotiate_local_transmit_type(_media_transmit_type(media[0]), call.sendmode)
        call.sendmode = mode
        for client, (host, port, _connection) in zip(clients, targets, strict=True):
            client.outIP, client.outPort, client.sendrecv = host, port, mode
        logger.info("[%s] answer in the ACK: RTP to %s:%s, %s", call.call_id, host, port, mode)


class _Tags:
    """Fix 30: the tags rfcvoip gave out, which `gen_tag` checks each new one against.
    The library keeps a list that only grows, by two or three tags a call (the 100,
    the 180 and the 200 each ask for one): a scan per new tag that grows with every
    call. This keeps the newest TAGS_KEPT, and an ended call's tag leaves with the
    call's entry in `tagLibrary`; a tag is 32 random bits, so one reused after it was
    forgotten is a one in four billion chance against a call still going."""

    def __init__(self, tags: Iterable[str] = ()) -> None:
        self._tags: OrderedDict[str, None] = OrderedDict.fromkeys(tags)

    def __contains__(self, tag: object) -> bool:
        return tag in self._tags

    def __len__(self) -> int:
        return len(self._tags)

    def append(self, tag: str) -> None:
        self._tags[tag] = None
        while len(self._tags) > TAGS_KEPT:
            self._tags.popitem(last=False)

    def discard(self, tag: str) -> None:
        self._tags.pop(tag, None)


class _ClientFixes:
    """The wrappers put on one rfcvoip SIPClient (fixes 6, 8, 13-18) and their per-call state."""

    def __init__(self, phone: _Phone, direct: bool, expires: int) -> None:
        self.phone, self.sip, self.direct = phone, phone.sip, direct
        self.dialogs = _Dialogs(phone)
        self.answers: dict[str, tuple[int, str]] = {}
        self.byes: dict[tuple[str, str], threading.Event] = {}
        self.final_statuses: OrderedDict[str, int] = OrderedDict()
        """Call-ID -> final status >= 300 of the agent's INVITE (fix 24); kept after the call
        ends, since the library ends the call before anyone can ask, the oldest dropped."""
        self.granted = expires
        self.failures = 0
        self._whole_datagrams: Any = None
        sip = self.sip
        sip.default_expires = expires
        self._parse, sip.parse_message = sip.parse_message, self.parse_message
        self._from_raw, sip._message_from_raw = sip._message_from_raw, self.message_from_raw
        self._build, sip._build_response = sip._build_response, self.build_response
        self._gen_answer, sip.gen_answer = sip.gen_answer, self.gen_answer
        self._queue_final, sip.queue_pending_invite_response = (
            sip.queue_pending_invite_response,
            self.queue_pending_invite_response,
        )
        self._send_raw, sip.send_raw = sip.send_raw, self.send_raw
        self._gen_ack, sip.gen_ack = sip.gen_ack, self.gen_ack
        self._ack_target, sip.ack_target = sip.ack_target, self.ack_target
        self.uac_routes: dict[str, list[str]] = {}
        """Call-ID -> route set of a dialog the agent started (fix 29)."""
        self._ended: deque[tuple[float, str]] = deque()
        """(when, Call-ID) of the calls over, oldest first (fix 30)."""
        self._ended_lock = threading.Lock()
        sip.tags = _Tags(sip.tags)
        self.resolver = Resolver()
        self._receiver: int | None = None
        """The thread that reads SIP (fix 32: never waits for a name)."""
        self.peers: OrderedDict[str, None] = OrderedDict()
        """Addresses the agent sent requests to, newest last (fix 33)."""
        self._response_target, sip.response_target = sip.response_target, self.response_target
        self._dialog_target, sip.dialog_target = sip.dialog_target, self.dialog_target
        sip._sip_target_from_uri = self.target_from_uri
        sip._udp_send_fallback_target = lambda _target: None  # never "retry" to its own port
        sip.bye = self.bye
        sip.register = self.register
        sip._send_register_request = self.send_register_request

    def forget(self, call_id: str) -> None:
        """A call is over: drop what was kept for it. The library's tag for it is kept
        for 64*T1 (a retransmitted BYE or 200 still finds it), then dropped too: rfcvoip
        keeps every call's tag for as long as it runs (fix 30)."""
        self.dialogs.forget(call_id)
        self.answers.pop(call_id, None)
        self.phone.rejected_media.pop(call_id, None)
        self.uac_routes.pop(call_id, None)
        now = time.monotonic()
        with self._ended_lock:
            self._ended.append((now, call_id))
            while self._ended and now - self._ended[0][0] > 64 * T1:
                _ended_at, old = self._ended.popleft()
                if not self.phone.has_call_id(old):
                    tag = self.sip.tagLibrary.pop(old, None)
                    if tag is not None:
                        self.sip.tags.discard(tag)

    def parse_message(self, message: Any) -> None:
        call_id = str(message.headers.get("Call-ID", "")).strip()
        refused = self._foreign(message, call_id)
        if refused is not None:  # fix 33
            logger.info("discarded %s", refused)
            return
        if getattr(message, "method", None) == "ACK" and self.phone.has_call_id(call_id):
            self.dialogs.ack(message, call_id)  # fixes 6, 21, 22: the library drops ACKs unseen
        if message.type == SIPMessageType.RESPONSE:
            self._response_seen(message, call_id)
        try:
            self._parse(message)
        except Exception as exc:  # fix 8: one bad message must not end the receive thread
            logger.warning(
                "the library could not handle a SIP message (%s: %s): %.120r",
                type(exc).__name__,
                exc,
                getattr(message, "heading", b""),
            )
            if message.type == SIPMessageType.MESSAGE:  # fix 17: a clear 400, not silence
                self._send_refusal(bytes(message.raw), 400, "Bad Request", why=str(exc))

    def _foreign(self, message: Any, call_id: str) -> str | None:
        """Fix 33: why a message is none of the agent's business (None: it is).

        A response is taken only if its top Via is the agent's own (RFC 3261 18.1.2:
        else silently discarded) and it comes from an admitted source or one the agent
        sent a request to: a stray 200 OK was ACKed to whatever its Contact named. A
        request inside a call (BYE, CANCEL, ACK, re-INVITE) is taken only from an
        admitted source, the call's far end, or where the agent sent requests."""
        source = getattr(message, "source_address", None)
        host = str(source[0]) if source else ""
        known = host in self.peers or self.phone.admits(message)
        if message.type == SIPMessageType.RESPONSE:
            vias = message.headers.get("Via") or []
            via = vias[0] if vias and isinstance(vias[0], dict) else {}
            sent_by = via.get("address") or ("", "")
            mine = (str(sent_by[0]).lower(), str(sent_by[1])) == (
                str(self.sip.myIP).lower(),
                str(self.sip.myPort),
            )
            if not mine:
                return f"a response for another sender ({int(message.status)}, Via {sent_by[0]})"
            if not known:
                return f"a response from {host}, which the agent neither trusts nor called"
            cseq = message.headers.get("CSeq")
            if (
                isinstance(cseq, dict)
                and cseq.get("method") == "INVITE"
                and not self.phone.has_call_id(call_id)
                and call_id not in self.sip.tagLibrary
                and getattr(self.phone, "_outbound_call_creation_depth", 0) <= 0
            ):  # RFC 4475 3.1.1.12: a stray response is discarded, never ACKed
                return f"a {int(message.status)} to no INVITE of the agent's ({call_id[:60]})"
            return None
        call = self.phone._get_call(call_id) if call_id else None
        if call is None or known:
            return None
        far = getattr(getattr(call, "request", None), "source_address", None)
        if far and str(far[0]) == host:
            return None
        return (
            f"{getattr(message, 'method', '?')} for call {call_id[:60]} from {host}, not its peer"
        )

    def _response_seen(self, message: Any, call_id: str) -> None:
        cseq = message.headers.get("CSeq")
        if not isinstance(cseq, dict) or int(message.status) < 200:
            return
        if cseq.get("method") == "BYE":  # fix 16
            answered = self.byes.get((call_id, str(cseq.get("check"))))
            if answered is not None:
                answered.set()
        elif cseq.get("method") == "INVITE" and int(message.status) >= 300:  # fix 24
            self.final_statuses[call_id] = int(message.status)
            self.final_statuses.move_to_end(call_id)
            while len(self.final_statuses) > FINAL_STATUSES_KEPT:
                self.final_statuses.popitem(last=False)
        elif cseq.get("method") == "REGISTER" and int(message.status) == 200:  # fix 18
            contact = f"{self.sip.myIP}:{self.sip.myPort}"
            expires = sip_wire.granted_expires(message.raw, contact, self.sip.default_expires)
            self.granted = expires

    def queue_pending_invite_response(self, call_id: str, response: Any) -> None:
        """Fix 24: a final answer read while `call()` waits for the first one bypasses
        `parse_message`; the library keeps it for `call()` to apply."""
        if response.type == SIPMessageType.RESPONSE:
            self._response_seen(response, str(call_id).strip())
        self._queue_final(call_id, response)

    def message_from_raw(self, raw: bytes) -> Any:
        """Fix 17: a request too large gets 513, one the library cannot parse 400. Fix 35:
        every datagram is judged first (ivr/sip_gate.py, RFC 4475 section 3): refused
        with the status the RFC names, dropped, or passed on unfolded."""
        if len(raw) > sip_wire.MAX_MESSAGE_BYTES:
            self._send_refusal(raw, 513, "Message Too Large", why=f"{len(raw)} bytes")
            raise SIPParseError(f"a message of {len(raw)} bytes")
        verdict = sip_gate.check(raw)
        if verdict.kind == "drop":
            logger.info("discarded %s", verdict.why)
            raise SIPParseError(f"discarded: {verdict.why}")
        if verdict.kind == "refuse":
            self._send_refusal(raw, verdict.code, verdict.phrase, verdict.headers)
            raise SIPParseError(f"refused: {verdict.code} {verdict.phrase}")
        try:
            return self._from_raw(verdict.message)
        except SIPParseError as exc:
            self._send_refusal(raw, 400, "Bad Request", why=str(exc))
            raise SIPParseError(f"refused: {exc}") from exc

    def _send_refusal(
        self, raw: bytes, code: int, phrase: str, extra: tuple[str, ...] = (), why: str = ""
    ) -> None:
        """Answer a request the library is not given, to the datagram's source; the log
        says what was sent, or that nothing could be (a response, an ACK, no source)."""
        response = sip_gate.reply(raw, code, phrase, extra)
        connection = self.sip.connection
        source = getattr(connection, "last_recv_address", None) if connection else None
        start = sip_gate.clean(raw.split(b"\r\n", 1)[0][:60].decode("utf-8", "replace"))
        detail = f" ({sip_gate.clean(why)[:120]})" if why else ""
        if response is None or source is None:
            logger.warning("dropped %r unanswered: %d %s%s", start, code, phrase, detail)
            return
        try:
            self._send_raw(response, source)
        except (OSError, RuntimeError) as exc:
            logger.warning("could not answer %r with %d: %s", start, code, exc)
            return
        logger.warning("answered %r with %d %s%s", start, code, phrase, detail)

    def response_target(self, request: Any) -> tuple[str, int]:
        """Fix 32: a response goes to the address the request came from, never to a name
        (RFC 3261 18.2.2: the received address, the sent-by port; RFC 3581: with rport,
        the source port). A request without a usable Via is answered to its source."""
        source = getattr(request, "source_address", None)
        if source is None:
            return tuple(self._response_target(request))
        vias = request.headers.get("Via") or []
        via = vias[0] if vias and isinstance(vias[0], dict) else None
        if via is None or "rport" in via:
            return str(source[0]), int(source[1])
        try:
            port = int(str(via["address"][1]))
        except (KeyError, IndexError, TypeError, ValueError):
            port = int(source[1])
        return str(source[0]), port if 1 <= port <= 65535 else int(source[1])

    def target_from_uri(self, uri: str, default_port: int | None = 5060) -> tuple[str, int]:
        """Fix 32: where a SIP URI points, its host name resolved through the bounded
        cache: waited for (at most RESOLVE_WAIT_S) on a call's thread, never on the
        receive thread. Raises _Unresolved."""
        host, port = sip_wire.uri_host_port(uri, default_port or 5060)
        if host is None:
            raise _Unresolved(f"no host in {uri[:80]!r}")
        if threading.get_ident() == self._receiver:
            address = self.resolver.address(host)
        else:
            address = self.resolver.resolve(host, RESOLVE_WAIT_S)
        if address is None:
            raise _Unresolved(f"{host} does not resolve")
        return address, port

    def dialog_target(self, request: Any) -> tuple[str, int]:
        """Fix 32: a request in a dialog goes to the remote target; when its name does
        not resolve, to where the dialog's message came from (not the agent's own port)."""
        try:
            return tuple(self._dialog_target(request))
        except _Unresolved as exc:
            return _fallback_target(request, exc)

    def build_response(self, request: Any, status: Any, **kwargs: Any) -> str:
        """Fix 15: 18x and 2xx to an INVITE copy its Record-Route (RFC 3261 12.1.1)."""
        cseq = request.headers.get("CSeq")
        if 100 < int(status) < 300 and isinstance(cseq, dict) and cseq.get("method") == "INVITE":
            routes = sip_wire.record_routes(request.headers.get("Record-Route"))
            extra = [*(kwargs.get("extra_headers") or []), *(f"Record-Route: {r}" for r in routes)]
            kwargs["extra_headers"] = extra
        return str(self._build(request, status, **kwargs))

    def gen_answer(self, request: Any, sess_id: str, ms: Any, sendtype: Any) -> str:
        """Fix 14: an answer whose SDP changed carries the next o= version (RFC 3264 8)."""
        message = str(self._gen_answer(request, sess_id, ms, sendtype))
        call_id = str(request.headers.get("Call-ID", "")).strip()
        rejected = self.phone.rejected_media.get(call_id)
        if rejected:  # fix 34: one m= line per offered stream, in the offer's order
            message = sip_wire.with_refused_streams(message, rejected)
        message = self._versioned(call_id, message)
        self.dialogs.last_ok[call_id] = (_cseq(request), message)
        return message

    def _versioned(self, call_id: str, message: str) -> str:
        body = sip_wire.without_origin(message.partition("\r\n\r\n")[2])
        previous = self.answers.get(call_id)
        if previous is None:
            first = sip_wire.origin_version(message.partition("\r\n\r\n")[2]) or 0
            self.answers[call_id] = (first, body)
            return message
        version = previous[0] + (body != previous[1])
        self.answers[call_id] = (version, body)
        return sip_wire.with_origin_version(message, version)

    def send_raw(self, data: bytes, target: Any = None) -> None:
        """Fix 13: Allow names the methods the agent answers. Fix 33: where requests go
        is remembered (their answers and the far end's requests are taken from there)."""
        if target is not None and not data.startswith(b"SIP/2.0 "):
            self.peers[str(target[0])] = None
            self.peers.move_to_end(str(target[0]))
            while len(self.peers) > PEERS_KEPT:
                self.peers.popitem(last=False)
        data = sip_gate.without_control(data)  # fix 35: never echo NUL, ESC, BS ...
        try:
            self._send_raw(_ALLOW_LINE.sub(b"Allow: " + ALLOW.encode(), data, count=1), target)
        except OSError as exc:  # no route, or the port closed: nothing to answer it with
            line = data.split(b"\r\n", 1)[0][:80].decode("utf-8", "replace")
            logger.warning("could not send %r to %s: %s", line, target, exc)

    @staticmethod
    def _uac_route_set(response: Any) -> list[str]:
        """Fix 29: the route set of a dialog the agent started: its 2xx's Record-Route,
        reversed (RFC 3261 12.1.2); empty for anything but a 2xx."""
        if response.type != SIPMessageType.RESPONSE or not 200 <= int(response.status) < 300:
            return []
        return sip_wire.record_routes(response.headers.get("Record-Route"))[::-1]

    def gen_ack(self, request: Any, request_uri: str | None = None) -> str:
        """Fix 29: the ACK to a 2xx is a request inside the dialog (RFC 3261 13.2.2.4):
        it carries the route set; the route set is kept for the BYE."""
        message = str(self._gen_ack(request, request_uri=request_uri))
        routes = self._uac_route_set(request)
        if not routes:
            return message
        self.uac_routes[str(request.headers.get("Call-ID"))] = routes
        return sip_wire.route_request(message, routes)[0]

    def ack_target(self, request: Any) -> Any:
        """Fix 29: an ACK with a route set goes to its first route."""
        routes = self._uac_route_set(request)
        try:
            if not routes:
                return self._ack_target(request)
            return self.sip._sip_target_from_uri(sip_wire.next_hop(routes), 5060)
        except _Unresolved as exc:  # fix 32
            return _fallback_target(request, exc)

    def bye(self, request: Any) -> None:
        """Fixes 15 and 16: the BYE carries the route set and is resent until answered
        (fix 29: of a dialog the agent started, the one its ACK carried)."""
        sip = self.sip
        message = str(sip.gen_bye(request))
        routes = self.uac_routes.get(str(request.headers.get("Call-ID"))) or sip_wire.record_routes(
            request.headers.get("Record-Route")
        )
        message, hop = sip_wire.route_request(message, routes)
        try:
            target = sip._sip_target_from_uri(hop, 5060) if hop else sip.dialog_target(request)
        except _Unresolved as exc:  # fix 32
            target = _fallback_target(request, exc)
        headers = dict(sip_wire.header_lines(message.encode()))
        key = (headers.get("call-id", ""), headers.get("cseq", "").split(" ")[0])
        answered = self.byes[key] = threading.Event()
        self.send_raw(message.encode(), target)
        threading.Thread(
            target=self._resend_bye,
            args=(message.encode(), target, key, answered),
            name=f"BYE {key[0]}",
            daemon=True,
        ).start()

    def _resend_bye(
        self, data: bytes, target: Any, key: tuple[str, str], answered: threading.Event
    ) -> None:
        interval, waited = T1, 0.0
        try:
            while waited < 64 * T1 and self.sip.NSD:
                if answered.wait(interval):
                    return
                waited += interval
                logger.debug("[%s] no answer to the BYE yet: sent again", key[0])
                self.send_raw(data, target)
                interval = min(interval * 2, T2)
            if self.sip.NSD:
                logger.warning("[%s] the BYE was not answered in %.0f s", key[0], waited)
        except (OSError, RuntimeError):  # the phone stopped meanwhile
            return
        finally:
            self.byes.pop(key, None)

    def register(self, *_args: Any, **_kwargs: Any) -> bool:
        """Fix 18 (and fix 2 in direct mode): register, and keep registering while running."""
        self._read_whole_datagrams()
        if self.direct:
            return True
        sip, error = self.sip, ""
        try:
            with sip.recvLock:
                registered = bool(sip._SIPClient__register())
        except Exception as exc:
            registered, error = False, f"{type(exc).__name__}: {exc}"
        if registered:
            if self.failures:
                logger.warning("registered again after %d failed attempts", self.failures)
            self.failures = 0
            self.phone._status = PhoneStatus.REGISTERED
            delay = sip_wire.refresh_delay(self.granted)
            logger.info("registered for %d s; registering again in %.0f s", self.granted, delay)
        else:
            self.failures += 1
            delay = sip_wire.retry_delay(self.failures)
            logger.warning(
                "registration failed (%s); trying again in %.0f s", error or "refused", delay
            )
        self._schedule(delay)
        return registered

    def send_register_request(self, request: str, *, action: str) -> Any:
        """Fix 18: a REGISTER is resent at T1 doubling to T2 (RFC 3261 17.1.2.2) for 7.5 s.

        rfcvoip sends it once and waits 30 s, so one REGISTER lost while the
        registrar restarts cost half a minute.
        """
        sip, interval, waited = self.sip, T1, 0.0
        while True:
            sip.send_raw(request.encode("utf8"), sip.signal_target())
            sip.register_timeout = interval
            try:
                return sip._wait_for_transaction_response(request, action=action)
            except TimeoutError:
                waited += interval
                if waited >= REGISTER_GIVE_UP:
                    raise
                logger.info("no answer to the REGISTER in %.1f s: sent again", waited)
                interval = min(interval * 2, T2)

    def _schedule(self, delay: float) -> None:
        sip = self.sip
        if not sip.NSD:
            return
        sip._cancel_pending_register_thread()
        cancel = threading.Event()
        sip._register_cancel_event = cancel
        sip.registerThread = threading.Thread(
            target=self._register_later, args=(delay, cancel), name="SIP register", daemon=True
        )
        sip.registerThread.start()

    def _register_later(self, delay: float, cancel: threading.Event) -> None:
        if not cancel.wait(delay) and self.sip.NSD:
            self.register()

    def _read_whole_datagrams(self) -> None:
        """Fix 17: rfcvoip reads 8 KB of a UDP datagram; read all of it (up to 64 KB)."""
        connection = self.sip.connection
        if connection is None or connection is self._whole_datagrams:
            return
        original = connection.recv_raw_message

        def recv_raw_message() -> bytes:
            self._receiver = threading.get_ident()  # fix 32
            sock = connection.socket
            if sock is None or connection.target.transport != SIPTransport.UDP:
                return bytes(original())
            data, address = sock.recvfrom(sip_wire.MAX_DATAGRAM_BYTES)
            connection.last_recv_address = (str(address[0]), int(address[1]))
            return bytes(data)

        connection.recv_raw_message = recv_raw_message
        self._whole_datagrams = connection


class SipPhone:
    """The agent's SIP user agent: registered with a PBX, or in direct mode."""

    def __init__(
        self,
        listen: Endpoint,
        on_call: Callable[[SipCall], None],
        registrar: Endpoint | None = None,
        user: str = "agent",
        password: str = "",
        rtp_ports: tuple[int, int] = (10000, 20000),
        trusted: list[str] | None = None,
        peer: Endpoint | None = None,
        codecs: Iterable[str] = ("PCMU", "PCMA"),
        register_expires: int = 300,
        rtp_sender: str = "process",
    ) -> None:
        self.direct = registrar is None
        self._trusted = [
            ipaddress.ip_network(net, strict=False) for net in (trusted or ["127.0.0.0/8"])
        ]
        self._on_call = on_call
        order = [CODECS[name] for name in codecs]
        # Direct mode still names a server: the peer calls are placed to (the demo's caller).
        server = registrar or peer or Endpoint("127.0.0.1", listen.port)
        self._phone = _Phone(
            server.host,
            server.port,
            user,
            password,
            myIP=listen.host,
            callCallback=self._incoming,
            sipPort=listen.port,
            rtpPortLow=rtp_ports[0],
            rtpPortHigh=rtp_ports[1],
            audio_bit_depth=16,
            codec_priorities={codec: 2000 - i for i, codec in enumerate(order)},  # fix 12
        )
        self._phone.allowed = frozenset({*order, PayloadType.EVENT})
        self._phone.rejected_media = {}
        self._memory = IdleTrim(quiet=self._quiet)
        self._phone.memory = self._memory
        self._phone.sip.gen_call_id = lambda: unique_call_id(listen)  # fix 5
        self._fixes = _ClientFixes(self._phone, self.direct, register_expires)
        self._phone.forget = self._fixes.forget
        self._registrar_host = _address_of(registrar.host) if registrar else None
        self._resolver = self._fixes.resolver
        self._phone.admits = lambda request: self.admits(_request_source(request))
        self._phone.reinvite = self._fixes.dialogs.reinvite
        self._pacer = self._phone.pacer = RtpPacer(  # fix 20, fix 28
            name=f"RTP pacer {listen.port}",
            sender=RtpSender(f"RTP sender {listen.port}") if rtp_sender == "process" else None,
        )

    def _incoming(self, call: VoIPCall) -> None:
        sip_call = SipCall(call, self._fixes.dialogs, self._fixes.final_statuses)
        if not sip_call.remote_target_ok():
            logger.warning("[%s] refused: the Contact is not a SIP URI", sip_call.call_id)
            sip_call.refuse_malformed()
            return
        if not sip_call.media_address_ok() or not self._resolve_media(call):
            logger.warning("[%s] refused: the offer's media address is unusable", sip_call.call_id)
            sip_call.refuse_media()
            return
        try:
            self._on_call(sip_call)
        except Exception:
            logger.exception("[%s] call handler failed", sip_call.call_id)
            sip_call.hangup()

    def _resolve_media(self, call: VoIPCall) -> bool:
        """Fix 32: an SDP c= host name is resolved here, on the call's own thread (at most
        RESOLVE_WAIT_S), so the pacer and the sender process only ever see addresses."""
        for client in list(getattr(call, "RTPClients", None) or []):
            host = str(getattr(client, "outIP", ""))
            if ip_literal(host) is not None:
                continue
            address = self._resolver.resolve(host, RESOLVE_WAIT_S)
            if address is None:
                return False
            client.outIP = address
        return True

    def admits(self, host: str | None) -> bool:
        """Whether a call from `host` (the datagram's source, fix 9) is taken.

        Direct mode: the trusted networks (sip.trusted). Registered mode: the
        registrar too, since the PBX relays every call; anyone else who sends
        an INVITE straight to the agent's port would be going round the PBX.
        """
        try:
            address = ipaddress.ip_address(host or "")
        except ValueError:
            return False
        if any(address in net for net in self._trusted):
            return True
        return self._registrar_host is not None and str(address) == self._registrar_host

    def _quiet(self) -> bool:
        """No RTP stream paced (fix 36: memory is given back only then)."""
        streams = self._pacer.streams()
        if streams:
            logger.info("%d RTP streams still paced", streams)
        return streams == 0

    def media_faults(self) -> dict[str, int]:
        """Fix 31: how often the RTP sender process was restarted and how many streams
        were dropped (their calls ended) since start; each is also logged at ERROR."""
        return {
            "sender_restarts": self._pacer.sender_restarts,
            "stream_faults": self._pacer.stream_faults,
        }

    def start(self, timeout: float = 10.0) -> None:
        self._resolver.start()
        self._pacer.start()
        try:
            self._phone.start()
        except Exception as exc:
            self._pacer.stop()
            raise SipError(f"SIP could not start: {exc}") from exc
        if self.direct:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if str(self._phone.get_status()).endswith("REGISTERED"):
                return
            time.sleep(0.05)
        raise SipError(f"not registered with the registrar within {timeout:.0f} s")

    def stop(self) -> None:
        try:
            self._phone.stop()
        finally:
            self._pacer.stop()
            self._resolver.stop()
            self._memory.stop()

    def call(self, uri: str) -> SipCall:
        """Place a call (the demo's caller); returns at once, the call rings."""
        try:
            return SipCall(self._phone.call(uri), final_statuses=self._fixes.final_statuses)
        except Exception as exc:
            raise SipError(f"cannot call {uri}: {exc}") from exc


def wait_until_ended(call: SipCall, stop: threading.Event, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not call.ended and not stop.is_set() and time.monotonic() < deadline:
        stop.wait(0.05)
    return call.ended
