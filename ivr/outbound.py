"""The agent calls residents (issue 22): takes due tasks from the shared queue
(recorder/outbound.py), places each call, runs the survey (ivr/survey.py) and writes what
came of it.

Every call is in the call log with direction `outbound`, recorded like an inbound one
(the resident's side, mono), and left out of the inbound service level. An attempt that
does not reach the resident is recorded as what it was, from the final status of the
INVITE (486/600 busy, 603 rejected, 408/480/487 or the agent's ring time no answer,
anything else failed: the call log's hangup cause says which), and the task is tried
again by the rules (recorder/outbound_rules.py).

Key 0 puts the resident through to the duty clerk (ivr/outbound_clerk.py). A missed
call's call-back (recorder/outbound_callbacks.py) runs the inbound flow's menu after its
own greeting.

One `Dialer` per agent process: `run()` looks for work every `outbound.poll_s` and
places up to `outbound.max_calls` calls at once, each on a thread of its own, all joined
by `stop()`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from ivr.call_media import CallMedia
from ivr.call_recording import Recorders
from ivr.flow import CallFlow
from ivr.flow_config import Greeting
from ivr.flow_events import Answered, CallContext
from ivr.flow_runner import FlowRunner, Machine, Media
from ivr.flow_timers import Scheduler
from ivr.outbound_attempts import attempt_of, outbound_uri, rang_to_answer
from ivr.outbound_clerk import ClerkBridge, clerks_rung, survey_bridge, whisper
from ivr.outbound_comment import Marks, Recordings, Transcribe, keep, note
from ivr.outbound_desk import DeskCalls
from ivr.outbound_texts import texts_for
from ivr.phone import Call
from ivr.script import ScriptContent
from ivr.settings import AgentSettings, OutboundSettings, SipSettings
from ivr.survey import Survey, SurveyTexts, closing_names, prompt_names
from recorder import desk_callbacks as desk
from recorder import outbound as tasks
from recorder import outbound_callbacks as callbacks
from recorder import outbound_letters as letters
from recorder.calls import CallLog
from recorder.models import AnsweredBy, Direction, Disposition
from recorder.outbound_models import Attempt, LetterResult, OutboundTask, SurveyResult, TaskKind
from recorder.settings import OrganizationSettings, PathSettings

logger = logging.getLogger(__name__)
CALL_BACK_GREETING = "call_back_greeting"  # a call-back's first words, before the menu


class DialerSettings(Protocol):
    @property
    def organization(self) -> OrganizationSettings: ...
    @property
    def paths(self) -> PathSettings: ...
    @property
    def sip(self) -> SipSettings: ...
    @property
    def agent(self) -> AgentSettings: ...
    @property
    def outbound(self) -> OutboundSettings: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
    def monotonic(self) -> float: ...


@dataclass(frozen=True)
class Placed:
    """What one call came to (for the log and the tests)."""

    task_id: int
    call_id: str | None
    attempt: Attempt
    result: str | None = None


class Dialer:
    def __init__(
        self,
        settings: DialerSettings,
        sessions: sessionmaker[Session],
        call_log: CallLog,
        dial: Callable[[str], Call],
        prompts: Callable[[str, str], bytes],
        content: ScriptContent,
        scheduler: Scheduler,
        clock: Clock,
        owner: str | None = None,
        clerks: ClerkBridge | None = None,
        transcribe: Transcribe | None = None,
    ) -> None:
        self._settings = settings
        self._clerks = clerks
        self._transcribe = transcribe
        self._sessions = sessions
        self._log = call_log
        self._dial = dial
        self._prompts = prompts
        self._content = content
        self._scheduler = scheduler
        self._clock = clock
        self.owner = owner or f"agent-{uuid.uuid4().hex[:8]}"
        self._plan = settings.outbound.plan(settings.organization.timezone)
        self._zone = ZoneInfo(settings.organization.timezone)
        self._recordings = Recordings(call_log, settings.paths.recordings, self._zone, clock)
        self._threads: list[threading.Thread] = []
        self.stopping = threading.Event()
        self._desk = DeskCalls.of(  # the desk's 回电 (ivr/outbound_desk.py)
            settings, sessions, call_log, dial, prompts, content, clerks, scheduler, clock
        )
        self._desk.recordings, self._desk.stopping = self._recordings, self.stopping
        self.placed: list[Placed] = []

    # ------------------------------------------------------------ the queue

    def run(self) -> None:
        """Until `stopping`: look for work, then wait `poll_s`."""
        self.prepare()
        while not self.stopping.is_set():
            try:
                self.tick()
            except Exception:  # the database is away: try again next time
                logger.exception("outbound: could not read the task queue")
            self.stopping.wait(self._settings.outbound.poll_s)

    def prepare(self) -> None:
        """Synthesise the fixed prompts (the questions, the closings) before any call."""
        content = self._content
        for name in prompt_names():
            if name.endswith("_question"):
                self._prompts(name, content.prompt(name))
        for name in closing_names():
            self._prompts(f"closing.{name}", content.closing(name))
        if self._clerks is not None:
            transfer = self._clerks.transfer
            self._prompts(transfer.prompt, content.prompt(transfer.prompt))
            self._prompts(f"closing.{transfer.closing}", content.closing(transfer.closing))

    def tick(self) -> list[threading.Thread]:
        """Make the tasks that fell due, then start calls while there is room."""
        now, outbound = self._clock.now(), self._settings.outbound
        with self._sessions.begin() as session:
            delay = timedelta(hours=outbound.follow_up_after_hours)
            made = tasks.create_follow_ups(session, now, self._plan, delay)
            made += letters.create_confirmations(session, now, self._plan)
            if outbound.call_back and self._clerks is not None and self._clerks.flow is not None:
                within = timedelta(minutes=outbound.call_back_within_minutes)
                made += callbacks.create_call_backs(session, now, self._plan, within)
            expired = desk.expired(session, now, self._zone.key)  # the entry says so
            expired += tasks.expire(session, now) + tasks.cancel_settled(session)
            stale = timedelta(seconds=outbound.ring_timeout_s) + timedelta(minutes=30)
            tasks.release_stale(session, now, stale)
        if made or expired:
            logger.info(
                "outbound: %d follow-up tasks due, %d expired or settled", len(made), expired
            )
        self._threads = [t for t in self._threads if t.is_alive()]
        started = []
        while len(self._threads) < outbound.max_calls and not self.stopping.is_set():
            with self._sessions.begin() as session:
                task = tasks.claim(session, self._clock.now(), self.owner, self._plan.hours)
            if task is None:
                break
            thread = threading.Thread(
                target=self.call, args=(task,), name=f"outbound {task.id}", daemon=True
            )
            self._threads.append(thread)
            started.append(thread)
            thread.start()
        return started

    def stop(self, timeout: float = 10.0) -> None:
        """End the calls in progress (their tasks go back to the queue) and join them,
        then the timer thread when the scheduler has one (ThreadScheduler)."""
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout)
            if thread.is_alive():
                logger.error("outbound call %s did not end within %.0f s", thread.name, timeout)
        close = getattr(self._scheduler, "close", None)
        if close is not None:
            close()

    # ------------------------------------------------------------ one call

    def call(self, task: OutboundTask) -> Placed:
        """Place `task`'s call and write what came of it; never raises."""
        try:
            placed = self._place(task)
        except Exception:
            logger.exception("[outbound %d] the call failed", task.id)
            placed = Placed(task.id, None, Attempt.FAILED)
            with contextlib.suppress(Exception), self._sessions.begin() as session:
                held = session.get_one(OutboundTask, task.id)
                tasks.attempt_failed(
                    session, held, Attempt.FAILED, None, self._clock.now(), self._plan
                )
        self.placed.append(placed)
        return placed

    def _place(self, task: OutboundTask) -> Placed:
        if task.kind is TaskKind.DESK_CALL_BACK:  # the clerk's phone first (ivr/outbound_desk.py)
            cid, attempt, result = self._desk.place(task)
            return Placed(task.id, cid, attempt, result)
        sip = self._settings.sip
        uri = outbound_uri(sip, task.number)
        texts = None if task.kind is TaskKind.CALL_BACK else self._texts(task)
        if texts is None:
            self._prompts(CALL_BACK_GREETING, self._content.prompt(CALL_BACK_GREETING))
        else:  # made before the call: no silence on answer
            self._prompts(texts.form.intro, texts.intro)
        if self._clerks is not None and texts is not None:  # the whisper, should 0 be pressed
            self._prompts("whisper", whisper(self._clerks, self._content, texts))
        invited = self._clock.now()
        call = self._dial(uri)  # waits for the first answer (100/180)
        try:
            return self._placed(task, call, uri, invited, texts)
        finally:
            if not call.ended:  # whatever went wrong, the resident's phone stops ringing
                call.cancel_or_hangup()

    def _placed(
        self,
        task: OutboundTask,
        call: Call,
        uri: str,
        invited: datetime,
        texts: SurveyTexts | None,
    ) -> Placed:
        sip, cid = self._settings.sip, call.call_id
        self._log.call_started(cid, sip.user, task.number, invited, Direction.OUTBOUND)
        logger.info("[%s] outbound %s to %s (task %d)", cid, task.kind.value, uri, task.id)
        if not self._rang_to_answer(call):
            attempt = Attempt.NO_ANSWER if not call.ended else attempt_of(call.final_status)
            cause = f"{call.final_status or 'CANCEL'} {attempt.value}"
            self._log.call_ended(cid, self._clock.now(), Disposition.FAILED, cause, "ringing")
            return self._settled(task, cid, attempt, None)
        self._log.call_answered(cid, self._clock.now(), 0, AnsweredBy.AGENT, codec=call.codec())
        if texts is None:  # a missed call returned: reached
            disposition, ended_in, cause = self._call_back(call)
            rtp = call.rtp_stats()
            self._log.call_ended(cid, self._clock.now(), disposition, cause, ended_in, rtp=rtp)
            return self._settled(task, cid, Attempt.ANSWERED, "reached")
        survey, ended_in, cause, comment = self._survey(call, texts)
        rtp = call.rtp_stats()
        self._log.call_ended(cid, self._clock.now(), Disposition.ANSWERED, cause, ended_in, rtp=rtp)
        if survey.result is None:
            return self._settled(task, cid, Attempt.NO_KEY, None)
        return self._settled(task, cid, Attempt.ANSWERED, survey.result, comment, survey.bridged)

    def _rang_to_answer(self, call: Call) -> bool:
        timeout = self._settings.outbound.ring_timeout_s
        return rang_to_answer(call, timeout, self._clock.monotonic, self.stopping)

    def _settled(
        self,
        task: OutboundTask,
        cid: str,
        attempt: Attempt,
        result: str | None,
        comment: str | None = None,
        bridged: bool = False,
    ) -> Placed:
        now = self._clock.now()
        with self._sessions.begin() as session:
            held = session.get_one(OutboundTask, task.id)
            if result is None and self.stopping.is_set():
                tasks.put_back(session, held, cid, now)
            elif result is None:
                tasks.attempt_failed(session, held, attempt, cid, now, self._plan)
                if held.kind is TaskKind.CALL_BACK:
                    callbacks.call_back_missed(session, held, attempt, now, self._zone.key)
            elif held.kind is TaskKind.CALL_BACK:
                callbacks.call_back_reached(session, held, cid, now, self._zone.key)
            elif held.kind is TaskKind.LETTER_CONFIRMATION:
                letters.letter_answered(session, held, LetterResult(result), cid, now, bridged)
            else:
                answer = SurveyResult(result)
                tasks.survey_answered(session, held, answer, cid, now, comment, bridged)
        logger.info("[%s] outbound task %d: %s %s", cid, task.id, attempt.value, result or "")
        return Placed(task.id, cid, attempt, result)

    def _texts(self, task: OutboundTask) -> SurveyTexts:
        with self._sessions() as session:
            return texts_for(session, task, self._content, self._settings.organization.timezone)

    def _survey(self, call: Call, texts: SurveyTexts) -> tuple[Survey, str, str, str | None]:
        """The survey on the answered call: (the machine, where it ended, cause, what the
        follow-up's notes add for the resident's spoken comment)."""
        cid = call.call_id
        bridge = survey_bridge(self._clerks, self._content, texts, cid)
        outbound = self._settings.outbound
        machine = Survey(
            texts,
            outbound.key_wait_s,
            bridge=bridge,
            comment_s=outbound.comment_s,
            comment_silence_s=outbound.comment_silence_s,
        )

        media = self._media(call)
        marks = Marks(media, self._clock.monotonic)
        recording = media.mono.path if media.mono is not None else None
        outcome, cause = self._run(machine, media, marks, cid)
        comment = keep(
            marks,
            recording,
            lambda: self._recordings.open(cid, 1, "comment"),
            lambda writer: self._recordings.close(cid, writer),
            self._transcribe,
            cid,
        )
        return machine, str(outcome.get("ended_in", machine.stage)), cause, note(comment)

    def _call_back(self, call: Call) -> tuple[Disposition, str, str]:
        """A missed call returned (outbound.call_back): the call-back greeting, then the
        usual menu (ivr/flow.py); (disposition, where it ended, cause). Answered, whoever
        hangs up: the resident was reached, not an inbound caller who gave up (abandoned)."""
        clerks, cid = self._clerks, call.call_id
        assert clerks is not None and clerks.flow is not None
        greeting = Greeting(prompt=CALL_BACK_GREETING, barge_in=False)
        flow = clerks.flow.model_copy(update={"greeting": greeting})
        try:
            roster = clerks.roster()
        except Exception:  # the database is away: 0 takes a message
            logger.exception("[%s] no duty roster", cid)
            roster = []
        machine = CallFlow(flow, self._content, roster, CallContext(caller_number=call.called))
        media = self._media(call)
        outcome, cause = self._run(machine, media, media, cid)
        category = outcome.get("category")
        if category not in (None, "other") and outcome.get("menu_digit"):  # a message left
            self._log.menu_chosen(cid, str(category))
        ended_in = str(outcome.get("ended_in", machine.stage.value))
        return Disposition.ANSWERED, ended_in, cause

    def _media(self, call: Call) -> CallMedia:
        """The answered call's media, its mono recording open."""
        cid = call.call_id

        def unreachable(uri: str) -> Call:
            raise RuntimeError(f"no duty roster to ring ({uri})")

        media = CallMedia(
            call,
            self._prompts,
            self._clerks.dial if self._clerks is not None else unreachable,
            Recorders(
                lambda channels, label: self._recordings.open(cid, channels, label),
                lambda writer: self._recordings.close(cid, writer),
            ),
            self.stopping,
            monotonic=self._clock.monotonic,
        )
        media.mono = self._recordings.open(cid, 1, "caller")
        return media

    def _run(
        self, machine: Machine, media: CallMedia, through: Media, cid: str
    ) -> tuple[dict[str, Any], str]:
        """`machine` on the call until it ends: (its outcome, the hang-up cause)."""
        if isinstance(through, Marks):
            through.restart()
        uri_for = self._clerks.uri_for if self._clerks is not None else str
        runner = FlowRunner(machine, through, self._scheduler, uri_for=uri_for, label=cid)
        media.attach(runner.feed)
        runner.feed(Answered())
        try:
            media.run(runner.done)
        finally:
            runner.close()
        outcome = runner.outcome
        clerks_rung(self._log, self._clock, self._scheduler.now(), cid, outcome, media)
        cause = "caller BYE" if outcome.get("hangup_by") == "caller" else "agent BYE"
        if self.stopping.is_set() and not runner.done.is_set():
            cause = "agent stopped"
        return outcome, cause
