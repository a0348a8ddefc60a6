"""What RFC 4475 section 3 expects of a user agent (not a proxy, not a registrar) per message.

Each entry: (section, what the RFC says, the first final status codes that conform;
an empty set: nothing may be sent back at all, the message is discarded). Where the
RFC allows a liberal receiver to process an invalid message, both answers conform.
A UA that is no registrar answers REGISTER 405 or 501 (the RFC says so for regaut01).
`test` is not in RFC 4475 (php-sip's extra fixture): no SIP-Version and no Via.
Used by tests/sip/test_torture.py and bench/torture_conformance.py.
"""

from __future__ import annotations

DISCARD: frozenset[int] = frozenset()
REGISTER_UA = frozenset({200, 405, 501})

EXPECTED: dict[str, tuple[str, str, frozenset[int]]] = {
    "badaspec": (
        "3.1.2.14",
        "invalid Via/To spacing: 400, or liberal OPTIONS 200",
        frozenset({200, 400}),
    ),
    "badbranch": (
        "3.2.1",
        "bare z9hG4bK branch: 400 or RFC 2543 matching (200)",
        frozenset({200, 400}),
    ),
    "baddate": (
        "3.1.2.12",
        "bad Date: 400, or ignore Date and process (200)",
        frozenset({200, 400}),
    ),
    "baddn": (
        "3.1.2.15",
        "unquoted display name: 400, or infer quotes (200)",
        frozenset({200, 400}),
    ),
    "badinv01": ("3.1.2.1", "empty Via/Contact params ;;,;,,: 400", frozenset({400})),
    "badvers": ("3.1.2.16", "SIP/7.0: 505 Version Not Supported", frozenset({505})),
    "bcast": ("3.3.10", "stray 200 with broadcast Via: discard", DISCARD),
    "bext01": ("3.3.5", "unknown Require: 420 Bad Extension with Unsupported", frozenset({420})),
    "bigcode": ("3.1.2.19", "status code > 699: discard", DISCARD),
    "clerr": ("3.1.2.2", "Content-Length larger than the body: 400", frozenset({400})),
    "cparam01": ("3.3.12", "valid REGISTER (a UA: 405/501)", REGISTER_UA),
    "cparam02": ("3.3.13", "valid REGISTER (a UA: 405/501)", REGISTER_UA),
    "dblreq": ("3.1.1.8", "valid REGISTER, trailing octets ignored", REGISTER_UA),
    "esc01": ("3.1.1.3", "valid INVITE with escapes: process (call)", frozenset({200})),
    "esc02": ("3.1.1.5", "unknown method RE%47IST%45R: 501 (405)", frozenset({405, 501})),
    "escnull": ("3.1.1.4", "valid REGISTER with %00 (a UA: 405/501)", REGISTER_UA),
    "escruri": (
        "3.1.2.11",
        "escaped headers in R-URI: 400, or ignore them (200)",
        frozenset({200, 400}),
    ),
    "insuf": ("3.3.1", "no Call-ID, From, To: 400", frozenset({400})),
    "intmeth": ("3.1.1.2", "unknown method: 501 (405)", frozenset({405, 501})),
    "inv2543": ("3.4.1", "RFC 2543 INVITE: process (call)", frozenset({200})),
    "invut": ("3.3.6", "unknown Content-Type: 415 Unsupported Media Type", frozenset({415})),
    "longreq": ("3.1.1.7", "long valid INVITE: process (call)", frozenset({200})),
    "ltgtruri": ("3.1.2.7", "R-URI in <>: 400, or liberal (200)", frozenset({200, 400})),
    "lwsdisp": ("3.1.1.6", "valid OPTIONS: 200", frozenset({200})),
    "lwsruri": ("3.1.2.8", "LWS in the Request-URI: 400", frozenset({400})),
    "lwsstart": (
        "3.1.2.9",
        "extra SP in the request line: 400, or liberal (200)",
        frozenset({200, 400}),
    ),
    "mcl01": ("3.3.9", "several Content-Length: 400", frozenset({400})),
    "mismatch01": ("3.1.2.17", "method and CSeq method differ: 400", frozenset({400})),
    "mismatch02": ("3.1.2.18", "unknown method, CSeq differs: 501 (400)", frozenset({400, 501})),
    "mpart01": (
        "3.1.1.11",
        "valid MESSAGE (a UA without MESSAGE: 405/501/415)",
        frozenset({200, 202, 405, 415, 501}),
    ),
    "multi01": ("3.3.8", "several single-valued headers: 400", frozenset({400})),
    "ncl": ("3.1.2.3", "negative Content-Length: 400", frozenset({400})),
    "noreason": ("3.1.1.13", "valid 100 without reason, no transaction: discard", DISCARD),
    "novelsc": ("3.3.3", "soap.beep Request-URI: 416 (404)", frozenset({404, 416})),
    "quotbal": ("3.1.2.6", "unbalanced quotes: 400", frozenset({400})),
    "regaut01": (
        "3.3.7",
        "unknown auth scheme, no registrar: 405 (401/501)",
        frozenset({401, 405, 501}),
    ),
    "regbadct": ("3.1.2.13", "bad Contact: 400, or a UA 405/501", frozenset({400, 405, 501})),
    "regescrt": ("3.3.14", "valid REGISTER (a UA: 405/501)", REGISTER_UA),
    "scalar02": ("3.1.2.4", "CSeq, Max-Forwards, Expires out of range: 400", frozenset({400})),
    "scalarlg": ("3.1.2.5", "response with scalars out of range: discard", DISCARD),
    "sdp01": ("3.3.15", "Accept: text/nobodyKnowsThis: 406 (400)", frozenset({400, 406})),
    "semiuri": ("3.1.1.9", "valid OPTIONS: 200", frozenset({200})),
    "test": ("-", "no SIP-Version, no Via: 400 to the source", frozenset({400})),
    "transports": ("3.1.1.10", "valid OPTIONS: 200", frozenset({200})),
    "trws": ("3.1.2.10", "trailing SP after SIP/2.0: 400, or liberal (200)", frozenset({200, 400})),
    "unkscm": ("3.3.2", "unknown Request-URI scheme: 416", frozenset({416})),
    "unksm2": (
        "3.3.4",
        "REGISTER, unknown schemes in To/From/Contact: 400 (405/416/501)",
        frozenset({400, 405, 416, 501}),
    ),
    "unreason": ("3.1.1.12", "valid 200, no transaction: discard", DISCARD),
    "wsinv": ("3.1.1.1", "valid INVITE, To-tag of no dialog: 481 (or 200)", frozenset({200, 481})),
    "zeromf": ("3.3.11", "Max-Forwards 0 at the UAS: process (200)", frozenset({200})),
}


def first_final(lines: list[str]) -> int | None:
    """The first final status (>= 200) among the status lines a message got back."""
    for line in lines:
        parts = line.split(" ", 2)
        if len(parts) >= 2 and parts[0] == "SIP/2.0" and parts[1].isdigit():
            code = int(parts[1])
            if code >= 200:
                return code
    return None


def verdict(name: str, lines: list[str]) -> bool:
    """Whether what came back for `name` is what section 3 expects."""
    _section, _what, codes = EXPECTED[name]
    if not codes:
        return not lines
    return first_final(lines) in codes
