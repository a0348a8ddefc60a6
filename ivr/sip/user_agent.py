"""rfcvoip's VoIPPhone with the adapter's handling of a new INVITE and CANCEL
(fixes 0, 1, 12, 14, 23, 31, 34; RFC 3326 Reason for ring groups)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from ivr import sdp_check
from ivr.cancel_reason import header_fields, reason_headers
from ivr.memory import IdleTrim
from ivr.rtp_pacer import RtpPacer
from ivr.sip.library import CallState, PayloadType, SIPStatus, VoIPCall, VoIPPhone
from ivr.sip.media import _pace_media
from ivr.sip.offer import _body_text, _has_audio, _keep_codecs, _take_audio_only
from ivr.sip.threads import Started

logger = logging.getLogger(__name__)

#: What the agent records and plays (settings.sip.codecs) besides RFC 2833 keys (fix 12).
CODECS = {"PCMU": PayloadType.PCMU, "PCMA": PayloadType.PCMA}
#: The methods the agent answers (fix 13); rfcvoip's Allow also names SUBSCRIBE and NOTIFY.
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS"
_ALLOW_LINE = re.compile(rb"^Allow:[^\r\n]*", re.MULTILINE | re.IGNORECASE)


class _Phone(VoIPPhone):
    """VoIPPhone without the fixed 1 s before the application sees a call (fix 1),
    answering every new INVITE with 100 Trying at once (fix 0), negotiating
    only the configured codecs (fix 12) and taking calls off hold (fix 14)."""

    allowed: frozenset[Any] = frozenset({*CODECS.values(), PayloadType.EVENT})
    #: Told each status code the SIP layer refuses a request with (SipPhone's on_refused).
    refused: Callable[[int], None]

    def _callback_MSG_Invite(self, request: Any) -> None:
        call_id = str(request.headers.get("Call-ID", "") or "").strip()
        offered = _keep_codecs(request, self.allowed)
        call = self._get_call(call_id) if call_id else None
        if call_id and call is None and not self.admits(request):
            # fix 23: the same 403 for every user, before any 100 or 180.
            source = getattr(request, "source_address", None)
            logger.warning(
                "[%s] refused: %s is not a trusted source",
                call_id,
                source[0] if source else "an unknown address",
            )
            self.refused(403)
            self.sip.send_response(request, self.sip.gen_response(request, SIPStatus.FORBIDDEN))
            return
        bad_sdp = sdp_check.problem(_body_text(request))
        if call_id and bad_sdp is not None:  # fix 31: before any 100, 180 or media
            logger.warning("[%s] 488: the offer's %s is out of range", call_id, bad_sdp)
            self.refused(488)
            self.sip.send_response(
                request, self.sip.gen_response(request, SIPStatus.NOT_ACCEPTABLE_HERE)
            )
            return
        if call_id:  # fix 34: audio answered, every other stream refused with port 0
            rejected = _take_audio_only(request)
            if rejected:
                self.rejected_media[call_id] = rejected
                logger.info(
                    "[%s] offer with %s: answering the audio, refusing the rest (port 0)",
                    call_id,
                    ", ".join(sorted({line.split()[0][2:] for _i, line in rejected})),
                )
        if call_id and call is None and offered and not _has_audio(request):
            logger.warning("[%s] 488: no common codec (offered %s)", call_id, ", ".join(offered))
        if call_id and call is None:  # not a re-INVITE of a known call
            try:
                self.sip.send_response(request, self.sip.gen_response(request, SIPStatus.TRYING))
            except Exception:  # a malformed request: the library answers it below
                logger.debug("no 100 Trying for %s", call_id, exc_info=True)
        elif call is not None and call.state == CallState.ANSWERED:
            # fix 14: negotiate what the agent wants (both ways), not the last answer;
            # after a=sendonly (hold) the library kept a=recvonly for good.
            call.sendmode = self.recvmode
            if self.reinvite(call, request):  # fixes 21 and 22
                return
        super()._callback_MSG_Invite(request)

    def _callback_MSG_Cancel(self, request: Any) -> None:
        """Keep the CANCEL's Reason headers on the ringing call (RFC 3326): in a ring
        group they say whether another phone answered (ivr/cancel_reason.py)."""
        call = self._get_call(str(request.headers.get("Call-ID", "") or "").strip())
        if call is not None and call.state == CallState.RINGING:
            raw = bytes(getattr(request, "raw", b"") or b"")
            call.cancel_reasons = reason_headers(raw)
            call.cancel_headers = header_fields(raw)
        super()._callback_MSG_Cancel(request)

    def _invite_targets_local_account(self, request: Any) -> bool:
        """Every INVITE the agent admits is for it, whatever user it names (fix 23)."""
        return True

    admits: Callable[[Any], bool] = staticmethod(lambda _request: True)
    rejected_media: dict[str, list[tuple[int, str]]]
    """Call-ID -> (position, m= line with port 0) of the streams refused (fix 34)."""
    forget: Callable[[str], None] = staticmethod(lambda _call_id: None)
    reinvite: Callable[[Any, Any], bool] = staticmethod(lambda _call, _request: False)
    pacer: RtpPacer | None = None
    started: Started
    """The threads started for calls, joined by SipPhone.stop (ivr/sip/threads.py)."""

    memory: IdleTrim | None = None

    def _set_call(self, call_id: str, call: VoIPCall) -> None:
        super()._set_call(call_id, call)
        if self.memory is not None:
            self.memory.busy()
        if self.pacer is not None:
            _pace_media(call, self.pacer, self.started)

    def _remove_call(self, call_id: Any, *, expected: Any = None) -> Any:
        removed = super()._remove_call(call_id, expected=expected)
        if removed is not None:
            self.forget(str(call_id))
            if self.memory is not None:
                self.memory.idle()  # fix 36: what the calls freed goes back to the system
        return removed

    def _default_audio_offer(self) -> dict[int, Any]:
        """What OPTIONS and the agent's own INVITEs offer: the configured codecs (fix 12)."""
        offer = super()._default_audio_offer()
        return {pt: codec for pt, codec in offer.items() if codec in self.allowed}

    @staticmethod
    def _run_call_callback(callback: Callable[[Any], None], call: Any, delay: float = 0.0) -> None:
        VoIPPhone._run_call_callback(callback, call, delay=0.0)
