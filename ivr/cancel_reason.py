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
_HEADER = re.compile(rb"^Reason[ \t]*:(.*(?:\r?\n[ \t]+.*)*)", re.MULTILINE | re.IGNORECASE)
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
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return tuple(
        " ".join(m.group(1).decode("utf-8", "replace").split()) for m in _HEADER.finditer(head)
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


def summary(values: tuple[str, ...] | list[str], limit: int = 100) -> str:
    """The headers as one line for the call record (hangup_cause), cut to `limit`."""
    return "; ".join(values)[:limit] if values else ""
