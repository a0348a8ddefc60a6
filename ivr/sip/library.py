"""The one module that imports the SIP library (rfcvoip, pyVoIP's maintained successor).

The rest of ivr.sip takes the library's names from here; the rest of hotline takes
none (ivr.phone is its interface). What this module changes in the library when it
is imported: its debug() prints are routed into logging (fix 3), and its warning
about a refused call the agent placed is silenced (an outcome, logged by the agent).
Every private member the adapter touches is listed in tests/test_rfcvoip_surface.py;
what each would need upstream is in docs/upstream-patches.md.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import rfcvoip
import rfcvoip.VoIP.VoIP as _voip_module
from rfcvoip.RTP import PayloadType, RTPClient, RTPParseError, TransmitType
from rfcvoip.SIP import SIPMessageType, SIPParseError, SIPStatus
from rfcvoip.SIPTransport import SIPTransport
from rfcvoip.VoIP import CallState, InvalidStateError, VoIPCall, VoIPPhone
from rfcvoip.VoIP.status import PhoneStatus
from rfcvoip.VoIP.VoIP import (
    _media_port_is_enabled,
    _media_rtp_targets,
    _media_transmit_type,
    _media_uses_supported_rtp_profile,
    _negotiate_local_transmit_type,
    _payload_type_from_media_method,
)

__all__ = [
    "CallState",
    "InvalidStateError",
    "PayloadType",
    "PhoneStatus",
    "RTPClient",
    "RTPParseError",
    "SIPMessageType",
    "SIPParseError",
    "SIPStatus",
    "SIPTransport",
    "TransmitType",
    "VoIPCall",
    "VoIPPhone",
    "_media_port_is_enabled",
    "_media_rtp_targets",
    "_media_transmit_type",
    "_media_uses_supported_rtp_profile",
    "_negotiate_local_transmit_type",
    "_payload_type_from_media_method",
]


def _route_library_debug() -> None:
    """rfcvoip's debug() prints; send it to logging instead (fix 3)."""
    library_log = logging.getLogger("rfcvoip")

    def debug(*parts: Any, **_kw: Any) -> None:
        library_log.debug(" ".join(str(p) for p in parts))

    for module in (rfcvoip, getattr(rfcvoip, "SIP", None), getattr(rfcvoip, "RTP", None)):
        if module is not None and hasattr(module, "debug"):
            setattr(module, "debug", debug)  # noqa: B010
    if hasattr(_voip_module, "debug"):
        setattr(_voip_module, "debug", debug)  # noqa: B010


_route_library_debug()
# A refused call the agent placed (a clerk's phone busy: 486) is an outcome, not a fault:
# the library warns on stderr; the agent logs it with the leg's result (fix 24, call_media).
warnings.filterwarnings("ignore", message=r"Call failed with SIP ", category=RuntimeWarning)
