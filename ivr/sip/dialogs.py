"""The 2xx to each INVITE until its ACK, and offers in a 2xx (fixes 6, 21, 22)."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import TYPE_CHECKING, Any

from ivr.flow_timers import Scheduler
from ivr.sip.library import (
    CallState,
    InvalidStateError,
    _media_port_is_enabled,
    _media_rtp_targets,
    _media_transmit_type,
    _media_uses_supported_rtp_profile,
    _negotiate_local_transmit_type,
)
from ivr.sip.offer import _audio_media
from ivr.sip.timers import Retransmission

if TYPE_CHECKING:
    from ivr.sip.user_agent import _Phone

logger = logging.getLogger(__name__)


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

    def __init__(self, phone: _Phone, timers: Scheduler) -> None:
        self.phone, self.sip, self.timers = phone, phone.sip, timers
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
        self._resend_until_ack(call, request, ok, acked)

    def _resend_until_ack(self, call: Any, request: Any, ok: str, acked: threading.Event) -> None:
        """Resend the 2xx at T1 doubling to T2 on the phone's scheduler until the ACK
        (or the call's end); BYE after 64 x T1 without one (RFC 3261 13.3.1.4)."""

        def again() -> None:
            logger.debug("[%s] no ACK yet: 200 OK (CSeq %s) again", call.call_id, _cseq(request))
            with contextlib.suppress(OSError, RuntimeError):
                self.sip.send_response(request, ok)

        def give_up(waited: float) -> None:
            logger.warning("[%s] no ACK for the 200 OK in %.0f s: hanging up", call.call_id, waited)
            with contextlib.suppress(InvalidStateError, OSError, RuntimeError):
                call.hangup()

        Retransmission(
            self.timers,
            again,
            lambda: acked.is_set() or call.state == CallState.ENDED,
            give_up,
        ).start()

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
            for client in call._rtp_clients_snapshot():
                _moved(client)  # the offer may name another address or mode
            sent = self.last_ok.get(call_id)
            if sent is not None and sent[0] == cseq:
                acked, _new = self._ack_event(call_id, cseq)
                self._resend_until_ack(call, request, sent[1], acked)
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
            _moved(client)
        logger.info("[%s] answer in the ACK: RTP to %s:%s, %s", call.call_id, host, port, mode)


def _moved(client: Any) -> None:
    """Tell a stream the media plane sends (ivr/sip/media.py) that its far end changed."""
    moved = getattr(client, "moved", None)
    if moved is not None:
        moved()
