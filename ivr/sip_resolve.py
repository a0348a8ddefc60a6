"""Host names the agent must send to, resolved off the SIP receive thread (fix 32).

rfcvoip resolved names where it sent: a response to a Via naming a host, the
ACK to a stray 200 OK's Contact, all on the one thread that reads SIP. On a
site whose DNS server cannot be reached, each such datagram made the agent deaf
for the resolver's timeout (9.9 s; five datagrams, 50 s without a call
answered). Now responses go to the address a request came from (RFC 3581,
RFC 3261 18.2.2) and never need a name; what the agent itself sends to a name
(a BYE to a Contact, media to an SDP c= host) goes through `Resolver`:

- `address(host)` never blocks: an IP literal is itself, a name is taken from
  the cache or is None (and its lookup is started in the background);
- `resolve(host, timeout)` waits at most `timeout` for the background lookup
  (for a call's own thread, never the receive thread);
- one worker thread does the lookups, one at a time, from a bounded queue; the
  cache keeps CACHE_SIZE names, answers for CACHE_S and failures for FAILED_S.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import queue
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

logger = logging.getLogger(__name__)

CACHE_SIZE = 256
CACHE_S = 300.0
FAILED_S = 30.0
QUEUE_SIZE = 64


def ip_literal(host: str) -> str | None:
    """`host` as an IP address string, or None when it is a name."""
    try:
        return str(ipaddress.ip_address(host.strip().strip("[]")))
    except ValueError:
        return None


def _lookup(host: str) -> str | None:
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_DGRAM)
    except (OSError, UnicodeError):
        return None
    return str(infos[0][4][0]) if infos else None


class Resolver:
    """A bounded, time-limited cache of name lookups done by one background thread."""

    def __init__(self, lookup: Callable[[str], str | None] = _lookup) -> None:
        self._lookup = lookup
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[float, str | None]] = OrderedDict()
        self._pending: dict[str, threading.Event] = {}
        self._queue: queue.Queue[str | None] = queue.Queue(QUEUE_SIZE)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="SIP resolver", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
            thread.join(timeout)  # a lookup in progress may outlast it: the thread is a daemon

    def address(self, host: str) -> str | None:
        """The IP address for `host` now, without waiting: None when not (yet) known."""
        literal = ip_literal(host)
        if literal is not None:
            return literal
        event = self._start(host.lower().rstrip("."))
        if event is None:
            with self._lock:
                entry = self._cache.get(host.lower().rstrip("."))
            return entry[1] if entry else None
        return None

    def resolve(self, host: str, timeout: float) -> str | None:
        """The IP address for `host`, waiting at most `timeout` s (not on the receive thread)."""
        literal = ip_literal(host)
        if literal is not None:
            return literal
        name = host.lower().rstrip(".")
        event = self._start(name)
        if event is not None:
            event.wait(timeout)
        with self._lock:
            entry = self._cache.get(name)
        return entry[1] if entry else None

    def _start(self, name: str) -> threading.Event | None:
        """None when the cache answers; else the event set when the lookup is done."""
        now = time.monotonic()
        with self._lock:
            entry = self._cache.get(name)
            if entry is not None and entry[0] > now:
                return None
            event = self._pending.get(name)
            if event is not None:
                return event
            event = self._pending[name] = threading.Event()
        try:
            self._queue.put_nowait(name)
        except queue.Full:
            with self._lock:
                self._pending.pop(name, None)
            event.set()
            logger.warning("too many host names waiting to be resolved: %s is not", name)
        return event

    def _run(self) -> None:
        while True:
            name = self._queue.get()
            if name is None:
                return
            started = time.monotonic()
            address = self._lookup(name)
            took = time.monotonic() - started
            if address is None:
                logger.warning("host name %s does not resolve (%.1f s)", name, took)
            with self._lock:
                ttl = CACHE_S if address is not None else FAILED_S
                self._cache[name] = (time.monotonic() + ttl, address)
                self._cache.move_to_end(name)
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
                event = self._pending.pop(name, None)
            if event is not None:
                event.set()
