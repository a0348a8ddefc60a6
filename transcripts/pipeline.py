"""From hang-up to a filled reception-log entry: transcribe, extract, log.

`Pipeline.process_call(call_id)` is the one job. It is idempotent: a call has
at most one entry (LogEntry.call_pk is unique) and one transcript per
channel and engine, so running it twice, or two workers at once, never
makes two. What it does depends on how the call ended:

- answered: every channel of the recording is transcribed with the shared
  Vosk engine and the entry filled from the caller's words; complaints go
  into the complaint register. Without a usable model the entry is written
  from what is known (time, number, needs_review) and the job waits; the
  sweep runs it again once a model is configured, and the empty fields are
  then filled (as the system, so each gets a revision row).
- missed (hung up while it rang) or abandoned (during the greeting): an
  entry "未接来电，请回电" assigned to the duty clerk, because first-question
  responsibility (首问责任制) covers callers nobody spoke to as well.
- answered elsewhere (a clerk's phone in the ring group picked up first): no
  entry and no call-back; the clerk who spoke with the caller logs it.

`sweep()` finds the calls that still need work (a job lost with a killed
worker, a job waiting for a model, a failed one due another try).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recorder import staff
from recorder.errors import CallNotReady
from recorder.jobs import job_row, lost_calls, record_failure, waiting_calls
from recorder.models import (
    CALLER_CHANNELS,
    Call,
    CallJob,
    CallLeg,
    Direction,
    Disposition,
    FieldSource,
    JobState,
    LogEntry,
    Recording,
    RecordingState,
    Transcript,
    Urgency,
    utcnow,
)
from recorder.reception_log import SYSTEM, act_as, new_entry, register_complaint
from recorder.stored_paths import resolve
from transcripts.call_audit import CallFacts, audit
from transcripts.fields import CategoryModel
from transcripts.rules import DeskContent
from transcripts.settings import TranscriptsSettings

if TYPE_CHECKING:
    from transcripts.fields import EntryFields
    from transcripts.training import TrainingReport

logger = logging.getLogger(__name__)

CALLBACK_SUMMARY = {
    Disposition.MISSED: "未接来电，请回电",
    Disposition.ABANDONED: "放弃来电（问候时挂断），请回电",
    Disposition.FAILED: "来电未接通，请回电",
}
__all__ = ["CALLBACK_SUMMARY", "CALLER_CHANNELS", "CallNotReady", "Outcome", "Pipeline"]


@dataclass(frozen=True)
class Outcome:
    entry_id: int | None
    state: JobState


class Pipeline:
    """Turns ended calls into log entries; one per worker process."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        content: DeskContent,
        settings: TranscriptsSettings,
        load_engine: Callable[[], object | None] | None = None,
        learned: CategoryModel | None = None,
        clock: Callable[[], datetime] = utcnow,
        after_hours: Callable[[datetime], bool] | None = None,
    ) -> None:
        #: Whether the agent played the after-hours script at a moment (the call flow's
        #: schedule); None: it always plays the daytime one.
        self._after_hours = after_hours
        self._sessions = sessions
        self._content = content
        self._settings = settings
        self._load_engine = load_engine or self._default_engine
        self._learned = learned
        self._clock = clock
        self._engine: object | None = None
        #: Told (audio seconds, decoding seconds) of each recording transcribed (the
        #: worker's real-time-factor metric, recorder/queue_metrics.py).
        self.on_transcribed: Callable[[float, float], None] | None = None

    def engine(self) -> object | None:
        """The shared speech engine, loaded on first use; None while no model is usable."""
        if self._engine is None:
            self._engine = self._load_engine()
        return self._engine

    def _default_engine(self) -> object | None:
        from transcripts.engine import SpeechEngine, is_usable, resolve_model
        from transcripts.errors import TranscriptionError

        path = resolve_model(self._settings)
        if path is None or not is_usable(path):
            return None
        try:
            return SpeechEngine.load(path, self._settings.transcription.language)
        except TranscriptionError as exc:
            logger.error("speech model unusable, transcription waits: %s", exc)
            return None

    def process_call(self, call_id: str) -> Outcome:
        facts = self._start(call_id)
        if isinstance(facts, Outcome):
            return facts  # done already: a duplicate enqueue
        if facts.answered_elsewhere:  # a clerk's phone in the ring group: theirs to log
            return self._finish(facts, None, JobState.DONE)
        if facts.outbound and facts.menu_category is None:  # its task wrote what came of it
            return self._finish(facts, None, JobState.DONE)
        if facts.disposition is not Disposition.ANSWERED:
            return self._finish(facts, self._callback_entry(facts), JobState.DONE)
        said = self._transcribe(facts)
        state = JobState.WAITING if said is None else JobState.DONE
        entry_id = self._answered_entry(facts, said)
        audit(
            self._sessions,
            self._content,
            self._settings,
            self._after_hours,
            self._job,
            facts,
            said,
        )
        return self._finish(facts, entry_id, state)

    def _start(self, call_id: str) -> CallFacts | Outcome:
        with self._sessions.begin() as session:
            call = session.scalar(select(Call).where(Call.call_id == call_id))
            if call is None or call.ended_at is None:
                raise CallNotReady(f"call {call_id!r} is unknown or still in progress")
            job = self._job(session, call.id)
            entry_id = session.scalar(select(LogEntry.id).where(LogEntry.call_pk == call.id))
            if job.state is JobState.DONE and entry_id is not None:
                return Outcome(entry_id, JobState.DONE)
            job.state, job.attempts = JobState.RUNNING, job.attempts + 1
            recordings = session.scalars(
                select(Recording.path).where(
                    Recording.call_pk == call.id,
                    Recording.state.in_([RecordingState.COMPLETE, RecordingState.REPAIRED]),
                )
            ).all()
            return CallFacts(
                call.id,
                call.disposition,
                call.invite_at,
                # A call-back the resident left a message on: the resident is the caller.
                call.called_number if call.direction is Direction.OUTBOUND else call.caller_number,
                call.answered_by_user_id,
                [str(resolve(self._settings.paths.data_dir, path)) for path in recordings],
                call.ring_count,
                call.ended_in,
                call.menu_category,
                call.answered_elsewhere,
                call.direction is Direction.IMPORTED,
                call.direction is Direction.OUTBOUND,
            )

    def _job(self, session: Session, call_pk: int) -> CallJob:
        """The call's job row, created if need be (two workers may race to it), locked."""
        return job_row(session, call_pk, self._clock())

    def _transcribe(self, facts: CallFacts) -> dict[str, str] | None:
        """Text per channel (stored as Transcript rows), or None while no model is usable."""
        with self._sessions() as session:
            stored = session.execute(
                select(Transcript.channel, Transcript.raw_text).where(
                    Transcript.call_pk == facts.pk
                )
            ).all()
        if stored:
            return {channel: text for channel, text in stored}
        if not facts.recordings:
            return {}
        engine = self.engine()
        if engine is None:
            return None
        results: dict[str, Any] = {}
        transcribe_file = engine.transcribe_file  # type: ignore[attr-defined]
        for path in facts.recordings:
            started = time.monotonic()
            channels = transcribe_file(path)
            results.update(channels)
            if self.on_transcribed is not None and channels:
                audio_s = max(result.duration_s for result in channels.values())
                self.on_transcribed(audio_s, time.monotonic() - started)
        self._store_transcripts(facts, results)
        return {channel: result.text for channel, result in results.items()}

    def _store_transcripts(self, facts: CallFacts, results: dict[str, Any]) -> None:
        with self._sessions.begin() as session:
            self._job(session, facts.pk)  # lock: another worker may store the same call
            store_transcripts(session, facts.pk, results)

    def _responsible(self, session: Session, facts: CallFacts) -> int | None:
        """Who owns the entry (首问责任制): the clerk who answered; else the first duty
        clerk rung for this call; else the first on today's roster (none was rung)."""
        if facts.answered_by_user_id is not None:
            return facts.answered_by_user_id
        first_rung = session.scalar(
            select(CallLeg.user_id)
            .where(CallLeg.call_pk == facts.pk, CallLeg.user_id.is_not(None))
            .order_by(CallLeg.seq)
            .limit(1)
        )
        if first_rung is not None:
            return first_rung
        roster = staff.duty_roster(session)
        return roster[0].id if roster else None

    def _callback_entry(self, facts: CallFacts) -> int | None:
        with self._sessions.begin() as session:
            self._job(session, facts.pk)  # lock: one writer per call at a time
            existing = session.scalar(select(LogEntry.id).where(LogEntry.call_pk == facts.pk))
            if existing is not None:
                return existing
            entry = new_entry(
                session,
                {
                    "call_pk": facts.pk,
                    "received_at": facts.invite_at,
                    "caller_number": facts.caller,
                    "phone": facts.caller,
                    "category": "other",
                    "summary": CALLBACK_SUMMARY.get(
                        facts.disposition, CALLBACK_SUMMARY[Disposition.MISSED]
                    ),
                    "responsible_user_id": self._responsible(session, facts),
                    "follow_up_due": facts.invite_at.date(),
                    **self._recognised(session, facts, None),
                },
                FieldSource.AUTO,
            )
            return self._flush_once(session, entry)

    def _answered_entry(self, facts: CallFacts, said: dict[str, str] | None) -> int | None:
        from transcripts.fields import fill_entry

        caller_text = " ".join(said.get(ch, "") for ch in CALLER_CHANNELS).strip() if said else ""
        lang = "en" if self._settings.transcription.language == "en" else "zh"
        fields = (
            fill_entry(caller_text, self._content, facts.invite_at, lang, learned=self._learned)
            if said is not None
            else None
        )
        with self._sessions.begin() as session:
            self._job(session, facts.pk)  # lock: one writer per call at a time
            entry = session.scalar(select(LogEntry).where(LogEntry.call_pk == facts.pk))
            if entry is None:
                values = {
                    "call_pk": facts.pk,
                    "received_at": facts.invite_at,
                    "caller_number": facts.caller,
                    "responsible_user_id": self._responsible(session, facts),
                    # Empty until the words exist: the desk shows "awaiting transcription"
                    # from the call's job, never a placeholder stored as the summary.
                    "summary": "",
                    "needs_review": True,
                }
                if fields is not None:
                    values.update(fields.as_log_values())
                values.update(self._recognised(session, facts, fields))
                if facts.menu_category and values.get("category") in (None, "other"):
                    # The caller pressed it (1 repairs, 2 complaints...): better than nothing.
                    values["category"] = facts.menu_category
                entry = new_entry(session, values, FieldSource.AUTO)
                entry_id = self._flush_once(session, entry)
            else:
                entry_id = entry.id
                if fields is not None:
                    recognised = self._recognised(session, facts, fields)
                    self._fill_empty(session, entry, {**fields.as_log_values(), **recognised})
            if fields is not None and fields.category == "complaint" and entry_id is not None:
                register_complaint(session, session.get_one(LogEntry, entry_id))
            return entry_id

    def _recognised(
        self, session: Session, facts: CallFacts, fields: EntryFields | None
    ) -> dict[str, Any]:
        """The caller's household from the directory (transcripts.caller), no model needed."""
        from transcripts.caller import recognise_in

        values = dict(recognise_in(session, facts.caller, fields).values)
        if "urgency" in values:
            values["urgency"] = Urgency(values["urgency"])
        return values

    def _fill_empty(self, session: Session, entry: LogEntry, values: dict[str, object]) -> None:
        """A waiting entry's fields, once its text exists: only those nobody has set."""
        act_as(session, SYSTEM)
        for name, value in values.items():
            current = getattr(entry, name)
            if (
                value is not None
                and current in (None, "", "other")
                and entry.field_sources.get(name) != "person"
            ):
                setattr(entry, name, value)

    def _flush_once(self, session: Session, entry: LogEntry) -> int:
        session.flush()
        return entry.id

    def _finish(self, facts: CallFacts, entry_id: int | None, state: JobState) -> Outcome:
        with self._sessions.begin() as session:
            job = self._job(session, facts.pk)
            job.state, job.last_error = state, None
        logger.info("call %s: entry %s, %s", facts.pk, entry_id, state.value)
        return Outcome(entry_id, state)

    def retrain_categories(self) -> TrainingReport | None:
        """The nightly training of the category model from clerks' corrections
        (transcripts.retraining.retrain); the model in use is loaded again at once if kept."""
        from transcripts.retraining import retrain

        report = retrain(self._sessions, self._settings, self._content.categories)
        refresh = getattr(self._learned, "refresh", None)
        if report is not None and refresh is not None:
            refresh(force=True)
        return report

    def failed(self, call_id: str, error: str, final: bool) -> int:
        """Record a failed attempt; returns the number of attempts so far."""
        with self._sessions.begin() as session:
            return record_failure(session, call_id, error, final, self._clock())

    def sweep(self, enqueue: Callable[[str], object]) -> list[str]:
        """Enqueue every call that still needs the pipeline; returns their Call-IDs."""
        now = self._clock()
        with self._sessions() as session:
            lost = lost_calls(session, now)
            waiting = waiting_calls(session, now)
        if waiting and self.engine() is None:
            waiting = []
        due = list(dict.fromkeys([*lost, *waiting]))
        for call_id in due:
            enqueue(call_id)
        return due


def store_transcripts(session: Session, call_pk: int, results: dict[str, Any]) -> None:
    """Transcript rows for a call's channels (TranscriptResult values), skipping stored ones."""
    from transcripts.text import clean

    for channel, result in results.items():
        exists = session.scalar(
            select(Transcript.id).where(
                Transcript.call_pk == call_pk,
                Transcript.channel == channel,
                Transcript.engine == result.engine,
            )
        )
        if exists is None:
            session.add(
                Transcript(
                    call_pk=call_pk,
                    engine=result.engine,
                    model=result.model,
                    language=result.language,
                    channel=channel,
                    text=clean(result.text),
                    raw_text=result.text,
                    words=result.words,
                )
            )
