"""What goes into the call flow (events) and what comes out (actions).

Plain values with no behaviour, so the flow can be driven and checked
without a socket: the agent turns SIP and RTP happenings into events and
carries out the actions (see ivr/flow_runner.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Literal

# ------------------------------------------------------------ the call


class Stage(enum.StrEnum):
    """Where in the flow a call is; stored as Call.ended_in when it ends there."""

    RINGING = "ringing"
    GREETING = "greeting"
    MENU = "menu"
    MESSAGE = "message"
    BRIDGE = "bridge"
    CLOSING = "closing"
    AFTER_HOURS = "after_hours"


@dataclass(frozen=True)
class CallContext:
    """What the agent knows about the call before it is answered."""

    #: From ivr.schedule.is_open at answer time.
    after_hours: bool = False
    #: Known unit of the caller (e.g. from an earlier log entry), for the whisper.
    unit: str | None = None
    caller_number: str | None = None
    #: The agent sends SpeechStarted/SpeechStopped. Only then can the flow tell
    #: a silent caller from one it cannot hear, and end a message on silence
    #: itself; without a VAD the recorder applies StartRecording.silence_s.
    vad: bool = False


# ---------------------------------------------------------------- events in


@dataclass(frozen=True)
class Answered:
    """The agent has answered the caller (200 OK sent, ACK received, media flowing)."""


@dataclass(frozen=True)
class PromptFinished:
    """The prompt named `prompt` has been played to its end (or was stopped)."""

    prompt: str


@dataclass(frozen=True)
class Digit:
    """A DTMF key from the caller (RFC 2833 event or SIP INFO): 0-9, * or #."""

    digit: str


@dataclass(frozen=True)
class SpeechStarted:
    """The caller started speaking (voice activity detected)."""


@dataclass(frozen=True)
class SpeechStopped:
    """The caller stopped speaking."""


@dataclass(frozen=True)
class Silence:
    """The caller has been silent for `seconds` (sent by a VAD that counts itself)."""

    seconds: float


@dataclass(frozen=True)
class Timeout:
    """The timer started by `StartTimer(name)` ran out."""

    timer: str


@dataclass(frozen=True)
class FarEndAnswered:
    """The dialled leg answered and its whisper has been played to it."""

    leg: str


@dataclass(frozen=True)
class FarEndBusy:
    """The dialled leg is busy (486/600) or refused the call."""

    leg: str


@dataclass(frozen=True)
class FarEndNoAnswer:
    """The dialled leg gave up: 408/480/404, unregistered, or its own timer."""

    leg: str


@dataclass(frozen=True)
class HungUp:
    """A side hung up: "caller", or "clerk" for the dialled or bridged leg."""

    side: Literal["caller", "clerk"]


@dataclass(frozen=True)
class RecordingFinished:
    """The recorder stopped by itself: "digit", "silence", "max_length", "error"..."""

    reason: str


Event = (
    Answered
    | PromptFinished
    | Digit
    | SpeechStarted
    | SpeechStopped
    | Silence
    | Timeout
    | FarEndAnswered
    | FarEndBusy
    | FarEndNoAnswer
    | HungUp
    | RecordingFinished
)

# -------------------------------------------------------------- actions out


@dataclass(frozen=True)
class Play:
    """Play `text` to the caller; answer with PromptFinished(prompt_name) when done."""

    prompt_name: str
    text: str
    barge_in: bool = False


@dataclass(frozen=True)
class StopPlaying:
    """Stop the prompt now playing (a key barged in); no PromptFinished is needed."""


@dataclass(frozen=True)
class Beep:
    """A short tone to the caller: "speak now" and "recorded"."""


@dataclass(frozen=True)
class StartRecording:
    """Record the caller's message; the flow stops it (StopRecording) on its limits."""

    max_s: float
    silence_s: float
    stop_digit: str = "#"


@dataclass(frozen=True)
class StopRecording:
    """Close the message recording."""


@dataclass(frozen=True)
class StartTimer:
    """Send Timeout(name) after `seconds`; starting a running timer restarts it."""

    name: str
    seconds: float


@dataclass(frozen=True)
class CancelTimer:
    name: str


@dataclass(frozen=True)
class Dial:
    """Call `extension` as `leg`; whisper to it on answer, then send FarEndAnswered."""

    leg: str
    extension: str
    user_id: int | None
    whisper_text: str
    timeout_s: float


@dataclass(frozen=True)
class DropLeg:
    """Give up a dialled leg: CANCEL while it rings, BYE once answered."""

    leg: str


@dataclass(frozen=True)
class Bridge:
    """Join the caller and `leg` (two-channel recording: left caller, right clerk)."""

    leg: str


@dataclass(frozen=True)
class HangUp:
    """End the call with the caller (BYE); the flow is over."""

    cause: str


@dataclass(frozen=True)
class Log:
    """Facts for the call record and the reception log (ended_in, category, ...)."""

    values: dict[str, Any] = field(default_factory=dict)


Action = (
    Play
    | StopPlaying
    | Beep
    | StartRecording
    | StopRecording
    | StartTimer
    | CancelTimer
    | Dial
    | DropLeg
    | Bridge
    | HangUp
    | Log
)
