"""One call as the agent sees it (ivr.phone.Call), on rfcvoip's VoIPCall."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ivr.phone import FRAME_BYTES
from ivr.sip.library import CallState, InvalidStateError, SIPStatus, VoIPCall
from ivr.sip.media import _PacedRTPClient
from ivr.sip.offer import _SIP_URI, _source_host, _usable_host
from recorder.calls import RtpStats

if TYPE_CHECKING:
    from ivr.sip.dialogs import _Dialogs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int


def unique_call_id(local: Endpoint) -> str:
    return f"{uuid.uuid4().hex}@{local.host}:{local.port}"


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
    def cancel_headers(self) -> tuple[tuple[str, str], ...]:
        """Every header of that CANCEL (name, value), in order; empty when none came."""
        return tuple(getattr(self._call, "cancel_headers", ()))

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
        for client in self._paced():
            client.feed()  # written audio is built into packets here, after any prompt
        self._call.write_audio(pcm16)

    def play(self, pcm16: bytes) -> int:
        """Issue 17: the whole prompt to the media plane, which sends it on the call's own
        clock after what is queued (silence after it); its id comes back from
        `finished_plays` once its last packet is sent."""
        ids = [client.play(pcm16) for client in self._paced()]
        return ids[0] if ids else 0

    def stop_play(self) -> None:
        for client in self._paced():
            client.stop_play()

    def finished_plays(self) -> list[int]:
        paced = self._paced()
        return paced[0].finished_plays() if paced else []

    def _paced(self) -> list[_PacedRTPClient]:
        return [c for c in self._clients() if isinstance(c, _PacedRTPClient)]

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
            if isinstance(client, _PacedRTPClient):
                client.feed()  # the media plane's prompt and silence end here
            output = client.pmout
            output.read(output.available())  # the unsent rest of what came before

    def send_dtmf(self, digits: str) -> bool:
        """Press keys (RFC 4733 telephone-events); False when the far end takes none."""
        for client in self._paced():
            client.feed()  # key presses are built here
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


def wait_until_ended(call: SipCall, stop: threading.Event, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not call.ended and not stop.is_set() and time.monotonic() < deadline:
        stop.wait(0.05)
    return call.ended
