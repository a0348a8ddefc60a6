"""SIP text the adapter reads or rewrites itself: pure functions over str and bytes.

ivr/sip/ uses these where rfcvoip gets a message wrong (fixes 12
to 17 there); nothing here imports the SIP library, so each rule is tested
on its own (tests/sip/test_adapter.py).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

#: RFC 3261 7.3.3: the compact forms of the headers a response is built from.
_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact"}
_PARAM_EXPIRES = re.compile(r";\s*expires\s*=\s*(\d+)", re.IGNORECASE)
_ORIGIN = re.compile(r"^(o=\S+ \S+ )(\d+)( .*)$", re.MULTILINE)

#: A request longer than this is refused with 513 Message Too Large (RFC 3261
#: 21.5.11). An audio call's INVITE is 1-4 KB even with ICE candidates; rfcvoip
#: read 8 KB of a datagram and dropped the rest unanswered.
MAX_MESSAGE_BYTES = 16384
#: The largest UDP datagram (what the receive buffer must hold to see a whole one).
MAX_DATAGRAM_BYTES = 65535


def header_lines(raw: bytes) -> list[tuple[str, str]]:
    """(lower-case long name, value) of each header line up to the first empty line, unfolded."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines: list[str] = []
    for line in head.split("\r\n")[1:]:
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    result = []
    for line in lines:
        name, colon, value = line.partition(":")
        if colon and name.strip():
            key = name.strip().lower()
            result.append((_COMPACT.get(key, key), value.strip()))
    return result


def split_values(value: str) -> list[str]:
    """A comma-separated header value split at top-level commas (not inside <> or quotes)."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(value):
        if char == '"' and (i == 0 or value[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and char == "<":
            depth += 1
        elif not quoted and char == ">":
            depth = max(0, depth - 1)
        elif not quoted and depth == 0 and char == ",":
            parts.append(value[start:i].strip())
            start = i + 1
    parts.append(value[start:].strip())
    return [p for p in parts if p]


def refusal(raw: bytes, code: int, phrase: str) -> bytes | None:
    """A final response to a request the library could not take, built from its raw headers.

    None when there is nothing to answer: a response, an ACK (never answered,
    RFC 3261 17.2.1), or a request without the Via, From, To, Call-ID and
    CSeq a response needs (RFC 3261 8.2.6.2).
    """
    start = raw.split(b"\r\n", 1)[0].decode("utf-8", "replace").split(" ")
    if len(start) != 3 or start[2] != "SIP/2.0" or start[0] in ("ACK", "SIP/2.0"):
        return None
    headers = header_lines(raw)
    first = {name: value for name, value in reversed(headers)}
    if not all(first.get(h) for h in ("via", "from", "to", "call-id", "cseq")):
        return None
    to = first["to"]
    if not re.search(r";\s*tag=", to.rsplit(">", 1)[-1]):
        to += f";tag={secrets.token_hex(4)}"
    vias = [v for name, value in headers if name == "via" for v in split_values(value)]
    lines = [f"SIP/2.0 {code} {phrase}"]
    lines += [f"Via: {via}" for via in vias]
    lines += [f"From: {first['from']}", f"To: {to}", f"Call-ID: {first['call-id']}"]
    lines += [f"CSeq: {first['cseq']}", "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def granted_expires(raw: bytes, contact_host_port: str, default: int) -> int:
    """How long a REGISTER's 200 OK keeps this binding (RFC 3261 10.2.4).

    The registrar may shorten what was asked for: the Contact naming this
    agent carries it as `expires=`, else the Expires header, else `default`.
    """
    headers = header_lines(raw)
    for name, value in headers:
        if name != "contact":
            continue
        for contact in split_values(value):
            params = contact.split(">", 1)[1] if contact.lstrip().startswith("<") else contact
            match = _PARAM_EXPIRES.search(params)
            if contact_host_port in contact and match:
                return int(match.group(1))
    for name, value in headers:
        if name == "expires" and value.isdigit():
            return int(value)
    return default


def refresh_delay(expires: int) -> float:
    """When to register again: half-way for short bindings, 30 s before expiry for long ones."""
    return max(1.0, expires - min(30.0, expires / 2))


def retry_delay(failures: int) -> float:
    """Seconds before the next REGISTER after `failures` failed in a row (1, 2, 4 ... 32)."""
    return float(min(32, 2 ** max(0, failures - 1)))


def record_routes(record_route: str | None) -> list[str]:
    """The route set a UAS keeps from an INVITE's Record-Route, in its order (RFC 3261 12.1.1)."""
    return split_values(record_route or "")


def route_request(message: str, routes: list[str]) -> tuple[str, str | None]:
    """A request inside a dialog with its route set (RFC 3261 12.2.1.1).

    Returns the request with Route headers and the URI of the next hop (None:
    send to the Request-URI). Loose routing (`;lr` on the first route): the
    Request-URI stays the remote target, every route is a Route header.
    Strict routing: the first route becomes the Request-URI and the remote
    target is the last Route.
    """
    if not routes:
        return message, None
    start, rest = message.split("\r\n", 1)
    method, target, version = start.split(" ")
    first = next_hop(routes)
    if ";lr" in first.lower():
        route_lines = "".join(f"Route: {r}\r\n" for r in routes)
        hop = first
    else:
        route_lines = "".join(f"Route: {r}\r\n" for r in [*routes[1:], f"<{target}>"])
        target = first.split("?", 1)[0]
        hop = first
    return f"{method} {target} {version}\r\n{route_lines}{rest}", hop


