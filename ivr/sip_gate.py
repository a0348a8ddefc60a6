"""What a SIP datagram gets before the library parses it (fix 35, RFC 4475 section 3).

rfcvoip took malformed requests as valid (a CSeq of another method, an unknown
Request-URI scheme, an unknown Require: answered 200), answered 505 for spacing
faults, dropped others unanswered, and ACKed stray responses. Each datagram is
read here first, as text, and gets one of three verdicts:

- `Verdict.passed`: handed to the library, its header unfolded (RFC 3261 7.3.1)
  and its Via's protocol written without the LWS the grammar allows around "/"
  (RFC 4475 3.1.1.1), so the library reads it;
- `Verdict.refused(code, phrase, headers)`: answered here, to the datagram's source
  (`reply` builds the response from whatever headers the request has, never
  echoing a control octet), and not given to the library;
- `Verdict.dropped(why)`: a response that can match nothing (a status outside
  100-699, scalars out of range: RFC 4475 3.1.2.5, 3.1.2.19) or a datagram that
  is no SIP message; nothing is sent.

Pure functions over bytes: nothing here imports the SIP library.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

#: RFC 3261 7.3.3 compact forms.
_COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
    "s": "subject",
    "e": "content-encoding",
}
_REQUIRED = ("via", "from", "to", "call-id", "cseq")
_SINGLE = ("from", "to", "call-id", "cseq", "max-forwards", "content-type")
_WORD = r"[A-Za-z0-9.!%*_+`'~-]+"
_REQUEST_LINE = re.compile(rf"({_WORD}) (\S+) SIP/(\d+\.\d+)")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_STATUS_LINE = re.compile(r"SIP/2\.0 ([1-6]\d\d) [^\x00-\x08\x0a-\x1f\x7f]*")
_CSEQ = re.compile(rf"(\d{{1,10}})[ \t]+({_WORD})")
_CTL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_CTL_TEXT = re.compile(r"\\?[\x00-\x08\x0a-\x1f\x7f]")
#: A quoted-pair escaping a control octet (RFC 3261 25.1 allows it inside quotes).
_ESCAPED_CTL = re.compile(rb"\\[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FOLD = re.compile(rb"\r\n[ \t]+")
_VIA_PROTOCOL = re.compile(r"SIP\s*/\s*2\.0\s*/\s*([A-Za-z]+)\s+", re.IGNORECASE)
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_EMPTY_ELEMENT = re.compile(r";\s*(?:;|,|$)|,\s*(?:,|$)|^\s*[;,]")
_BODY_TYPES = ("application/sdp", "multipart/mixed", "multipart/alternative")
#: RFC 3261 25.1 sent-by: a host (IPv4, [IPv6] or a name whose last label starts with a
#: letter) and an optional port.
_SENT_BY = re.compile(
    r"SIP/2\.0/[A-Za-z]+[ \t]+"
    r"(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]"
    r"|(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.?)"
    r"(?::(\d{1,5}))?[ \t]*(?:;|$)"
)
#: A header value longer than this is cut in a reply (a 63 KB Via made the 513 unsendable).
MAX_ECHO = 2048
MAX_CSEQ = 2**31 - 1
MAX_EXPIRES = 2**32 - 1
#: The option tags (RFC 3261 19.2) the agent implements: none it could be required to use.
SUPPORTED: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Verdict:
    kind: str
    """"pass", "refuse" or "drop"."""
    message: bytes = b""
    """The message to hand to the library (pass)."""
    code: int = 0
    phrase: str = ""
    headers: tuple[str, ...] = field(default_factory=tuple)
    """Extra header lines for the refusal (Unsupported, Accept)."""
    why: str = ""

    @classmethod
    def passed(cls, message: bytes) -> Verdict:
        return cls("pass", message=message)

    @classmethod
    def refused(cls, code: int, phrase: str, *headers: str) -> Verdict:
        return cls("refuse", code=code, phrase=phrase, headers=headers, why=phrase)

    @classmethod
    def dropped(cls, why: str) -> Verdict:
        return cls("drop", why=why)


def unfold(raw: bytes) -> bytes:
    """The header section with folded lines joined (RFC 3261 7.3.1), the body as it is."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    return _FOLD.sub(b" ", head) + sep + body


