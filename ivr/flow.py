"""The call flow as a state machine that does no I/O: events in, actions out.

`CallFlow.handle(event)` returns the actions the agent must carry out, in
order. It knows nothing of sockets, threads or clocks: time reaches it only
as `Timeout` events for the timers it asked for. The script it follows is
data (config/flows/default.toml and the prompts of hotline.content).

Stages, as stored in `Call.ended_in` when the call ends in them:
ringing, greeting, menu, message, bridge, closing, after_hours.

Facts for the call record come out as `Log` actions; their keys:
after_hours, menu_digit, menu_fallback, route, category, message_end,
promised_reply_minutes, reply_after_opening, clerks_tried, answered_by_user_id,
responsible_user_id, bridge_ended_by, hangup_by, ended_in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ivr.flow_config import Choice, FlowConfig, Menu, Transfer
from ivr.flow_dial import Clerk, Dialler
from ivr.flow_events import (
    Action,
    Answered,
    Beep,
    Bridge,
    CallContext,
    CancelTimer,
    Dial,
    Digit,
    DropLeg,
    Event,
    FarEndAnswered,
    FarEndBusy,
    FarEndNoAnswer,
    HangUp,
    HungUp,
    Log,
    Play,
    PromptFinished,
    RecordingFinished,
    Silence,
    SpeechStarted,
    SpeechStopped,
    Stage,
    StartRecording,
    StartTimer,
    StopPlaying,
    StopRecording,
    Timeout,
)
from ivr.script import ScriptContent

__all__ = ["CallContext", "CallFlow", "Clerk", "Stage"]

MENU_TIMER = "menu"
RING_TIMER = "ring"
SILENCE_TIMER = "silence"
MESSAGE_TIMER = "message_max"


class CallFlow:
    """One call's flow; feed it events with `handle`, carry out what it returns."""

    def __init__(
        self,
        flow: FlowConfig,
        content: ScriptContent,
        roster: Sequence[Clerk],
        context: CallContext | None = None,
    ) -> None:
        self.flow = flow
        self.content = content
        self.roster = list(roster)
        self.context = context or CallContext()
        self.stage = Stage.RINGING
        self.ended = False
        self._step = "ringing"
        self._playing: str | None = None
        self._timers: set[str] = set()
        self._menu: Menu = flow.menu
        self._attempts = 0
        self._category = "other"
        self._recording = False
        self._dialling: Dialler | None = None
        self._out: list[Action] = []

    # ------------------------------------------------------------ dispatch

    def handle(self, event: Event) -> list[Action]:
        """The actions `event` calls for, in the order they must be carried out."""
        if self.ended:
            return []
        self._out = []
        if isinstance(event, Timeout):
            if event.timer not in self._timers:
                return []  # cancelled, or already handled
            self._timers.discard(event.timer)
        handler = getattr(self, f"_on_{type(event).__name__}")
        handler(event)
        out, self._out = self._out, []
        return out

    def _on_Answered(self, _event: Answered) -> None:
        if self.stage is not Stage.RINGING:
            return
        self._log(after_hours=self.context.after_hours)
        if self.context.after_hours:
            self.stage = Stage.AFTER_HOURS
            self._menu = self.flow.after_hours.menu
            self._start_menu()
            return
        self.stage = Stage.GREETING
        self._step = "greeting"
        self._play(self.flow.greeting.prompt, barge_in=self.flow.greeting.barge_in)

    def _on_PromptFinished(self, event: PromptFinished) -> None:
        if event.prompt != self._playing:
            return  # a prompt stopped by a key, or a late report
        self._playing = None
        step = self._step
        if step == "greeting":
            self.stage = Stage.MENU
            self._start_menu()
        elif step == "menu":
            self._step = "menu_wait"
            self._start_timer(MENU_TIMER, self._menu.timeout_s)
        elif step == "menu_retry":
            self._start_menu()
        elif step == "ask_details":
            self._begin_recording()
        elif step == "confirm":
            self._closing()
        elif step == "transfer":
            self._dial_next()
        elif step == "unavailable":
            assert self._dialling is not None
            self._start_message(self._dialling.message_category)
        elif step == "closing":
            self._end("normal clearing")

    def _on_Digit(self, event: Digit) -> None:
        digit = event.digit
        if self._step == "greeting" and self.flow.greeting.barge_in:
            self.stage = Stage.MENU
            self._stop_playing()
            self._choose(digit)
        elif self._step in ("menu", "menu_retry") and self._menu.barge_in:
            self._stop_playing()
            self._choose(digit)
        elif self._step == "menu_wait":
            self._cancel_timer(MENU_TIMER)
            self._choose(digit)
        elif self._step == "recording" and digit == self.flow.message.stop_digit:
            self._finish_message("digit")

    def _on_SpeechStarted(self, _event: SpeechStarted) -> None:
        if self._step == "recording":
            self._cancel_timer(SILENCE_TIMER)

    def _on_SpeechStopped(self, _event: SpeechStopped) -> None:
        if self._step == "recording":
            self._start_timer(SILENCE_TIMER, self.flow.message.silence_s)

    def _on_Silence(self, event: Silence) -> None:
        if self._step == "recording" and event.seconds >= self.flow.message.silence_s:
            self._finish_message("silence")

    def _on_RecordingFinished(self, event: RecordingFinished) -> None:
        if self._step == "recording":
            self._recording = False  # the recorder stopped by itself
            self._finish_message(event.reason)

    def _on_Timeout(self, event: Timeout) -> None:
        if event.timer == MENU_TIMER and self._step == "menu_wait":
            self._retry_or_fallback(self._menu.no_input_prompt)
        elif event.timer == SILENCE_TIMER and self._step == "recording":
            self._finish_message("silence")
        elif event.timer == MESSAGE_TIMER and self._step == "recording":
            self._finish_message("max_length")
        elif event.timer == RING_TIMER and self._step == "dialling":
            self._leg_failed("no_answer", drop=True)

    def _on_FarEndAnswered(self, event: FarEndAnswered) -> None:
        dialling = self._dialling
        if dialling is None or self._step != "dialling" or not dialling.is_ringing(event.leg):
            self._out.append(DropLeg(event.leg))  # answered too late: not wanted any more
            return
        self._cancel_timer(RING_TIMER)
        clerk = dialling.ended("answered")
        self._step = "bridged"
        self._out.append(Bridge(event.leg))
        self._log(
            clerks_tried=list(dialling.tried),
            answered_by_user_id=clerk.user_id,
            responsible_user_id=clerk.user_id,
        )

    def _on_FarEndBusy(self, event: FarEndBusy) -> None:
        if self._step == "dialling" and self._dialling and self._dialling.is_ringing(event.leg):
            self._leg_failed("busy", drop=False)

    def _on_FarEndNoAnswer(self, event: FarEndNoAnswer) -> None:
        if self._step == "dialling" and self._dialling and self._dialling.is_ringing(event.leg):
            self._leg_failed("no_answer", drop=False)

    def _on_HungUp(self, event: HungUp) -> None:
        if event.side == "caller":
            self._caller_gone()
        elif self._step == "bridged":
            assert self._dialling is not None
            self._dialling.leg = None
            self._log(bridge_ended_by="clerk")
            self.stage = Stage.CLOSING
            self._step = "closing"
            text = self.content.closing(self._dialling.transfer.closing)
            self._play(f"closing.{self._dialling.transfer.closing}", text=text)
        elif self._step == "dialling":
            self._leg_failed("no_answer", drop=False)

    # ---------------------------------------------------------------- menu

    def _start_menu(self) -> None:
        self._step = "menu"
        self._play(self._menu.prompt, barge_in=self._menu.barge_in)

    def _choose(self, digit: str) -> None:
        choice = self._menu.choices.get(digit)
        if choice is None:
            self._retry_or_fallback(self._menu.invalid_prompt)
            return
        self._log(menu_digit=digit)
        self._take(choice)

    def _retry_or_fallback(self, prompt: str) -> None:
        self._attempts += 1
        if self._attempts > self._menu.retries:
            self._log(menu_digit=None, menu_fallback=True)
            self._take(self._menu.fallback_choice())
            return
        self._step = "menu_retry"
        self._play(prompt, barge_in=self._menu.barge_in)

    def _take(self, choice: Choice) -> None:
        self._log(route=choice.action)
        if choice.action == "message":
            assert choice.category is not None
            self._start_message(choice.category)
        elif choice.action == "person":
            self._start_transfer(self.flow.person, choice, self.roster)
        else:
            engineers = [Clerk(extension=ext) for ext in self.flow.on_call.extensions]
            self._start_transfer(self.flow.on_call, choice, engineers)

    # ------------------------------------------------------------- message

    def _start_message(self, category: str) -> None:
        self._category = category
        self._log(category=category)
        self.stage = Stage.MESSAGE
        self._step = "ask_details"
        self._play(self.flow.message.prompt)

    def _begin_recording(self) -> None:
        message = self.flow.message
        self._step = "recording"
        self._recording = True
        self._out.append(Beep())
        self._out.append(StartRecording(message.max_s, message.silence_s, message.stop_digit))
        self._start_timer(MESSAGE_TIMER, message.max_s)
        if self.context.vad:
            self._start_timer(SILENCE_TIMER, message.silence_s)

    def _finish_message(self, reason: str) -> None:
        if self._recording:
            self._out.append(StopRecording())
            self._recording = False
        self._cancel_timer(SILENCE_TIMER)
        self._cancel_timer(MESSAGE_TIMER)
        self._log(message_end=reason)
        self.stage = Stage.CLOSING
        self._step = "confirm"
        self._out.append(Beep())
        self._play(self.flow.message.confirm_prompt)

    def _closing(self) -> None:
        self._step = "closing"
        if self.context.after_hours:
            self._log(reply_after_opening=True)
            self._play(self.flow.after_hours.closing_prompt)
            return
        category = self.content.categories.by_key(self._category)
        self._log(promised_reply_minutes=category.reply_within_minutes)
        name = self._category if self._category in self.content.script.closing else "default"
        self._play(f"closing.{name}", text=self.content.closing(name))

    # ------------------------------------------------------------ transfer

    def _start_transfer(self, transfer: Transfer, choice: Choice, clerks: Sequence[Clerk]) -> None:
        self.stage = Stage.BRIDGE
        first = clerks[0] if clerks and transfer is self.flow.person else None
        self._dialling = Dialler(transfer, choice, clerks, first)
        if not clerks:
            self._log(clerks_tried=[])
            self._unavailable()
            return
        self._step = "transfer"
        self._play(transfer.prompt)

    def _dial_next(self) -> None:
        dialling = self._dialling
        assert dialling is not None
        clerk = dialling.ring_next()
        if clerk is None:
            self._log(clerks_tried=list(dialling.tried))
            self._unavailable()
            return
        assert dialling.leg is not None
        self._step = "dialling"
        timeout = dialling.transfer.ring_timeout_s
        whisper = dialling.whisper(self.content, self.context.unit)
        self._out.append(Dial(dialling.leg, clerk.extension, clerk.user_id, whisper, timeout))
        self._start_timer(RING_TIMER, timeout)

    def _leg_failed(self, result: str, drop: bool) -> None:
        dialling = self._dialling
        assert dialling is not None and dialling.leg is not None
        self._cancel_timer(RING_TIMER)
        if drop:
            self._out.append(DropLeg(dialling.leg))
        dialling.ended(result)
        self._dial_next()

    def _unavailable(self) -> None:
        """Nobody answered: the caller leaves a message, owned by the duty clerk (首问责任制)."""
        dialling = self._dialling
        assert dialling is not None
        if dialling.first_receiver is not None:
            self._log(responsible_user_id=dialling.first_receiver.user_id)
        self._step = "unavailable"
        self._play(dialling.transfer.unavailable_prompt)

    # ----------------------------------------------------------- endings

    def _caller_gone(self) -> None:
        if self._recording:
            self._out.append(StopRecording())
            self._recording = False
            self._log(message_end="hangup")
        if self._dialling is not None and self._dialling.leg is not None:
            self._out.append(DropLeg(self._dialling.leg))
        self._cancel_all()
        self._log(hangup_by="caller", ended_in=self.stage.value)
        self.ended = True

    def _end(self, cause: str) -> None:
        self._cancel_all()
        self._log(hangup_by="agent", ended_in=self.stage.value)
        self._out.append(HangUp(cause))
        self.ended = True

    # ------------------------------------------------------------- helpers

    def _play(self, name: str, text: str | None = None, barge_in: bool = False) -> None:
        self._playing = name
        self._out.append(Play(name, self.content.prompt(name) if text is None else text, barge_in))

    def _stop_playing(self) -> None:
        if self._playing is not None:
            self._playing = None
            self._out.append(StopPlaying())

    def _start_timer(self, name: str, seconds: float) -> None:
        self._timers.add(name)
        self._out.append(StartTimer(name, seconds))

    def _cancel_timer(self, name: str) -> None:
        if name in self._timers:
            self._timers.discard(name)
            self._out.append(CancelTimer(name))

    def _cancel_all(self) -> None:
        for name in sorted(self._timers):
            self._cancel_timer(name)
        self._stop_playing()

    def _log(self, **values: Any) -> None:
        self._out.append(Log(values))
