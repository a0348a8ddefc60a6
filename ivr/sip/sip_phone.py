"""The agent's SIP user agent (ivr.phone.Phone) on rfcvoip: what the composition root builds."""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Iterable

from ivr.errors import IvrError
from ivr.flow_timers import ThreadScheduler
from ivr.memory import IdleTrim
from ivr.rtp_pacer import RtpPacer
from ivr.rtp_sender import RtpSender
from ivr.sip.call import Endpoint, SipCall, unique_call_id
from ivr.sip.client import _ClientFixes
from ivr.sip.library import PayloadType, VoIPCall
from ivr.sip.offer import _address_of, _request_source
from ivr.sip.routing import RESOLVE_WAIT_S
from ivr.sip.threads import Started, join_all
from ivr.sip.user_agent import CODECS, _Phone
from ivr.sip_resolve import ip_literal
from ivr.sip_wire import CallerId

logger = logging.getLogger(__name__)
#: How long stop() waits in all for the threads the phone started.
STOP_JOIN_S = 5.0


class SipError(IvrError):
    """The SIP layer could not start or place a call."""


def _ignore_refusal(_code: int) -> None:
    pass


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
        timers: ThreadScheduler | None = None,
        on_refused: Callable[[int], None] | None = None,
    ) -> None:
        """`on_refused(code)` hears of every request the SIP layer refuses or drops, with
        its status code (the agent's metrics count them)."""
        # The SIP retransmissions' scheduler, shared with the call flow's timers when the
        # composition root passes one; stopped (its thread joined) by stop().
        self._timers = timers or ThreadScheduler(name=f"SIP timers {listen.port}")
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
        self._phone.refused = on_refused or _ignore_refusal
        self._phone.rejected_media = {}
        self._phone.started = Started()
        self._library_threads: list[threading.Thread] = []
        self._memory = IdleTrim(quiet=self._quiet)
        self._phone.memory = self._memory
        self._phone.sip.gen_call_id = lambda: unique_call_id(listen)  # fix 5
        self._fixes = _ClientFixes(self._phone, self.direct, register_expires, self._timers)
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
            self._phone.refused(400)
            return
        if not sip_call.media_address_ok() or not self._resolve_media(call):
            logger.warning("[%s] refused: the offer's media address is unusable", sip_call.call_id)
            sip_call.refuse_media()
            self._phone.refused(488)
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
        self._timers.start()
        before = set(threading.enumerate())
        try:
            self._phone.start()
            # The library keeps no handle on its receive thread: the one it just started.
            self._library_threads = [
                t for t in threading.enumerate() if t not in before and t.name == "SIP Receive"
            ]
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
        """Stop the phone (its calls hung up, ringing ones refused) and join every thread
        it started, within STOP_JOIN_S in all: the library's SIP receiver, REGISTER
        refresh and per-call threads, the RTP receivers, the pacer, the resolver, the
        memory trimmer and the timers. Those still running are named in the log."""
        try:
            self._phone.stop()
        finally:
            self._pacer.stop()
            self._resolver.stop()
            self._memory.stop()
            self._timers.close()
            register = self._phone.sip.registerThread
            library = [*self._library_threads, *([register] if register else [])]
            left = join_all([*library, *list(self._phone.threads)], STOP_JOIN_S)
            left += self._phone.started.join(STOP_JOIN_S)
            if left:
                logger.warning("still running after the phone stopped: %s", ", ".join(left))

    def call(self, uri: str, caller_id: CallerId | None = None) -> SipCall:
        """Place a call; returns once it rings (or fails). `caller_id`: what the called
        phone shows (a call to a resident: the site's name and number)."""
        if caller_id is not None:
            self._fixes.caller_ids[uri] = caller_id
        try:
            return SipCall(self._phone.call(uri), final_statuses=self._fixes.final_statuses)
        except Exception as exc:
            raise SipError(f"cannot call {uri}: {exc}") from exc
        finally:
            if caller_id is not None:
                self._fixes.caller_ids.pop(uri, None)
