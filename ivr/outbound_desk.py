"""回电 from the desk (issue 19; recorder/desk_callbacks.py): the agent rings the clerk's
own phone first; when the clerk answers it says whom it is calling (desk_call_back_intro:
the unit and surname the entry has), dials the resident (with the site's caller ID, as
every call to a resident) and, when the resident answers and has heard who is calling
(call_back_greeting with the clerk's job number, 报号), bridges the two as the inbound
flow's 0 does (docs/bridge.md: ivr/call_media.CallMedia), recorded in two channels,
the resident left and the clerk right.

What is kept: one call in the call log (direction outbound, its id the clerk leg's, the
resident's number as the number called), the clerk's phone as the call's leg and the
clerk as who took it; the resident busy, not answering or refusing ends the call
`failed` with the SIP status in its hang-up cause, after the clerk is told
(desk_call_back_failed). The clerk not answering: the leg `no_answer`/`busy`, the call
`failed` with ended_in `clerk`. Each outcome is on the missed entry (handling).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from ivr.call_media import CallMedia
from ivr.call_recording import Recorders
from ivr.flow_events import (
    Action,
    Answered,
    Bridge,
    CancelTimer,
    Dial,
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
    StartTimer,
    Timeout,
)
from ivr.flow_runner import FlowRunner
from ivr.flow_timers import Scheduler
from ivr.leg_status import leg_result
from ivr.outbound_attempts import outbound_uri, rang_to_answer
from ivr.outbound_clerk import ClerkBridge
from ivr.outbound_comment import Recordings
from ivr.phone import Call
from ivr.script import ScriptContent
from ivr.settings import OutboundSettings, SipSettings
from recorder import desk_callbacks as desk
from recorder.calls import CallLog, ClerkRing
from recorder.models import AnsweredBy, Direction, Disposition, LegResult
from recorder.outbound_models import Attempt, OutboundTask
from recorder.settings import OrganizationSettings

logger = logging.getLogger(__name__)
INTRO = "desk_call_back_intro"  # to the clerk: 回电：3栋2单元501 张，正在接通
FAILED = "desk_call_back_failed"  # to the clerk: the resident was not reached
GREETING = "call_back_greeting"  # to the resident on answering (报号)
RESIDENT = "resident"  # the leg
RING_TIMER = "desk_ring"
ATTEMPTS = {"busy": Attempt.BUSY, "failed": Attempt.FAILED, "no_answer": Attempt.NO_ANSWER}


class Clock(Protocol):
    def now(self) -> datetime: ...
    def monotonic(self) -> float: ...


class DeskSettings(Protocol):
    @property
    def organization(self) -> OrganizationSettings: ...
    @property
    def sip(self) -> SipSettings: ...
    @property
    def outbound(self) -> OutboundSettings: ...


class DeskCallBack:
    """The call once the clerk has answered: `handle(event)` -> actions (no I/O), run by
    ivr.flow_runner.FlowRunner. The runner's "caller" is the clerk; its leg the resident."""

    def __init__(
        self,
        number: str,
        intro: str,
        greeting: str,
        failed: str,
        ring_timeout_s: float,
        greeting_s: float = 0.0,
    ) -> None:
        self._number, self._intro, self._greeting = number, intro, greeting
        self._failed, self._ring_s = failed, ring_timeout_s
        #: The resident's leg is reported answered once the greeting is said: the ring
        #: time is given that much more, not to drop a resident who answered late.
        self._greeting_s = greeting_s
        self.stage = "intro"
        self.resident: str | None = None  # answered / busy / no_answer / failed
        self.ended = False

    def handle(self, event: Event) -> list[Action]:
        if self.ended:
            return []
        if isinstance(event, Answered):
            return [Play(INTRO, self._intro, barge_in=False)]
        if isinstance(event, PromptFinished) and event.prompt == INTRO and self.stage == "intro":
            self.stage = "dialling"
            return [
                Dial(RESIDENT, self._number, None, self._greeting, self._ring_s),
                StartTimer(RING_TIMER, self._ring_s + self._greeting_s),
            ]
        if isinstance(event, FarEndAnswered) and self.stage == "dialling":
            self.stage, self.resident = "bridge", "answered"
            return [CancelTimer(RING_TIMER), Bridge(event.leg), Log({"resident": "answered"})]
        if isinstance(event, FarEndBusy | FarEndNoAnswer) and self.stage == "dialling":
            return self._not_reached("busy" if isinstance(event, FarEndBusy) else "no_answer")
        if isinstance(event, Timeout) and event.timer == RING_TIMER and self.stage == "dialling":
            return [DropLeg(RESIDENT), *self._not_reached("no_answer")]
        if isinstance(event, PromptFinished) and event.prompt == FAILED:
            self.ended = True
            return [Log({"ended_in": "closing"}), HangUp("agent BYE")]
        if isinstance(event, HungUp) and event.side == "clerk":  # the resident's leg ended
            if self.stage != "bridge":
                return []
            self.ended = True
            values = {"hangup_by": "resident", "ended_in": "bridge"}
            return [Log(values), HangUp("resident BYE")]
        if isinstance(event, HungUp):  # the clerk hung up
            self.ended = True
            drop: list[Action] = []
            if self.stage == "dialling":
                drop = [DropLeg(RESIDENT), CancelTimer(RING_TIMER)]
            return [*drop, Log({"hangup_by": "clerk", "ended_in": self.stage})]
        return []

    def _not_reached(self, result: str) -> list[Action]:
        self.stage, self.resident = "closing", result
        return [CancelTimer(RING_TIMER), Log({"resident": result}), Play(FAILED, self._failed)]


