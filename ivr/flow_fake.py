"""A `Media` for unit tests: notes every request and refuses impossible ones.

Shipped beside the real adapter's seam (ivr/flow_runner.py) so the flow can
be driven call by call without SIP: a test plays the caller and the clerks
by calling `press`, `answer`, `busy`, `hang_up` on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ivr.flow_events import (
    Digit,
    Event,
    FarEndAnswered,
    FarEndBusy,
    FarEndNoAnswer,
    HungUp,
    PromptFinished,
)


class FakeMediaError(AssertionError):
    """The flow asked for something a real phone line could not do."""


@dataclass
class FakeMedia:
    """Plays nothing; remembers what it was asked. `auto_finish`: prompts end at once."""

    auto_finish: bool = True
    runner: Any = None
    log: list[tuple[Any, ...]] = field(default_factory=list)
    playing: str | None = None
    recording: bool = False
    legs: dict[str, str] = field(default_factory=dict)
    bridged: str | None = None
    hung_up: str | None = None
    caller_gone: bool = False

    # ------------------------------------------------ Media, called by the runner

    def play(self, prompt_name: str, text: str, barge_in: bool) -> None:
        self._alive()
        self.log.append(("play", prompt_name, text))
        self.playing = prompt_name
        if self.auto_finish:
            self.finish_prompt()

    def stop_playing(self) -> None:
        self.log.append(("stop_playing",))
        self.playing = None

    def beep(self) -> None:
        self._alive()
        self.log.append(("beep",))

    def start_recording(self, max_s: float, silence_s: float, stop_digit: str) -> None:
        self._alive()
        if self.recording:
            raise FakeMediaError("start_recording while recording")
        self.recording = True
        self.log.append(("start_recording", max_s, silence_s, stop_digit))

    def stop_recording(self) -> None:
        if not self.recording:
            raise FakeMediaError("stop_recording without a recording")
        self.recording = False
        self.log.append(("stop_recording",))

    def dial(self, leg: str, uri: str, whisper_text: str, timeout_s: float) -> None:
        self._alive()
        if any(state in ("ringing", "answered") for state in self.legs.values()):
            raise FakeMediaError(f"dial {leg} while another leg is up: {self.legs}")
        self.legs[leg] = "ringing"
        self.log.append(("dial", leg, uri, whisper_text, timeout_s))

    def drop_leg(self, leg: str) -> None:
        if leg not in self.legs:
            raise FakeMediaError(f"drop_leg of unknown leg {leg}")
        self.legs[leg] = "dropped"
        self.log.append(("drop_leg", leg))

    def bridge(self, leg: str) -> None:
        if self.legs.get(leg) != "answered":
            raise FakeMediaError(f"bridge {leg} in state {self.legs.get(leg)}")
        self.bridged = leg
        self.log.append(("bridge", leg))

    def hangup(self, cause: str) -> None:
        self._alive()
        if self.recording:
            raise FakeMediaError("hangup while the message is still being recorded")
        self.hung_up = cause
        self.log.append(("hangup", cause))

    # ---------------------------------------------- the test plays the far ends

    def feed(self, event: Event) -> None:
        self.runner.feed(event)

    def finish_prompt(self) -> None:
        if self.playing is None:
            raise FakeMediaError("no prompt is playing")
        name, self.playing = self.playing, None
        self.feed(PromptFinished(name))

    def press(self, digits: str) -> None:
        for digit in digits:
            self.feed(Digit(digit))

    def answer(self, leg: str) -> None:
        self.legs[leg] = "answered"
        self.feed(FarEndAnswered(leg))

    def busy(self, leg: str) -> None:
        self.legs[leg] = "busy"
        self.feed(FarEndBusy(leg))

    def no_answer(self, leg: str) -> None:
        self.legs[leg] = "no_answer"
        self.feed(FarEndNoAnswer(leg))

    def hang_up(self, side: str = "caller") -> None:
        if side == "caller":
            self.caller_gone = True
        else:
            for leg, state in self.legs.items():
                if state in ("ringing", "answered"):
                    self.legs[leg] = "hung_up"
        self.feed(HungUp("caller" if side == "caller" else "clerk"))

    # ------------------------------------------------------------------ views

    def played(self) -> list[str]:
        return [entry[1] for entry in self.log if entry[0] == "play"]

    def texts(self) -> list[str]:
        return [entry[2] for entry in self.log if entry[0] == "play"]

    def dialled(self) -> list[tuple[str, str, str]]:
        return [(entry[1], entry[2], entry[3]) for entry in self.log if entry[0] == "dial"]

    def ringing_leg(self) -> str:
        legs = [leg for leg, state in self.legs.items() if state == "ringing"]
        if len(legs) != 1:
            raise FakeMediaError(f"expected one ringing leg, have {self.legs}")
        return legs[0]

    def _alive(self) -> None:
        if self.hung_up is not None or self.caller_gone:
            raise FakeMediaError(
                f"media used after the call ended ({self.hung_up or 'caller hung up'})"
            )
