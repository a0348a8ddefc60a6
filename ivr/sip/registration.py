"""Registration (fixes 2, 17, 18): the granted expiry honoured, failures retried with
back-off for as long as the phone runs, each REGISTER resent at T1 doubling to T2."""

from __future__ import annotations

import logging
import threading
from typing import Any

from ivr import sip_wire
from ivr.sip.library import PhoneStatus, SIPTransport
from ivr.sip.timers import REGISTER_GIVE_UP, T1, T2

logger = logging.getLogger(__name__)


class _Registration:
    """Registering and its refresh; mixed into _ClientFixes (ivr/sip/client.py).

    The refresh waits on a thread of its own (the library's `registerThread` slot, one
    at a time): a REGISTER transaction blocks in rfcvoip's
    `_wait_for_transaction_response`, so it cannot run on the shared scheduler.
    """

    sip: Any
    phone: Any
    direct: bool
    granted: int
    failures: int
    _whole_datagrams: Any
    _receiver: int | None

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
