"""The phone as the agent sees it: `Phone` and `Call`, protocols of our own.

ivr.sip (ivr/sip/library.py alone imports the SIP library) implements them with rfcvoip;
ivr.phone_fake ships a fake beside them for unit tests, as httpx ships its mock
transport. The agent, the call media and the flow depend on these protocols only.
"""

from __future__ import annotations

from typing import Protocol

from recorder.calls import RtpStats

FRAME_BYTES = 320  # 20 ms of 8 kHz 16-bit mono


class Call(Protocol):
    """One call, incoming or dialled: its state, its audio and its keys."""

    @property
    def call_id(self) -> str: ...
    @property
    def caller(self) -> str | None: ...
    @property
    def called(self) -> str | None: ...
    @property
    def ended(self) -> bool: ...
    @property
    def answered(self) -> bool: ...
    @property
    def final_status(self) -> int | None:
        """The final status (>= 300) of a dialled call, e.g. 486 busy; else None."""

    @property
    def media_fault(self) -> str | None:
        """Why the call's media failed (the call ends), or None."""

    @property
    def cancel_reasons(self) -> tuple[str, ...]:
        """The Reason headers of the CANCEL that ended the call while it rang (RFC 3326:
        ivr/cancel_reason.py tells whether another phone answered); else empty."""

    @property
    def cancel_headers(self) -> tuple[tuple[str, str], ...]:
        """Every header (name, value) of that CANCEL, in order (who answered elsewhere,
        when the PBX names them: ivr/cancel_reason.answerer); else empty."""

    def answer(self) -> bool:
        """Answer; False when the caller gave up meanwhile."""

    def deny(self) -> None:
        """Refuse an incoming call as busy (486)."""

    def hangup(self) -> None: ...
    def cancel_or_hangup(self) -> None:
        """End a dialled call whatever its state: CANCEL while it rings, BYE once answered."""

    def write(self, pcm16: bytes) -> None:
        """Queue 16-bit 8 kHz mono audio to send."""

    def play(self, pcm16: bytes) -> int:
        """Queue a whole prompt (16-bit 8 kHz mono) for the media plane to send on the
        call's own clock after what is queued, silence after it; its id (issue 17)."""

    def stop_play(self) -> None:
        """Drop every prompt queued or playing (a key barged in)."""

    def finished_plays(self) -> list[int]:
        """The ids of the prompts sent to their end since the last look, in order."""

    def read(self, size: int = FRAME_BYTES) -> bytes:
        """The next `size` bytes received, silence where nothing arrived (never blocks)."""

    def buffered(self) -> int:
        """Received bytes waiting to be read."""

    def live_audio(self) -> None:
        """From now on the call carries live audio (a bridge): drop what is queued."""

    def dtmf_digits(self) -> str:
        """Every key pressed since the last look, in order."""

    def send_dtmf(self, digits: str) -> bool: ...
    def codec(self) -> str | None: ...
    def rtp_stats(self) -> RtpStats | None: ...


class Phone(Protocol):
    """Takes calls (handing each to the callback it was built with) and dials."""

    def start(self, timeout: float = 10.0) -> None: ...
    def stop(self) -> None: ...
    def call(self, uri: str) -> Call: ...
