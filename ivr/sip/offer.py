"""What an INVITE offers and where its media goes: SDP helpers of the adapter (fixes 9-12,
27, 34), on the parsed message rfcvoip hands over; no library type is needed."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Mapping
from typing import Any

from ivr import sdp_check
from ivr.sip.library import VoIPCall, _payload_type_from_media_method

#: The packet time sent when the far end's SDP names none (RFC 3551 4.5: 20 ms for G.711).
DEFAULT_PTIME_MS = 20


def packet_time_ms(media: Mapping[str, Any] | None) -> int:
    """Fix 27: the ptime to send in, from an m= section's a=ptime: 10 to 60 ms in whole
    10 ms (G.711 packs any number of 1 ms samples, but a far end that asks for 25 ms
    or 200 ms is more likely wrong than served), 20 ms when absent or unusable."""
    attributes = (media or {}).get("attributes") or {}
    try:
        ptime = int(str(attributes.get("ptime", "")).strip())
    except ValueError:
        return DEFAULT_PTIME_MS
    return ptime if 10 <= ptime <= 60 and ptime % 10 == 0 else DEFAULT_PTIME_MS


def _audio_offer(request: Any) -> Mapping[str, Any] | None:
    """The first audio m= section of a request's SDP that is not refused (port 0)."""
    body = getattr(request, "body", None)
    if not isinstance(body, dict):
        return None
    for media in body.get("m") or []:
        if isinstance(media, dict) and media.get("type") == "audio" and media.get("port"):
            return media
    return None


def _body_text(message: Any) -> str:
    """The body of a SIP message as text (the SDP, or a multipart body holding it)."""
    raw = bytes(getattr(message, "raw", b"") or b"")
    return raw.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")


def _audio_media(request: Any) -> list[dict[str, Any]]:
    body = getattr(request, "body", None)
    media = (body.get("m", []) if isinstance(body, dict) else []) or []
    return [m for m in media if isinstance(m, dict) and m.get("type") == "audio"]


def _keep_codecs(request: Any, allowed: frozenset[Any]) -> list[str]:
    """Strip from an offer every payload type the agent does not take (fix 12); what was offered.

    With nothing left the library answers 488 Not Acceptable Here itself.
    """
    offered = []
    for media in _audio_media(request):
        kept = []
        for method in media.get("methods", []) or []:
            try:
                codec = _payload_type_from_media_method(media, method)
            except (KeyError, ValueError, TypeError):
                offered.append(str(method))
                continue
            offered.append(str(getattr(codec, "description", codec)))
            if codec in allowed:
                kept.append(method)
        media["methods"] = kept
    return offered


def _take_audio_only(request: Any) -> list[tuple[int, str]]:
    """Fix 34 (RFC 3264 6): rfcvoip refused a whole offer with 488 when it also offered
    video. The streams other than audio are taken out of the offer the library sees;
    returned, by their position, as the port-0 m= lines the answer carries for them."""
    body = getattr(request, "body", None)
    offered = sdp_check.sections(_body_text(request))
    rejected = [
        (i, f"m={m.kind} 0 {m.proto} {' '.join(m.formats) or '0'}".strip())
        for i, m in enumerate(offered)
        if m.kind != "audio"
    ]
    if rejected and isinstance(body, dict):
        body["m"] = [
            m for m in body.get("m") or [] if isinstance(m, dict) and m.get("type") == "audio"
        ]
    return rejected


def _has_audio(request: Any) -> bool:
    """Whether an offer (after _keep_codecs) still names an audio codec, not only keys."""
    return any(
        str(_payload_type_from_media_method(media, method)) != "telephone-event"
        for media in _audio_media(request)
        for method in media.get("methods", [])
    )


_SIP_URI = re.compile(r"sips?:[^\s<>\"]+")
_HOST_NAME = re.compile(
    r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z][A-Za-z0-9-]{0,62}"
)


def _usable_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOST_NAME.fullmatch(host))
    return True


def _source_host(call: VoIPCall) -> str | None:
    """The address the INVITE came from (fix 9): the datagram's source, never a header.

    A Via header says whatever the sender writes in it; trusting it would let
    anyone past the `--trust` list by writing 127.0.0.1 there.
    """
    return _request_source(getattr(call, "request", None))


def _request_source(request: Any) -> str | None:
    source = getattr(request, "source_address", None)
    return str(source[0]) if source else None


def _address_of(host: str) -> str:
    """The IP address a registrar's host name stands for (itself if it is one)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return socket.gethostbyname(host)
    except OSError:
        return host
