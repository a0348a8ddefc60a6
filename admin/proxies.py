"""The client's address behind a reverse proxy, trusted only from configured proxies.

Behind nginx every request comes from the proxy's address, so a per-address login
throttle locked everyone out together, and the audit named the proxy. The proxy
says who the client is in X-Forwarded-For; any client can send that header too, so
it is read only when the peer is in `admin.trusted_proxies`, and then from the right:
each trusted hop appended the address it saw, and the first address that is not a
trusted proxy is the client (anything left of it was written by the client itself).
Werkzeug's ProxyFix trusts a number of hops whatever their address; this checks them.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(__name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


class TrustedProxies:
    """WSGI middleware: REMOTE_ADDR becomes the client's address when the peer is a
    trusted proxy; the proxy's own address is kept in `hotline.proxy`."""

    def __init__(self, app: Any, networks: Iterable[str]) -> None:
        self.app = app
        self.networks: list[Network] = [ipaddress.ip_network(n, strict=False) for n in networks]

    def trusted(self, address: Address | None) -> bool:
        return address is not None and any(address in net for net in self.networks)

    def client(self, peer: str, forwarded: str) -> str:
        """The client's address, given the TCP peer and its X-Forwarded-For header."""
        if not self.trusted(_address(peer)):
            return peer
        client = peer
        for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
            address = _address(hop)
            if address is None:
                break  # not an address: stop at the last hop a trusted proxy vouched for
            client = str(address)
            if not self.trusted(address):
                break
        return client

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        peer = environ.get("REMOTE_ADDR", "")
        if self.networks and peer:
            client = self.client(peer, environ.get("HTTP_X_FORWARDED_FOR", ""))
            if client != peer:
                environ["hotline.proxy"] = peer
                environ["REMOTE_ADDR"] = client
        return self.app(environ, start_response)
