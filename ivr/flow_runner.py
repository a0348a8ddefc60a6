"""The seam between the call flow (ivr/flow.py, no I/O) and the SIP agent.

How the agent plugs in.

1. At start-up (composition root), once::

       content = app.content
       flow_config = load_flow(settings, content)           # ivr.flow_config
       schedule = Schedule.from_settings(settings.organization)  # ivr.schedule
       scheduler = ThreadScheduler()                        # close() at shutdown
       uri_for = clerk_uri(settings.sip)                    # extension -> SIP URI

2. Per call, once it is answered (200 OK sent, ACK in, media flowing)::

       with sessions() as session:                          # a fresh roster per call
           roster = roster_clerks(duty_roster(session))     # recorder.staff
       context = call_context(schedule, answered_at_utc, caller_number=caller,
                              vad=<True if the agent sends SpeechStarted/Stopped>)
       machine = CallFlow(flow_config, content, roster, context)
       runner = FlowRunner(machine, media, scheduler, uri_for=uri_for, label=call_id)
       runner.feed(Answered())

   `media` is the agent's object for this call; it implements `Media` below.
   Each action becomes one `Media` call, in order:

   ==================  ==========================================================
   Play                media.play(name, text, barge_in): TTS/cached WAV to the
                       caller; when it ends feed PromptFinished(name)
   StopPlaying         media.stop_playing(): cut the prompt (a key barged in)
   Beep                media.beep(): a short tone to the caller
   StartRecording      media.start_recording(max_s, silence_s, stop_digit): mark
                       the start of the caller's message (the agent may record
                       the whole call; this marks the span). Without a VAD the
                       recorder applies silence_s itself: feed Silence(s) or
                       RecordingFinished("silence")
   StopRecording       media.stop_recording(): end of the message span
   Dial                media.dial(leg, uri, whisper, timeout_s): INVITE uri; on
                       200 OK play `whisper` to the clerk only, then feed
                       FarEndAnswered(leg)
   DropLeg             media.drop_leg(leg): CANCEL if ringing, BYE if answered
   Bridge              media.bridge(leg): audio both ways, two-channel recording
                       (left caller, right clerk)
   HangUp              media.hangup(cause): BYE to the caller; the flow is over
   StartTimer/Cancel   handled here with the scheduler (Timeout events)
   Log                 merged into `runner.outcome`
   ==================  ==========================================================

3. The agent feeds what happens on the call, from any thread (`feed` is
   serialised by a lock; events fed while actions run are queued):

   - PromptFinished(name) when a play has finished (not needed after stop_playing)
   - Digit("0".."9", "*", "#") once per key (RFC 2833 end of event, or SIP INFO)
   - SpeechStarted / SpeechStopped from a VAD (then CallContext.vad=True), or
     Silence(seconds) from the recorder's own silence measurement
   - FarEndBusy(leg) on 486/600/603; FarEndNoAnswer(leg) on 408/480/404/503 or
     any other final failure; HungUp("clerk") on the clerk's BYE
   - HungUp("caller") on the caller's BYE
   - RecordingFinished(reason) only if the recorder stopped on its own

   Timeout events come from the scheduler; the agent never sends them. Ring
   timeouts are the flow's: the agent need not time the INVITE itself.

4. When `runner.done` is set the flow is over. Call record:
   `CallLog.call_ended(call_id, at, call_disposition(runner.outcome), cause,
   ended_in=runner.outcome["ended_in"])`; `answered_by_user_id` (the clerk who
   answered) belongs on the call, and `rings` (each clerk's ring time and
   result, as `clerk_rings` makes them) go to `CallLog.clerks_rung`;
   category, responsible_user_id (首问负责人), promised_reply_minutes,
   reply_after_opening (use ivr.schedule.next_opening) and message_end go to the
   reception-log entry. Call `runner.close()` when the call is torn down early.

Media methods must return quickly (queue the audio, send the INVITE) and must
not wait for an event they would feed themselves: completion comes by `feed`.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from ivr.errors import ConfigError
from ivr.flow import CallContext
from ivr.flow_dial import Clerk
from ivr.flow_events import (
    Action,
    Beep,
    Bridge,
    CancelTimer,
    Dial,
    DropLeg,
    Event,
    FarEndAnswered,
    FarEndBusy,
    FarEndNoAnswer,
    HangUp,
    Log,
    Play,
    StartRecording,
    StartTimer,
    StopPlaying,
    StopRecording,
    Timeout,
)
from ivr.flow_timers import Scheduler, TimerHandle
from ivr.schedule import Schedule, is_open
from ivr.settings import SipSettings
from recorder.calls import ClerkRing
from recorder.models import Disposition, LegResult

logger = logging.getLogger(__name__)


class Media(Protocol):
    """What the agent does for the flow on one call; each call returns at once."""

    def play(self, prompt_name: str, text: str, barge_in: bool) -> None:
        """Play to the caller (TTS or cached WAV of `text`); then feed PromptFinished."""

    def stop_playing(self) -> None: ...

    def beep(self) -> None:
        """Queue a short tone (e.g. 400 ms of 1 kHz) to the caller."""

    def start_recording(self, max_s: float, silence_s: float, stop_digit: str) -> None: ...

    def stop_recording(self) -> None: ...

    def dial(self, leg: str, uri: str, whisper_text: str, timeout_s: float) -> None:
        """INVITE `uri`; on answer whisper to it, then feed FarEndAnswered(leg)."""

    def drop_leg(self, leg: str) -> None:
        """CANCEL a ringing leg or BYE an answered one."""

    def bridge(self, leg: str) -> None:
        """Join caller and leg both ways; record two channels (left caller, right clerk)."""

    def hangup(self, cause: str) -> None:
        """BYE to the caller; the flow is over."""


class Machine(Protocol):
    """A call's state machine: the inbound call flow (ivr/flow.py) or the follow-up
    survey (ivr/survey.py)."""

    @property
    def ended(self) -> bool: ...
    def handle(self, event: Event) -> list[Action]: ...


class FlowRunner:
    """Feeds events to one call's flow and carries its actions out on `Media`."""

    def __init__(
        self,
        machine: Machine,
        media: Media,
        scheduler: Scheduler,
        uri_for: Callable[[str], str] = str,
        label: str = "",
        on_stage: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.machine = machine
        self.media = media
        self.scheduler = scheduler
        self.uri_for = uri_for
        self.label = label
        self.outcome: dict[str, Any] = {"rings": []}
        self.done = threading.Event()
        self._lock = threading.RLock()
        self._queue: deque[Event] = deque()
        self._draining = False
        self._timers: dict[str, tuple[int, TimerHandle]] = {}
        self._generation = 0
        self._ringing: dict[str, tuple[float, Dial]] = {}
        #: The live desk's view (recorder/live_calls.py): told each new stage once.
        self._on_stage = on_stage
        self._dialled: dict[str, Dial] = {}
        self._bridged_leg = ""
        self._stage_seen: tuple[str, str] | None = None

    def feed(self, event: Event) -> None:
        """Hand the flow an event; safe from any thread and from inside a Media method."""
        with self._lock:
            self._queue.append(event)
            if self._draining:
                return  # fed from inside an action: the loop below takes it
            self._draining = True
            try:
                while self._queue:
                    self._step(self._queue.popleft())
            finally:
                self._draining = False
            self._report_stage()
            if self.machine.ended and not self.done.is_set():
                self.close()
                self.done.set()

    def _report_stage(self) -> None:
        """The flow's stage and its particulars (the menu's choice, the clerk bridged to),
        when they changed."""
        stage = getattr(self.machine, "stage", None)
        if self._on_stage is None or stage is None:
            return
        detail: dict[str, Any] = {}
        if self.outcome.get("category") not in (None, "other"):
            detail["category"] = str(self.outcome["category"])
        bridged = self._dialled.get(self._bridged_leg)
        if str(stage) == "bridge" and bridged is not None:
            detail.update(extension=bridged.extension, user_id=bridged.user_id)
        seen = (str(stage), repr(sorted(detail.items())))
        if seen != self._stage_seen:
            self._stage_seen = seen
            self._on_stage(str(stage), detail)

    def close(self) -> None:
        """Cancel the call's timers (the call is over or torn down)."""
        with self._lock:
            for _, handle in self._timers.values():
                handle.cancel()
            self._timers.clear()

    def _step(self, event: Event) -> None:
        logger.debug("[%s] %s", self.label, event)
        if isinstance(event, FarEndAnswered | FarEndBusy | FarEndNoAnswer):
            result = {FarEndAnswered: "answered", FarEndBusy: "busy"}.get(type(event), "no_answer")
            self._ring_ended(event.leg, result)
        self._execute(self.machine.handle(event))

    def _execute(self, actions: Iterable[Action]) -> None:
        for action in actions:
            logger.debug("[%s] -> %s", self.label, action)
            self._do(action)

    def _do(self, action: Action) -> None:
        media = self.media
        if isinstance(action, Play):
            media.play(action.prompt_name, action.text, action.barge_in)
        elif isinstance(action, StopPlaying):
            media.stop_playing()
        elif isinstance(action, Beep):
            media.beep()
        elif isinstance(action, StartRecording):
            media.start_recording(action.max_s, action.silence_s, action.stop_digit)
        elif isinstance(action, StopRecording):
            media.stop_recording()
        elif isinstance(action, StartTimer):
            self._start_timer(action.name, action.seconds)
        elif isinstance(action, CancelTimer):
            self._cancel_timer(action.name)
        elif isinstance(action, Dial):
            self._ringing[action.leg] = (self.scheduler.now(), action)
            self._dialled[action.leg] = action
            media.dial(
                action.leg, self.uri_for(action.extension), action.whisper_text, action.timeout_s
            )
        elif isinstance(action, DropLeg):
            self._ring_ended(action.leg, "no_answer")
            media.drop_leg(action.leg)
        elif isinstance(action, Bridge):
            self._bridged_leg = action.leg
            media.bridge(action.leg)
        elif isinstance(action, HangUp):
            media.hangup(action.cause)
        elif isinstance(action, Log):
            self.outcome.update(action.values)
            if "ended_in" in action.values:
                logger.info("[%s] call flow ended in %s", self.label, action.values["ended_in"])

    def _ring_ended(self, leg: str, result: str) -> None:
        """Note how long `leg` rang and how it ended (the clerk's ring time)."""
        started = self._ringing.pop(leg, None)
        if started is None:
            return
        at, dial = started
        self.outcome["rings"].append(
            {
                "leg": leg,
                "extension": dial.extension,
                "user_id": dial.user_id,
                "started_s": at,  # on the scheduler's clock
                "ring_s": round(self.scheduler.now() - at, 3),
                "result": result,
            }
        )

    def _start_timer(self, name: str, seconds: float) -> None:
        self._cancel_timer(name)
        self._generation += 1
        generation = self._generation
        handle = self.scheduler.call_later(seconds, lambda: self._fire(name, generation))
        self._timers[name] = (generation, handle)

    def _cancel_timer(self, name: str) -> None:
        current = self._timers.pop(name, None)
        if current is not None:
            current[1].cancel()

    def _fire(self, name: str, generation: int) -> None:
        with self._lock:
            current = self._timers.get(name)
            if current is None or current[0] != generation:
                return  # cancelled or restarted while this callback waited for the lock
            del self._timers[name]
            self.feed(Timeout(name))


def roster_clerks(users: Iterable[Any]) -> list[Clerk]:
    """The duty roster (recorder.staff.duty_roster) as the flow's clerks, in order."""
    return [
        Clerk(extension=u.extension, user_id=u.id, name=u.display_name)
        for u in users
        if u.extension
    ]


def call_context(
    schedule: Schedule,
    at: datetime,
    unit: str | None = None,
    caller_number: str | None = None,
    vad: bool = False,
) -> CallContext:
    """The flow's view of a call answered at `at` (aware): open or after hours."""
    return CallContext(
        after_hours=not is_open(schedule, at), unit=unit, caller_number=caller_number, vad=vad
    )


def clerk_rings(
    rings: Iterable[Mapping[str, Any]],
    now: datetime,
    scheduler_now: float,
    answered_at: Mapping[str, float] | None = None,
    refused: Mapping[str, str] | None = None,
) -> list[ClerkRing]:
    """The runner's `outcome["rings"]` as call-log records, in the order they were rung.

    `now` and `scheduler_now` are the same instant on the wall clock and on the
    scheduler's clock. The runner times a leg until the flow hears of it, so an
    answered leg would include the whisper: `answered_at` (the media's, on the
    scheduler's clock) gives the moment the phone really answered. `refused`
    says how the SIP layer saw a leg end unanswered ("busy", "failed").
    """
    answered_at, refused = answered_at or {}, refused or {}
    records = []
    for ring in sorted(rings, key=lambda r: float(r["started_s"])):
        leg, started = str(ring.get("leg", "")), float(ring["started_s"])
        seconds, result = float(ring["ring_s"]), str(ring["result"])
        if result == "answered" and leg in answered_at:
            seconds = max(0.0, answered_at[leg] - started)
        elif result != "answered" and leg in refused:
            result = refused[leg]
        records.append(
            ClerkRing(
                extension=str(ring["extension"]),
                user_id=ring.get("user_id"),
                rang_at=now - timedelta(seconds=scheduler_now - started),
                ring_seconds=round(seconds, 3),
                result=LegResult(result),
            )
        )
    return records


def call_disposition(outcome: dict[str, Any]) -> Disposition:
    """ABANDONED when the caller left before a message was taken or a clerk answered.

    Such calls are the ones to call back; Call.ended_in says where they were lost.
    """
    if outcome.get("hangup_by") != "caller":
        return Disposition.ANSWERED
    taken = "message_end" in outcome or "answered_by_user_id" in outcome
    return Disposition.ANSWERED if taken else Disposition.ABANDONED


def clerk_uri(sip: SipSettings) -> Callable[[str], str]:
    """Turns an extension into the URI to dial, from sip.clerk_uri_template."""
    template = sip.clerk_uri_template
    if "{registrar}" in template and not sip.registrar:
        raise ConfigError(
            "sip.clerk_uri_template uses {registrar} but sip.registrar is empty (direct mode): "
            "set a template such as sip:{extension}@10.0.0.5:5060"
        )

    def uri(extension: str) -> str:
        return template.format(extension=extension, registrar=sip.registrar)

    return uri