@dataclass
class DeskCalls:
    """Places the desk's call-backs for the Dialer (ivr/outbound.py)."""

    sessions: sessionmaker[Session]
    log: CallLog
    dial_resident: Callable[[str], Call]
    """Rings a resident (the site's caller ID)."""
    dial_clerk: Callable[[str], Call]
    """Rings a clerk's phone (the agent's own caller ID)."""
    clerk_uri: Callable[[str], str]
    resident_uri: Callable[[str], str]
    prompts: Callable[[str, str], bytes]
    content: ScriptContent
    scheduler: Scheduler
    clock: Clock
    timezone: str
    ring_timeout_s: float
    user: str
    """The agent's SIP user: the call log's caller."""
    recordings: Recordings | None = None
    """The Dialer's (ivr/outbound_comment.Recordings), set once it has made them."""
    stopping: threading.Event = field(default_factory=threading.Event)
    """The agent is stopping: the call ends (the Dialer's)."""

    @classmethod
    def of(
        cls,
        settings: DeskSettings,
        sessions: sessionmaker[Session],
        log: CallLog,
        dial: Callable[[str], Call],
        prompts: Callable[[str, str], bytes],
        content: ScriptContent,
        clerks: ClerkBridge | None,
        scheduler: Scheduler,
        clock: Clock,
    ) -> DeskCalls:
        """The Dialer's desk call-backs: its way to ring residents, and the clerks' phones
        as key 0 rings them (none: every desk call-back fails, and the entry says so)."""
        sip = settings.sip

        def unreachable(uri: str) -> Call:
            raise RuntimeError(f"no address for the clerks' phones (sip.clerk_uri_template): {uri}")

        return cls(
            sessions,
            log,
            dial,
            clerks.dial if clerks is not None else unreachable,
            clerks.uri_for if clerks is not None else str,
            lambda number: outbound_uri(sip, number),
            prompts,
            content,
            scheduler,
            clock,
            settings.organization.timezone,
            settings.outbound.ring_timeout_s,
            sip.user,
        )

    def place(self, task: OutboundTask) -> tuple[str | None, Attempt, str | None]:
        """Ring the clerk, then the resident; write what came of it on the task and the
        entry. (the call's id, the attempt, "reached" or None)."""
        with self.sessions() as session:
            clerk = desk.clerk_of(session, task)
            said = desk.who(session, task)
        if clerk is None:
            logger.warning("desk call-back %d: the clerk has no extension any more", task.id)
            self._write(task, None, Attempt.FAILED, clerk_answered=False)
            return None, Attempt.FAILED, None
        content = self.content
        intro = content.prompt(INTRO, unit=said)
        greeting = content.prompt(GREETING, job_number=clerk.job_number)
        failed = content.prompt(FAILED)
        self.prompts(INTRO, intro)  # made before the clerk's phone rings
        invited, started = self.clock.now(), self.clock.monotonic()
        call = self.dial_clerk(self.clerk_uri(clerk.extension))
        cid = call.call_id
        try:
            self.log.call_started(cid, self.user, task.number, invited, Direction.OUTBOUND)
            logger.info("[%s] desk call-back %d: ringing clerk %s", cid, task.id, clerk.extension)
            answered = self._rang(call)
            ring = ClerkRing(
                clerk.extension,
                clerk.user_id,
                invited,
                round(self.clock.monotonic() - started, 3),
                LegResult.ANSWERED if answered else LegResult(_clerk_result(call)),
            )
            self.log.clerks_rung(cid, [ring])
            if not answered:
                attempt = ATTEMPTS.get(ring.result.value, Attempt.NO_ANSWER)
                cause = f"clerk {call.final_status or 'CANCEL'} {ring.result.value}"
                self.log.call_ended(cid, self.clock.now(), Disposition.FAILED, cause, "clerk")
                self._write(task, cid, attempt, clerk_answered=False)
                return cid, attempt, None
            at = self.clock.now()
            self.log.call_answered(
                cid, at, 0, AnsweredBy.STAFF, user_id=clerk.user_id, codec=call.codec()
            )
            self.log.staff_joined(cid, clerk.user_id, at)
            greeting_s = len(self.prompts("whisper", greeting)) / 16000  # 8 kHz 16-bit
            machine = DeskCallBack(
                task.number, intro, greeting, failed, self.ring_timeout_s, greeting_s
            )
            cause, refused = self._run(call, machine)
            if machine.resident == "no_answer" and refused == "failed":
                machine.resident = "failed"  # not reachable (404, 5xx), not just unanswered
            reached = machine.resident == "answered"
            # The clerk hanging up before the resident answered: no answer.
            attempt = ATTEMPTS.get(machine.resident or "", Attempt.NO_ANSWER)
            attempt = Attempt.ANSWERED if reached else attempt
            disposition = Disposition.ANSWERED if reached else Disposition.FAILED
            if not reached and machine.resident:
                cause = f"resident {machine.resident}; {cause}"
            ended_in = machine.stage
            self.log.call_ended(
                cid, self.clock.now(), disposition, cause, ended_in, rtp=call.rtp_stats()
            )
            self._write(task, cid, attempt, clerk_answered=True)
            return cid, attempt, "reached" if reached else None
        finally:
            if not call.ended:
                call.cancel_or_hangup()

    def _rang(self, call: Call) -> bool:
        """The clerk's phone rings up to ring_timeout_s; True once answered."""
        return rang_to_answer(call, self.ring_timeout_s, self.clock.monotonic, self.stopping)

    def _run(self, call: Call, machine: DeskCallBack) -> tuple[str, str | None]:
        """The call from the clerk's answer on: (the hang-up cause, how the resident's leg
        ended unanswered as SIP told: "busy", "failed"... or None)."""
        cid, recordings = call.call_id, self.recordings
        assert recordings is not None, "the Dialer sets its recordings"
        media = CallMedia(
            call,
            self.prompts,
            self.dial_resident,
            Recorders(
                lambda channels, label: recordings.open(cid, channels, label),
                lambda writer: recordings.close(cid, writer),
            ),
            self.stopping,
            monotonic=self.clock.monotonic,
            staff_call=True,
        )
        runner = FlowRunner(machine, media, self.scheduler, uri_for=self.resident_uri, label=cid)
        media.attach(runner.feed)
        runner.feed(Answered())
        try:
            media.run(runner.done)
        finally:
            runner.close()
        by = runner.outcome.get("hangup_by")
        cause = {"clerk": "clerk BYE", "resident": "resident BYE"}.get(str(by), "agent BYE")
        if self.stopping.is_set() and not runner.done.is_set():
            cause = "agent stopped"
        return cause, media.leg_results.get(RESIDENT)

    def _write(
        self, task: OutboundTask, cid: str | None, attempt: Attempt, clerk_answered: bool
    ) -> None:
        now = self.clock.now()
        with self.sessions.begin() as session:
            held = session.get_one(OutboundTask, task.id)
            if attempt is Attempt.ANSWERED and cid is not None:
                done = desk.reached(session, held, cid, now, self.timezone)
                logger.info("[%s] desk call-back %d reached: entries %s", cid, task.id, done)
            else:
                desk.missed(session, held, attempt, cid, now, self.timezone, clerk_answered)


def _clerk_result(call: Call) -> str:
    """How the clerk's unanswered phone ended: the final status of the INVITE, or our
    CANCEL when it rang out."""
    return "no_answer" if call.final_status is None else leg_result(call.final_status)
