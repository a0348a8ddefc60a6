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

Audio crosses this boundary as 8 kHz 16-bit signed little-endian mono; the
library converts to and from PCMU/PCMA and paces RTP itself.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import rfcvoip
from rfcvoip.SIP import SIPStatus
from rfcvoip.VoIP import CallState, InvalidStateError, VoIPCall, VoIPPhone

from hotline.errors import HotlineError

logger = logging.getLogger(__name__)
FRAME_BYTES = 320  # 20 ms of 8 kHz 16-bit mono


class SipError(HotlineError):
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


class _Phone(VoIPPhone):
    """VoIPPhone without the fixed 1 s before the application sees a call (fix 1),
    answering every new INVITE with 100 Trying at once (fix 0)."""

    def _callback_MSG_Invite(self, request: Any) -> None:
        call_id = str(request.headers.get("Call-ID", "") or "").strip()
        if call_id and not self.has_call_id(call_id):  # not a re-INVITE of a known call
            try:
                self.sip.send_response(request, self.sip.gen_response(request, SIPStatus.TRYING))
            except Exception:  # a malformed request: the library answers it below
                logger.debug("no 100 Trying for %s", call_id, exc_info=True)
        super()._callback_MSG_Invite(request)

    @staticmethod
    def _run_call_callback(callback: Callable[[Any], None], call: Any, delay: float = 0.0) -> None:
        VoIPPhone._run_call_callback(callback, call, delay=0.0)


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int


def unique_call_id(local: Endpoint) -> str:
    return f"{uuid.uuid4().hex}@{local.host}:{local.port}"


#: RFC 3261 17.2.1: the 200 OK to an INVITE is resent at T1, doubling to T2,
#: until the ACK arrives; without an ACK after 64 x T1 the call is ended.
T1, T2 = 0.5, 4.0


class SipCall:
    """One call, as the agent sees it."""

    def __init__(self, call: VoIPCall, acked: Callable[[str], bool] = lambda _cid: True) -> None:
        self._call = call
        self._acked = acked
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
        ok = call.sip.gen_answer(call.request, call.session_id, call.gen_ms(), call.sendmode)
        call.sip.send_response(call.request, ok)
        call._set_state(CallState.ANSWERED)
        threading.Thread(
            target=self._resend_until_ack, args=(ok,), name=f"200 {self.call_id}", daemon=True
        ).start()
        return True

    def _resend_until_ack(self, ok: str) -> None:
        interval, waited = T1, 0.0
        while waited < 64 * T1:
            time.sleep(interval)
            waited += interval
            if self._acked(self.call_id) or self.ended:
                return
            logger.debug("[%s] no ACK yet: 200 OK again", self.call_id)
            self._call.sip.send_response(self._call.request, ok)
            interval = min(interval * 2, T2)
        logger.warning("[%s] no ACK for the 200 OK in %.0f s: hanging up", self.call_id, waited)
        self.hangup()

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
    source = getattr(getattr(call, "request", None), "source_address", None)
    return str(source[0]) if source else None


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
    ) -> None:
        self.direct = registrar is None
        self._trusted = [
            ipaddress.ip_network(net, strict=False) for net in (trusted or ["127.0.0.0/8"])
        ]
        self._on_call = on_call
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
        )
        if self.direct:
            self._phone.sip.register = lambda *_a, **_k: True  # fix 2: no registrar to talk to
        self._phone.sip.gen_call_id = lambda: unique_call_id(listen)  # fix 5
        self._acks: set[str] = set()
        original = self._phone.sip.parse_message

        def parse_message(message: Any) -> None:
            if getattr(message, "method", None) == "ACK":  # fix 6: the library drops ACKs unseen
                self._acks.add(str(message.headers.get("Call-ID", "")).strip())
            try:
                original(message)
            except Exception as exc:  # fix 8: one bad message must not end the receive thread
                logger.warning(
                    "dropped a SIP message the library could not handle (%s: %s): %.120r",
                    type(exc).__name__,
                    exc,
                    getattr(message, "start_line", None) or getattr(message, "heading", b""),
                )

        self._phone.sip.parse_message = parse_message

    def _incoming(self, call: VoIPCall) -> None:
        sip_call = SipCall(call, acked=self._acks.__contains__)
        if self.direct and not self._is_trusted(sip_call.source):
            logger.warning(
                "[%s] refused: %s is not a trusted source", sip_call.call_id, sip_call.source
            )
            sip_call.forbid()
            return
        if not sip_call.remote_target_ok():
            logger.warning("[%s] refused: the Contact is not a SIP URI", sip_call.call_id)
            sip_call.refuse_malformed()
            return
        if not sip_call.media_address_ok():
            logger.warning("[%s] refused: the offer's media address is unusable", sip_call.call_id)
            sip_call.refuse_media()
            return
        try:
            self._on_call(sip_call)
        except Exception:
            logger.exception("[%s] call handler failed", sip_call.call_id)
            sip_call.hangup()

    def _is_trusted(self, host: str | None) -> bool:
        try:
            address = ipaddress.ip_address(host or "")
        except ValueError:
            return False
        return any(address in net for net in self._trusted)

    def start(self, timeout: float = 10.0) -> None:
        try:
            self._phone.start()
        except Exception as exc:
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
        self._phone.stop()

    def call(self, uri: str) -> SipCall:
        """Place a call (the demo's caller); returns at once, the call rings."""
        try:
            return SipCall(self._phone.call(uri))
        except Exception as exc:
            raise SipError(f"cannot call {uri}: {exc}") from exc


def wait_until_ended(call: SipCall, stop: threading.Event, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not call.ended and not stop.is_set() and time.monotonic() < deadline:
        stop.wait(0.05)
    return call.ended
