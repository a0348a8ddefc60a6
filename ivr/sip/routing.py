"""Where the agent's messages go (fixes 15, 16, 29, 32): responses to the request's
source, requests in a dialog along its route set, and the BYE resent until answered."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ivr import sip_wire
from ivr.flow_timers import Scheduler
from ivr.sip.library import SIPMessageType
from ivr.sip.timers import Retransmission
from ivr.sip_resolve import Resolver

logger = logging.getLogger(__name__)
#: How long a call's own thread waits for a host name (fix 32; never the receive thread).
RESOLVE_WAIT_S = 2.0


class _Unresolved(OSError):
    """A host name the agent would send to has no address (yet): fix 32."""


def _fallback_target(message: Any, why: Exception) -> tuple[str, int]:
    """Fix 32: where a message of a dialog came from, for a target whose name has no
    address; OSError when not known (the send is then logged and dropped)."""
    source = getattr(message, "source_address", None)
    if source is None:
        raise why
    logger.info("%s: sending to %s:%s, where the dialog's message came from", why, *source)
    return str(source[0]), int(source[1])


class _Routing:
    """Where the agent's messages go; mixed into _ClientFixes (ivr/sip/client.py)."""

    sip: Any
    timers: Scheduler
    resolver: Resolver
    byes: dict[tuple[str, str], threading.Event]
    uac_routes: dict[str, list[str]]
    _receiver: int | None
    _response_target: Callable[[Any], Any]
    _dialog_target: Callable[[Any], Any]
    _gen_ack: Callable[..., Any]
    _ack_target: Callable[[Any], Any]

    def send_raw(self, data: bytes, target: Any = None) -> None:
        raise NotImplementedError  # _ClientFixes.send_raw

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
        self._resend_bye(message.encode(), target, key, answered)

    def _resend_bye(
        self, data: bytes, target: Any, key: tuple[str, str], answered: threading.Event
    ) -> None:
        """Fix 16: the BYE again at T1 doubling to T2 (RFC 3261 17.1.2.2) until answered
        or the phone stops, on the phone's scheduler."""
        stopped = threading.Event()

        def again() -> None:
            logger.debug("[%s] no answer to the BYE yet: sent again", key[0])
            try:
                self.send_raw(data, target)
            except (OSError, RuntimeError):  # the phone stopped meanwhile
                stopped.set()

        def give_up(waited: float) -> None:
            if self.sip.NSD and not stopped.is_set():
                logger.warning("[%s] the BYE was not answered in %.0f s", key[0], waited)

        Retransmission(
            self.timers,
            again,
            lambda: answered.is_set() or stopped.is_set() or not self.sip.NSD,
            give_up,
            finished=lambda: self._forget_bye(key),
        ).start()

    def _forget_bye(self, key: tuple[str, str]) -> None:
        self.byes.pop(key, None)
