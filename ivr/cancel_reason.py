"""Why a ringing call was cancelled: the Reason header of the CANCEL (RFC 3326).

In a ring group the PBX forks the call to the agent and the clerks' phones; when
a clerk picks up first it CANCELs the agent's leg. RFC 3326 section 2 lets that
CANCEL say so, and the PBXs on the market do, in these forms:

- Kamailio's tm (`local_cancel_reason`, on by default), CANCELling the other
  branches on a 2xx: `Reason: SIP;cause=200;text="Call completed elsewhere"`
  (src/modules/tm/t_cancel.c `_cancel_reason_map`, t_msgbuilder.c);
- Asterisk's res_pjsip_rfc3326.c for a hang-up cause AST_CAUSE_ANSWERED_ELSEWHERE
  (26 in include/asterisk/causes.h): the same SIP value, then a second header
  `Reason: Q.850;cause=26` unless `suppress_q850_reason_headers` is set;
- FreeSWITCH's mod_sofia.c for LOSE_RACE or PICKED_OFF: the same SIP value; with
  `ignore_completed_elsewhere` it sends a Q.850 or SIP cause of its own instead;
- a PBX that sends the Q.850 cause alone: cause 26, "non-selected user clearing"
  (ITU-T Q.850 table 1), which is the same event in ISDN terms.

Who answered: no PBX names the answering phone in its CANCEL by default (Kamailio's
and Asterisk's CANCEL carry the Reason alone, the sources above). A site can make it:
FreeSWITCH sends the channel's `sip_bye_h_*` variables as headers of its CANCEL
(mod_sofia.c `nua_cancel(... SIPTAG_HEADER_STR(bye_headers))`), so a dialplan that sets
`sip_bye_h_X-Answered-By=${last_bridge_to}`-style values names the winner, and its
`sip_reason` variable replaces the Reason wholesale (e.g. `text="Call completed
elsewhere by 8002"`). `answerer()` reads the headers the site names
([sip] answered_by_headers) as a name-addr or a bare extension, then a Reason text
"... by <who>"; otherwise the call was answered by "a colleague".

A caller who gives up sends no Reason (or a Q.850 16/31, normal clearing). Only
SIP cause 200 or Q.850 cause 26 means the call was answered by someone else; the
header's `text` is informative only and may be absent. What is not understood is
kept as written (for the call record) and means nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: RFC 3326: cause=200 under protocol SIP; Q.850 cause 26 (non-selected user clearing).
ANSWERED_ELSEWHERE = {("SIP", 200), ("Q.850", 26)}
#: `Reason:` header lines of a raw SIP message (header names are case-insensitive, and
#: a value may continue on the next line: RFC 3261 7.3.1 folding).
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:(.*(?:\r?\n[ \t]+.*)*)", re.MULTILINE)
_VALUE = re.compile(r'(?:[^,"]|"(?:[^"\\]|\\.)*")+')
_PARAM = re.compile(r'\s*([^=;\s]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;]*))?')


@dataclass(frozen=True)
class Reason:
    protocol: str
    """SIP, Q.850 or another token, upper-case."""
    cause: int | None
    text: str | None


def reason_headers(raw: bytes) -> tuple[str, ...]:
    """The values of every Reason header of a raw message, in order (the header part only)."""
    return tuple(value for name, value in header_fields(raw) if name.lower() == "reason")


def header_fields(raw: bytes) -> tuple[tuple[str, str], ...]:
    """Every header field (name, value) of a raw message, in order, folded lines joined
    and runs of white space made one (RFC 3261 7.3.1); the start line and body left out."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return tuple(
        (m.group(1).decode("ascii"), " ".join(m.group(2).decode("utf-8", "replace").split()))
        for m in _FIELD.finditer(head)
        if m.group(1)
    )


def parse(values: tuple[str, ...] | list[str]) -> list[Reason]:
    """Each reason-value of the headers (a header may carry several, comma-separated)."""
    reasons = []
    for header in values:
        for value in _VALUE.findall(header):
            protocol, _, rest = value.strip().partition(";")
            if not protocol.strip():
                continue
            cause: int | None = None
            text: str | None = None
            for match in _PARAM.finditer(rest):
                name, param = match.group(1).lower(), (match.group(2) or "").strip()
                if name == "cause" and param.isdigit():
                    cause = int(param)
                elif name == "text":
                    quoted = len(param) >= 2 and param[0] == param[-1] == '"'
                    text = re.sub(r"\\(.)", r"\1", param[1:-1]) if quoted else param
            reasons.append(Reason(protocol.strip().upper(), cause, text))
    return reasons


def answered_elsewhere(values: tuple[str, ...] | list[str]) -> bool:
    """Whether the CANCEL's Reason headers say the call was answered at another phone."""
    return any((r.protocol, r.cause) in ANSWERED_ELSEWHERE for r in parse(values))


#: The standard text (RFC 3326 examples, Kamailio, Asterisk, FreeSWITCH) and what a site
#: may append to it to name the answering party.
_BY = re.compile(r"\bby\s+(.+)$", re.IGNORECASE)
_NAME_ADDR = re.compile(r'^\s*(?:"((?:[^"\\]|\\.)*)"|([^<"]*?))\s*<([^>]*)>')
_URI_USER = re.compile(r"^(?:sips?|tel):([^@;?>]+)", re.IGNORECASE)


def answerer(
    fields: tuple[tuple[str, str], ...] | list[tuple[str, str]], names: list[str] | tuple[str, ...]
) -> str | None:
    """Who answered elsewhere, as the CANCEL's headers name them: the first header of
    `names` (the site's, case-insensitive) with a value, read as a name-addr
    (`"张三" <sip:8002@pbx>` -> `张三 (8002)`) or as it is (`8002`); else a Reason text
    of cause 200 / Q.850 26 ending "by <who>". None when nothing names them."""
    wanted = [name.lower() for name in names]
    for name in wanted:
        for field, value in fields:
            if field.lower() == name and (who := _party(value)):
                return who
    values = tuple(value for field, value in fields if field.lower() == "reason")
    for reason in parse(values):
        if (reason.protocol, reason.cause) in ANSWERED_ELSEWHERE and reason.text:
            found = _BY.search(reason.text)
            if found and (who := _party(found.group(1))):
                return who
    return None


def _party(value: str) -> str | None:
    """A name-addr or a bare URI or extension, as one short line; None if empty."""
    text = value.strip()
    match = _NAME_ADDR.match(text)
    if match:
        display = (match.group(1) if match.group(1) is not None else match.group(2)).strip()
        display = re.sub(r"\\(.)", r"\1", display)
        user = _URI_USER.match(match.group(3).strip())
        extension = user.group(1) if user else match.group(3).strip()
        if display and extension and display != extension:
            text = f"{display} ({extension})"
        else:
            text = display or extension
    else:
        user = _URI_USER.match(text)
        text = user.group(1) if user else text.split(";", 1)[0]
    text = " ".join(text.split())[:100]
    return text or None


def summary(values: tuple[str, ...] | list[str], limit: int = 100) -> str:
    """The headers as one line for the call record (hangup_cause), cut to `limit`."""
    return "; ".join(values)[:limit] if values else ""
