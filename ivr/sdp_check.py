"""Every SDP field that reaches a socket or a number type, checked before a call is taken.

PROTOS c07-sip case 0003978 offers `m=audio 65536`: rfcvoip took the port as it
was, the call was answered, and `sendto()` raised OverflowError in the RTP sender
process and in the pacer thread, which both died: every later call was answered
in silence. Here the offer (or answer) is read as text, independently of the
library's parser, and refused with the reason when a field is out of range:

- m= port 0 to 65535 (0: a refused stream, RFC 3264 6); a stream the agent
  would send to needs 1 to 65535; a port count (`/n`) 1 to 65535;
- RTP payload types (m= formats of RTP/AVP and its profiles, a=rtpmap,
  a=fmtp) 0 to 127 (RFC 3550 5.1: seven bits);
- a=ptime a positive number of milliseconds up to 10 s (RFC 4566 6);
- c= an IPv4 or IPv6 address of the family it names, or a host name (RFC 4566
  5.7); no broadcast or multicast address for a unicast call.

Pure functions over text: nothing here imports the SIP library.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

MAX_PTIME_MS = 10_000
_HOST_NAME = re.compile(
    r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z][A-Za-z0-9-]{0,62}\.?"
)
_NUMBER = re.compile(r"\d{1,9}(\.\d{1,6})?")


@dataclass(frozen=True)
class Media:
    """One m= section as offered: its media type and port (0: refused)."""

    kind: str
    port: int
    proto: str
    formats: tuple[str, ...]
    line: str


def sections(body: str) -> list[Media]:
    """The m= lines of an SDP body, in order (nothing checked)."""
    found = []
    for line in body.replace("\r\n", "\n").split("\n"):
        if not line.startswith("m="):
            continue
        fields = line[2:].split()
        port = fields[1].split("/", 1)[0] if len(fields) > 1 else ""
        found.append(
            Media(
                kind=fields[0].lower() if fields else "",
                port=int(port) if port.isdigit() and len(port) < 7 else -1,
                proto=fields[2] if len(fields) > 2 else "",
                formats=tuple(fields[3:]),
                line=line.strip(),
            )
        )
    return found


def problem(body: str) -> str | None:
    """Why this SDP cannot be used for a call (a short reason for the log), or None."""
    for raw in body.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if line.startswith("m="):
            reason = _media_problem(line)
        elif line.startswith("c="):
            reason = _connection_problem(line)
        elif line.startswith("a=rtpmap:") or line.startswith("a=fmtp:"):
            value = line.split(":", 1)[1].split(None, 1)[0] if " " in line else ""
            reason = None if _payload_type_ok(value) else f"payload type {value[:20]!r}"
        elif line.startswith("a=ptime:"):
            value = line.split(":", 1)[1].strip()
            reason = None if _ptime_ok(value) else f"ptime {value[:20]!r}"
        else:
            reason = None
        if reason is not None:
            return reason
    return None


def _media_problem(line: str) -> str | None:
    fields = line[2:].split()
    if len(fields) < 3:
        return f"m= line {line[:60]!r}"
    port, _slash, count = fields[1].partition("/")
    if not (port.isdigit() and len(port) <= 5 and int(port) <= 65535):
        return f"m= port {port[:20]!r}"
    if count and not (count.isdigit() and len(count) <= 5 and 1 <= int(count) <= 65535):
        return f"m= port count {count[:20]!r}"
    if "RTP/" in fields[2].upper():
        for fmt in fields[3:]:
            if not _payload_type_ok(fmt):
                return f"payload type {fmt[:20]!r}"
    return None


def _payload_type_ok(value: str) -> bool:
    return value.isdigit() and len(value) <= 3 and int(value) <= 127


def _ptime_ok(value: str) -> bool:
    return bool(_NUMBER.fullmatch(value)) and 0 < float(value) <= MAX_PTIME_MS


def _connection_problem(line: str) -> str | None:
    fields = line[2:].split()
    if len(fields) != 3 or fields[0] != "IN" or fields[1] not in ("IP4", "IP6"):
        return f"c= line {line[:60]!r}"
    address = fields[2].split("/", 1)[0]
    if not usable_address(address, fields[1]):
        return f"c= address {address[:60]!r}"
    return None


def usable_address(address: str, family: str = "IP4") -> bool:
    """An address media may be sent to: a unicast IP of `family`, or a host name."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return bool(_HOST_NAME.fullmatch(address)) and not address.replace(".", "").isdigit()
    if (ip.version == 4) != (family == "IP4"):
        return False
    return not (
        ip.is_multicast or (ip.version == 4 and ip == ipaddress.IPv4Address("255.255.255.255"))
    )


def port_ok(port: object) -> bool:
    """A port a datagram can be sent to."""
    return isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535


def sendable(address: object) -> bool:
    """A (host, port) `sendto` takes without raising anything but OSError: an IP address
    literal (never a name: no resolution in the media plane) and a port of 1 to 65535."""
    if not isinstance(address, tuple) or len(address) < 2:
        return False
    host, port = address[0], address[1]
    if not isinstance(host, str) or not port_ok(port):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