def headers(raw: bytes) -> list[tuple[str, str]]:
    """(lower-case long name, value) of each header line of an unfolded message."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    found = []
    for line in head.split("\r\n")[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip():
            key = name.strip().lower()
            found.append((_COMPACT.get(key, key), value.strip()))
    return found


def check(raw: bytes) -> Verdict:
    """The verdict on one datagram (see the module's docstring)."""
    message = unfold(raw)
    head, _sep, body = message.partition(b"\r\n\r\n")
    start = head.split(b"\r\n", 1)[0].decode("utf-8", "replace")
    if start.startswith("SIP/"):
        return _check_response(start, headers(message), message)
    return _check_request(start, head, body, message)


def _check_response(start: str, found: list[tuple[str, str]], message: bytes) -> Verdict:
    if not _STATUS_LINE.fullmatch(start):
        return Verdict.dropped(f"a response with a malformed status line ({start[:40]!r})")
    for name, value in found:
        if name == "cseq":
            match = _CSEQ.fullmatch(value)
            if match is None or int(match.group(1)) > MAX_CSEQ:
                return Verdict.dropped(f"a response with a CSeq out of range ({value[:40]!r})")
    return Verdict.passed(_canonical_via(message))


def _check_request(start: str, head: bytes, body: bytes, message: bytes) -> Verdict:
    match = _REQUEST_LINE.fullmatch(start)
    if match is None:
        parts = start.split()
        if len(parts) == 3 and re.fullmatch(r"SIP/\d+\.\d+", parts[2]) and parts[2] != "SIP/2.0":
            return Verdict.refused(505, "Version Not Supported")
        return Verdict.refused(400, "Bad Request Line")
    method, uri, version = match.groups()
    if version != "2.0":
        return Verdict.refused(505, "Version Not Supported")
    scheme = _SCHEME.match(uri)
    if scheme is None:
        return Verdict.refused(400, "Bad Request-URI")
    if scheme.group(1).lower() not in ("sip", "sips", "tel"):
        return Verdict.refused(416, "Unsupported URI Scheme")
    if _CTL.search(_ESCAPED_CTL.sub(b"", head).replace(b"\r\n", b"").replace(b"\t", b"")):
        return Verdict.refused(400, "Control Character in Header")
    found = headers(message)
    names = [name for name, _value in found]
    for required in _REQUIRED:
        if required not in names:
            return Verdict.refused(400, f"Missing {_title(required)} Header")
    for single in _SINGLE:
        values = {value for name, value in found if name == single}
        if len(values) > 1:
            return Verdict.refused(400, f"Conflicting {_title(single)} Headers")
    value = dict(found)
    reason = _scalar_problem(value, method, len(body))
    if reason is not None:
        return Verdict.refused(400, reason)
    for name, text in found:
        if name in ("via", "contact") and _EMPTY_ELEMENT.search(_QUOTED.sub("", text)):
            return Verdict.refused(400, f"Malformed {_title(name)} Header")
    top_via = _VIA_PROTOCOL.sub(lambda m: f"SIP/2.0/{m.group(1)} ", value["via"], count=1)
    sent_by = _SENT_BY.match(top_via)
    if sent_by is None or not 1 <= int(sent_by.group(1) or 5060) <= 65535:
        return Verdict.refused(400, "Malformed Via Header")
    if method not in ("ACK", "CANCEL"):
        requires = [t.strip() for n, v in found if n == "require" for t in v.split(",")]
        unknown = [t for t in requires if t and t.lower() not in SUPPORTED]
        if unknown:
            return Verdict.refused(420, "Bad Extension", f"Unsupported: {', '.join(unknown)}")
    if method == "INVITE":
        refusal = _invite_problem(value, body)
        if refusal is not None:
            return refusal
    return Verdict.passed(_canonical_via(message))


def _scalar_problem(value: dict[str, str], method: str, body_length: int) -> str | None:
    """RFC 4475 3.1.2.4 and 3.1.2.17: numbers out of range, CSeq naming another method."""
    cseq = _CSEQ.fullmatch(value["cseq"])
    if cseq is None or int(cseq.group(1)) > MAX_CSEQ:
        return "Bad CSeq"
    if cseq.group(2) != method:
        return "CSeq Method Does Not Match"
    forwards = value.get("max-forwards")
    if forwards is not None and not (forwards.isdigit() and int(forwards) <= 255):
        return "Bad Max-Forwards"
    expires = value.get("expires")
    if expires is not None and not (expires.isdigit() and int(expires) <= MAX_EXPIRES):
        return "Bad Expires"
    length = value.get("content-length")
    if length is not None and not (length.isdigit() and int(length) <= body_length):
        return "Bad Content-Length"
    return None


def _invite_problem(value: dict[str, str], body: bytes) -> Verdict | None:
    """RFC 4475 3.3.6 (415) and 3.3.15 (406): a body the agent cannot read, or an answer
    the caller would not accept."""
    content_type = value.get("content-type", "").split(";", 1)[0].strip().lower()
    if body.strip() and content_type and content_type not in _BODY_TYPES:
        return Verdict.refused(415, "Unsupported Media Type", "Accept: application/sdp")
    accept = value.get("accept")
    if accept is not None and accept.strip():
        ranges = {a.split(";", 1)[0].strip().lower() for a in accept.split(",")}
        if not ranges & {"application/sdp", "application/*", "*/*"}:
            return Verdict.refused(406, "Not Acceptable", "Accept: application/sdp")
    return None


def _canonical_via(message: bytes) -> bytes:
    """Via's "SIP / 2.0 / UDP" written "SIP/2.0/UDP" (LWS around "/" is allowed, RFC 3261
    25.1; the library reads only the compact spelling)."""
    head, sep, body = message.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    for i, line in enumerate(lines[1:], 1):
        name = line.split(b":", 1)[0].strip().lower()
        if name in (b"via", b"v"):
            text = line.decode("utf-8", "replace")
            lines[i] = _VIA_PROTOCOL.sub(lambda m: f"SIP/2.0/{m.group(1)} ", text).encode()
    return b"\r\n".join(lines) + sep + body


def _title(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-")).replace("Id", "ID")


def clean(text: str) -> str:
    """A header value with every control character taken out (replies never echo them),
    cut at MAX_ECHO characters."""
    return _CTL_TEXT.sub("", text.replace("\t", " "))[:MAX_ECHO]


def reply(raw: bytes, code: int, phrase: str, extra: tuple[str, ...] = ()) -> bytes | None:
    """A final response to a request, built from whatever of its headers it has (RFC 3261
    8.2.6.2), without a control octet; None for a response or an ACK (never answered)."""
    message = unfold(raw)
    start = message.split(b"\r\n", 1)[0]
    if start.startswith(b"SIP/") or start.split(b" ", 1)[0] == b"ACK":
        return None
    found = headers(message)
    first = {name: value for name, value in reversed(found)}
    lines = [f"SIP/2.0 {code} {clean(phrase)}"]
    lines += [f"Via: {clean(v)}" for name, v in found if name == "via"]
    if "from" in first:
        lines.append(f"From: {clean(first['from'])}")
    if "to" in first:
        to = clean(first["to"])
        if not re.search(r";\s*tag=", to.rsplit(">", 1)[-1]):
            to += f";tag={secrets.token_hex(4)}"
        lines.append(f"To: {to}")
    for name, label in (("call-id", "Call-ID"), ("cseq", "CSeq")):
        if name in first:
            lines.append(f"{label}: {clean(first[name])}")
    lines += [clean(h) for h in extra]
    lines += ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def without_control(data: bytes) -> bytes:
    """An outgoing message whose header section holds no control octet but CRLF (the
    library copies fuzzed header values into its responses: NUL, ESC, BS)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = [
        _CTL.sub(b"", _ESCAPED_CTL.sub(b"", line).replace(b"\t", b" "))
        for line in head.split(b"\r\n")
    ]
    return b"\r\n".join(lines) + sep + body