def next_hop(routes: list[str]) -> str:
    """Where a request with this route set is sent: its first route's URI, loose
    routing or strict (RFC 3261 12.2.1.1); `route_request` puts the same one first."""
    return _uri(routes[0])


def _uri(name_addr: str) -> str:
    value = name_addr.strip()
    if "<" in value and ">" in value:
        value = value.split("<", 1)[1].split(">", 1)[0]
    return value.strip()


_URI_HOST = re.compile(
    r"\s*<?\s*sips?:(?:[^@;>?\s]*@)?(\[[0-9A-Fa-f:.]+\]|[^:;>?\s]+)(?::(\d{1,5}))?([^>?\s]*)",
    re.IGNORECASE,
)


def uri_host_port(uri: str, default_port: int = 5060) -> tuple[str | None, int]:
    """The host (maddr if the URI names one, RFC 3261 19.1.1) and port a SIP URI points
    to, nothing resolved; (None, port) when there is none or the port is out of range."""
    match = _URI_HOST.match(uri or "")
    if match is None:
        return None, default_port
    host = match.group(1).strip("[]")
    port = int(match.group(2) or default_port)
    for param in match.group(3).split(";"):
        name, _eq, value = param.partition("=")
        if name.strip().lower() == "maddr" and value.strip():
            host = value.strip()
    if not 1 <= port <= 65535:
        return None, default_port
    return host, port


def origin_version(body: str) -> int | None:
    """The session version of an SDP's o= line."""
    match = _ORIGIN.search(body)
    return int(match.group(2)) if match else None


def with_origin_version(message: str, version: int) -> str:
    """A SIP message whose SDP o= line carries `version`, Content-Length set to match."""
    head, sep, body = message.partition("\r\n\r\n")
    if not sep:
        return message
    body = _ORIGIN.sub(lambda m: f"{m.group(1)}{version}{m.group(3)}", body, count=1)
    head = re.sub(
        r"^Content-Length: *\d+",
        f"Content-Length: {len(body.encode())}",
        head,
        flags=re.MULTILINE | re.IGNORECASE,
    )
    return f"{head}\r\n\r\n{body}"


def with_refused_streams(message: str, refused: list[tuple[int, str]]) -> str:
    """An answer with a port-0 m= line at each refused stream's position (RFC 3264 6:
    as many m= lines as the offer, in its order), Content-Length set to match."""
    head, sep, body = message.partition("\r\n\r\n")
    if not sep:
        return message
    parts = body.split("\r\nm=")
    session, answered = parts[0], [f"m={p}" for p in parts[1:]]
    sections: list[str] = []
    lines = dict(refused)
    total = len(answered) + len(refused)
    for position in range(total):
        if position in lines:
            sections.append(lines[position])
        elif answered:
            sections.append(answered.pop(0).removesuffix("\r\n"))
    sections += [a.removesuffix("\r\n") for a in answered]
    new_body = "\r\n".join([session, *sections]) + "\r\n"
    head = re.sub(
        r"^Content-Length: *\d+",
        f"Content-Length: {len(new_body.encode())}",
        head,
        flags=re.MULTILINE | re.IGNORECASE,
    )
    return f"{head}\r\n\r\n{new_body}"


def without_origin(body: str) -> str:
    """An SDP body without its o= line: what must change for the version to go up."""
    return _ORIGIN.sub("", body)


@dataclass(frozen=True)
class CallerId:
    """What a resident's phone shows for a call the agent places (sip.caller_id_*)."""

    name: str = ""
    number: str = ""
    keep_user: bool = False
    """Registered mode: From keeps the account as its user (a registrar may refuse an
    INVITE whose From user is not the one it authenticated); the number goes in
    P-Asserted-Identity only."""


_FROM_LINE = re.compile(r"^From:[ \t]*<sips?:([^@>]*)@([^>]*)>([^\r\n]*)", re.MULTILINE)


def _quoted(name: str) -> str:
    """An RFC 3261 25.1 quoted-string (UTF-8 allowed: 中文 display names)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def with_caller_id(invite: str, shown: CallerId) -> str:
    """The INVITE with the site's caller ID: the From header's display name and user
    (its host and tag kept: the dialog is the same), and a P-Asserted-Identity naming
    the same (RFC 3325 9.1), which PBXs and trunks pass on as the number shown. With
    `keep_user` From's user stays the account and only its display name changes."""
    match = _FROM_LINE.search(invite)
    if match is None or not (shown.name or shown.number):
        return invite
    user, host, rest = match.group(1), match.group(2), match.group(3)
    scheme = "sips" if invite[match.start() :].startswith("From: <sips:") else "sip"
    asserted = f"<{scheme}:{shown.number or user}@{host}>"
    address = f"<{scheme}:{user}@{host}>" if shown.keep_user else asserted
    display = f"{_quoted(shown.name)} " if shown.name else ""
    lines = f"From: {display}{address}{rest}"
    if shown.number:
        lines += f"\r\nP-Asserted-Identity: {display}{asserted}"
    return invite[: match.start()] + lines + invite[match.end() :]
