"""The wrappers put on rfcvoip's live SIPClient (fixes 6, 8, 13-17, 24, 29-35): what
it parses, answers and sends, and what is kept per call."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable
from typing import Any

from ivr import sip_gate, sip_wire
from ivr.flow_timers import Scheduler
from ivr.sip.dialogs import _cseq, _Dialogs
from ivr.sip.library import SIPMessageType, SIPParseError
from ivr.sip.registration import _Registration
from ivr.sip.routing import _Routing
from ivr.sip.timers import T1
from ivr.sip.user_agent import _ALLOW_LINE, ALLOW, _Phone
from ivr.sip_resolve import Resolver

logger = logging.getLogger(__name__)
#: Final statuses of the agent's INVITEs kept for SipCall.final_status (fix 24), newest last.
FINAL_STATUSES_KEPT = 1024
#: Tags given out that a new one is checked against (fix 30), newest last.
TAGS_KEPT = 4096
#: Addresses the agent sent requests to, whose responses and requests it takes (fix 33).
PEERS_KEPT = 256


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


class _ClientFixes(_Routing, _Registration):
    """The wrappers put on one rfcvoip SIPClient (fixes 6, 8, 13-18) and their per-call state.

    Where messages go is in _Routing (ivr/sip/routing.py), registering in _Registration
    (ivr/sip/registration.py); retransmissions run on `timers` (ivr/sip/timers.py)."""

    def __init__(self, phone: _Phone, direct: bool, expires: int, timers: Scheduler) -> None:
        self.phone, self.sip, self.direct, self.timers = phone, phone.sip, direct, timers
        self.dialogs = _Dialogs(phone, timers)
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
        self._gen_invite, sip.gen_invite = sip.gen_invite, self.gen_invite
        self.caller_ids: dict[str, sip_wire.CallerId] = {}
        """URI dialled -> the caller ID its INVITE shows, while it is being placed."""
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
        self.cancelled: OrderedDict[tuple[str, str], float] = OrderedDict()
        """(Call-ID, CSeq number) -> when the INVITE was CANCELled, for 64*T1 (fix 37)."""
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

    def gen_invite(self, number: str, *args: Any) -> str:
        """A call placed to a resident shows the site's caller ID (sip.caller_id_name and
        _number): From and P-Asserted-Identity; the library's own From otherwise. Also
        the INVITE sent again with credentials after a 401/407 (the library makes it here)."""
        invite: str = self._gen_invite(number, *args)
        shown = self.caller_ids.get(number)
        return sip_wire.with_caller_id(invite, shown) if shown is not None else invite

    def parse_message(self, message: Any) -> None:
        call_id = str(message.headers.get("Call-ID", "")).strip()
        refused = self._foreign(message, call_id)
        if refused is not None:  # fix 33
            logger.info("discarded %s", refused)
            return
        if getattr(message, "method", None) == "ACK" and self.phone.has_call_id(call_id):
            self.dialogs.ack(message, call_id)  # fixes 6, 21, 22: the library drops ACKs unseen
        if getattr(message, "method", None) == "CANCEL" and self._cancelled_again(message, call_id):
            return
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

    def _cancelled_again(self, message: Any, call_id: str) -> bool:
        """Fix 37: a CANCEL for an INVITE already cancelled gets 200 OK again, not 481.

        The INVITE's server transaction lives 64*T1 after its 487 (RFC 3261 17.2.1),
        so a CANCEL that matches it is answered 200 (9.2) and changes nothing; rfcvoip
        forgets the call at once and answered 481. Kamailio sends a second CANCEL to a
        branch whose first provisional came after the winner's 2xx (docs/ring-groups.md).
        True when answered here."""
        key, now = (call_id, _cseq(message)), time.monotonic()
        while self.cancelled and now - next(iter(self.cancelled.values())) > 64 * T1:
            self.cancelled.popitem(last=False)
        if self.phone.has_call_id(call_id):  # the library answers 200 and 487, ends the call
            self.cancelled[key] = now
            while len(self.cancelled) > FINAL_STATUSES_KEPT:
                self.cancelled.popitem(last=False)
            return False
        if key not in self.cancelled:
            return False  # no such INVITE: the library's 481 is right
        logger.info("[%s] CANCEL again for a cancelled INVITE: 200 OK", call_id)
        self.sip.send_response(message, self.sip.gen_ok(message))
        return True

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
        self.phone.refused(code)
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
