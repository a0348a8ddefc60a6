"""A write-ahead journal for call events: no event is lost while the database is away.

The seeds ask that every call, complaint or request be recorded, by telephone
too, and at once (首问责任制培训细则 1.4.1.3 "应及时进行记录", 1.4.2.1.2
"对每一份投诉或意见均予以记录"; shared/seeds/000). The agent reports events
from its call threads and must never wait for the database, so:

1. `JournaledCallLog` appends each event as one JSON line to
   data_dir/journal/<UTC date>.jsonl, flushed and fsync'ed, *before* the
   call goes on (a few hundred microseconds to a few milliseconds);
2. one applier thread applies the events to the wrapped `DatabaseCallLog`
   in the order they were appended, retrying with back-off while the
   database is unreachable, and records the last sequence number applied in
   journal/applied (the watermark) whenever it has applied all there is, or
   every MARK_EVERY events under load;
3. on start, events after the watermark are replayed. Events applied but
   not yet marked (a kill in between) are applied a second time, which is
   harmless: every DatabaseCallLog method is idempotent.

An event the database refuses for good (not a connection error) is logged
and kept in journal/rejected.jsonl, and the applier goes on. If the journal
itself cannot be written (its disk full), the event is still applied from
memory and an ALARM is logged. Files fully applied and older than a day are
removed. The file format is in recorder/journal_files.py; docs/journal.md
has the figures.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from recorder.calls import Batching, CallLog, ClerkRing, RtpStats
from recorder.db_retry import Backoff, is_unreachable, retry_while_unreachable
from recorder.journal_files import (
    REJECTED,
    Event,
    JournalFiles,
    json_default,
)
from recorder.models import AnsweredBy, Direction, Disposition, utcnow
from recorder.wav import WavInfo

logger = logging.getLogger(__name__)

#: Under load the watermark is written every so many applied events (and whenever all are).
MARK_EVERY = 64
#: At most so many pending events, or so many seconds of applying them, go in one
#: transaction (a target with `batch`): a burst's first callers reach the desk while the
#: later ones are applied.
BATCH = 64
BATCH_S = 0.05


class JournaledCallLog(CallLog):
    """A CallLog that journals each event to disk, then applies it in a background thread."""

    def __init__(
        self,
        target: CallLog,  # what the events are applied to: a DatabaseCallLog
        folder: Path,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._target = target
        self._files = JournalFiles(folder)
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._lock = threading.Lock()  # appends: one sequence, one file position
        self._cond = threading.Condition()  # the pending events and the watermark
        self._halt = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._alarmed: set[str] = set()
        self._pruned_at: datetime | None = None
        self.applied = self._files.watermark()
        kept = [event for day in self._files.days() for event in self._files.read(day)]
        self._pending = deque(sorted((e for e in kept if e.seq > self.applied), key=_seq))
        self._next_seq = max([self.applied, *(e.seq for e in kept)]) + 1
        if self._pending:
            logger.warning(
                "journal %s: %d call events of an earlier run wait to be applied",
                folder,
                len(self._pending),
            )

    @property
    def folder(self) -> Path:
        return self._files.folder

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    # The CallLog protocol: each method journals its event and returns.

    def call_started(
        self,
        call_id: str,
        caller: str | None,
        called: str | None,
        at: datetime,
        direction: Direction = Direction.INBOUND,
    ) -> None:
        self._append(
            "call_started",
            call_id=call_id,
            caller=caller,
            called=called,
            at=at,
            direction=direction,
        )

    def call_ringing(self, call_id: str, at: datetime) -> None:
        self._append("call_ringing", call_id=call_id, at=at)

    def call_answered(
        self,
        call_id: str,
        at: datetime,
        ring_count: int,
        answered_by: AnsweredBy,
        user_id: int | None = None,
        codec: str | None = None,
        answerer: str | None = None,
    ) -> None:
        self._append(
            "call_answered",
            call_id=call_id,
            at=at,
            ring_count=ring_count,
            answered_by=answered_by,
            user_id=user_id,
            codec=codec,
            **({"answerer": answerer} if answerer else {}),
        )

    def menu_chosen(self, call_id: str, category: str) -> None:
        self._append("menu_chosen", call_id=call_id, category=category)

    def staff_joined(self, call_id: str, user_id: int | None, at: datetime) -> None:
        self._append("staff_joined", call_id=call_id, user_id=user_id, at=at)

    def call_stage(
        self, call_id: str, stage: str, at: datetime, detail: dict[str, Any] | None = None
    ) -> None:
        self._append("call_stage", call_id=call_id, stage=stage, at=at, detail=detail)

    def clerks_rung(self, call_id: str, rings: Sequence[ClerkRing]) -> None:
        self._append("clerks_rung", call_id=call_id, rings=[ring.as_json() for ring in rings])

    def recording_started(
        self, call_id: str, path: Path, channels: str, sample_rate: int, at: datetime
    ) -> None:
        self._append(
            "recording_started",
            call_id=call_id,
            path=path,
            channels=channels,
            sample_rate=sample_rate,
            at=at,
        )

    def recording_closed(self, call_id: str, info: WavInfo, at: datetime) -> None:
        self._append("recording_closed", call_id=call_id, info=info, at=at)

    def call_ended(
        self,
        call_id: str,
        at: datetime,
        disposition: Disposition,
        cause: str | None,
        ended_in: str | None,
        rtp: RtpStats | None = None,
    ) -> None:
        with self._lock:
            self._alarmed.discard(call_id)
        self._append(
            "call_ended",
            call_id=call_id,
            at=at,
            disposition=disposition,
            cause=cause,
            ended_in=ended_in,
            rtp=rtp,
        )

    def recording_failed(self, call_id: str, reason: str, at: datetime) -> None:
        """One alarm per call, however often its recording fails."""
        with self._lock:
            if call_id in self._alarmed:
                return
            self._alarmed.add(call_id)
        self._append("recording_failed", call_id=call_id, reason=reason, at=at)

    def _append(self, name: str, **args: Any) -> None:
        # The JSON form is what is applied, whether the event comes from memory or a replay.
        plain = json.loads(json.dumps(args, ensure_ascii=False, default=json_default))
        with self._lock:
            event = Event(self._next_seq, name, plain)
            self._next_seq += 1
            try:
                self._files.write(event, self._clock().date())
                failure = None
            except OSError as exc:
                failure = exc
            with self._cond:
                self._pending.append(event)
                self._cond.notify_all()
        if failure is None:
            try:
                self._files.sync(event.seq)
            except OSError as exc:
                failure = exc
        if failure is not None:
            logger.error(
                "[%s] ALARM: the journal in %s cannot be written (%s): %s is held in "
                "memory only until the database has it",
                args.get("call_id"),
                self.folder,
                failure,
                name,
            )

    # The applier.

    def start(self) -> JournaledCallLog:
        """Start applying (what an earlier run left first); returns self."""
        if self._thread is None:
            self._prune()
            self._thread = threading.Thread(target=self._run, name="journal-applier", daemon=True)
            self._thread.start()
        return self

    def wait_applied(self, timeout: float) -> bool:
        """Wait until every event appended so far is applied; False on timeout."""
        with self._lock:
            last = self._next_seq - 1
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._pending or self._pending[0].seq > last, timeout
            )

    def close(self, timeout: float = 10.0) -> bool:
        """Apply what is pending for up to `timeout` s, then stop; True when nothing is left.

        Whatever is left stays in the journal and is applied on the next start.
        """
        with self._cond:
            if self._closing and self._halt.is_set():
                return not self._pending  # closed already
            self._closing = True
            self._cond.notify_all()
        drained = self.wait_applied(timeout) if self._thread is not None else not self.pending
        self._halt.set()
        if self._thread is not None:
            # An apply in progress ends within the database's connect timeout.
            self._thread.join(timeout=30)
            if self._thread.is_alive():
                logger.error("journal applier did not stop within 30 s")
        with self._lock:
            self._files.close()
        if not drained:
            logger.warning(
                "journal %s: %d call events not applied yet; the next start applies them",
                self.folder,
                self.pending,
            )
        return drained

    def __enter__(self) -> JournaledCallLog:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _run(self) -> None:
        marked = self.applied
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending) or self._closing)
                if not self._pending:
                    return  # closing, and everything is applied and marked
                run = list(islice(self._pending, BATCH))
                last = len(self._pending) == len(run)
            # What has piled up (a burst of calls) goes in one transaction; when that
            # fails for any reason, the first event alone, retried as before.
            done = self._apply_batch(run) if len(run) > 1 else 0
            if done:
                run, last = run[:done], last and done == len(run)
            else:
                run, last = run[:1], last and len(run) == 1
                if not self._apply(run[0]):
                    if self.applied > marked:
                        self._mark(self.applied)
                    return  # halted while the database was away
            # The watermark is written when the queue runs dry, or every MARK_EVERY events
            # under load: a kill replays at most that many, each harmlessly.
            seq = run[-1].seq
            if last or seq - marked >= MARK_EVERY:
                self._mark(seq)
                marked = seq
            with self._cond:
                for _ in run:
                    self._pending.popleft()
                self.applied = seq
                self._cond.notify_all()
            self._prune()

    def _apply_batch(self, run: list[Event]) -> int:
        """Apply the start of `run` (BATCH_S of work) in one transaction of the target's:
        how many events; 0 (nothing applied) if the target cannot batch or anything but a
        refused event fails."""
        if not isinstance(self._target, Batching):
            return 0
        refused: list[tuple[Event, Exception]] = []
        done, until = 0, time.monotonic() + BATCH_S
        try:
            with self._target.batch():
                for event in run:
                    if done and time.monotonic() > until:
                        break
                    done += 1
                    try:
                        getattr(self._target, event.name)(**event.kwargs())
                    except Exception as exc:
                        if is_unreachable(exc):
                            raise
                        refused.append((event, exc))  # its savepoint is rolled back
        except Exception as failure:
            logger.debug("journal: a batch of %d events failed (%s): one by one", done, failure)
            return 0
        for event, error in refused:
            logger.error(
                "[%s] %s #%d refused by the database; kept in %s",
                event.args.get("call_id"), event.name, event.seq, self.folder / REJECTED,
                exc_info=error,
            )  # fmt: skip
            self._reject(event, f"{type(error).__name__}: {error}")
        return done

    def _apply(self, event: Event) -> bool:
        """Apply one event, retrying while the database is unreachable; False if halted."""
        try:
            return retry_while_unreachable(
                lambda: getattr(self._target, event.name)(**event.kwargs()),
                self._backoff,
                self._halt,
            )
        except Exception as exc:
            logger.exception(
                "[%s] %s #%d refused by the database; kept in %s",
                event.args.get("call_id"),
                event.name,
                event.seq,
                self.folder / REJECTED,
            )
            self._reject(event, f"{type(exc).__name__}: {exc}")
            return True

    def _mark(self, seq: int) -> None:
        try:
            self._files.mark_applied(seq)
        except OSError as exc:  # applied twice after a restart, which is harmless
            logger.error("journal watermark cannot be written (%s)", exc)

    def _reject(self, event: Event, error: str) -> None:
        try:
            self._files.reject(event, error)
        except OSError as exc:
            logger.error(
                "journal: %s #%d cannot be kept in %s (%s)", event.name, event.seq, REJECTED, exc
            )

    def _prune(self) -> None:
        now = self._clock()
        if self._pruned_at is not None and now - self._pruned_at < timedelta(hours=1):
            return
        self._pruned_at = now
        with self._lock:
            removed = self._files.prune(self.applied, now.date())
        for path in removed:
            logger.info("journal %s applied and over a day old: removed", path)


def _seq(event: Event) -> int:
    return event.seq
