"""The phone agent: rings, answers within three rings, greets, records, says goodbye.

Per call (one thread each, started by the SIP layer):

1. ringing: the call is reported at once; the agent lets it ring
   `answer_after_rings` rings of the configured cadence (China: 1 s on,
   4 s off), so clerks' phones in a ring group can pick up first. A caller
   who gives up meanwhile (CANCEL, answered 487 by the library) is a missed
   call, unless the CANCEL's Reason says another phone answered (RFC 3326:
   ivr/cancel_reason.py): then it is answered by staff. The rings stored are
   those heard from the 180 to the answer or the CANCEL;
2. answered: the scripted greeting (您好, the organisation, 报号, an offer of
   help), then the caller is recorded for `record_seconds` or until they
   hang up, then the closing (谢谢 ... 再见), then the agent hangs up.

Media runs on a clock of absolute 20 ms deadlines (start + n × 20 ms, never
sleep(0.02)): each tick sends the next outgoing frame and takes what has been
received (`ivr.playout.Playout`: a little behind the clock so late and
reordered packets are kept, silence where nothing arrived), so the recording
is time-aligned and gap-filled and streams to disk as it arrives. Hanging up
at any moment leaves a correct record: abandoned during the greeting,
answered afterwards, with `ended_in` saying where.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr.agent_setup import Clock, FlowSetup, Script
from ivr.call_media import CallMedia
from ivr.call_recording import Recorders
from ivr.cancel_reason import answered_elsewhere, answerer, summary
from ivr.estates import answer_as, estate_of
from ivr.flow import CallFlow
from ivr.flow_events import Answered
from ivr.flow_runner import FlowRunner, call_disposition, clerk_rings
from ivr.phone import FRAME_BYTES, Call
from ivr.playout import Playout
from ivr.settings import IvrSettings
from recorder.calls import ENDED_ELSEWHERE, CallLog
from recorder.models import AnsweredBy, Disposition
from recorder.wav import RecordingError, WavWriter, recording_path

logger = logging.getLogger(__name__)
FRAME_S = 0.020
AudioTap = Callable[[str, str, bytes], None]


class Agent:
    def __init__(
        self,
        settings: IvrSettings,
        script: Script,
        call_log: CallLog,
        audio_tap: AudioTap | None = None,
        clock: Clock | None = None,
        flow: FlowSetup | None = None,
    ) -> None:
        self._settings = settings
        self._flow = flow
        self._script = script
        self._log = call_log
        self._tap = audio_tap
        self._clock = clock or Clock()
        self._active: set[str] = set()
        self._lock = threading.Lock()
        self.stopping = threading.Event()

    @property
    def active_calls(self) -> int:
        with self._lock:
            return len(self._active)

    def on_call(self, call: Call) -> None:
        with self._lock:
            busy = len(self._active) >= self._settings.sip.max_calls
            if not busy:
                self._active.add(call.call_id)
        if busy:
            logger.warning(
                "[%s] 486 Busy Here: %d calls already", call.call_id, self._settings.sip.max_calls
            )
            call.deny()
            return
        try:
            self._handle(call)
        finally:
            with self._lock:
                self._active.discard(call.call_id)

    def _safe(self, what: str, action: Callable[[], object], call_id: str) -> None:
        """The call goes on even if the database is away; the recording is on disk."""
        try:
            action()
        except Exception:
            logger.exception("[%s] could not log %s", call_id, what)

    def _handle(self, call: Call) -> None:
        cid, clock = call.call_id, self._clock
        invited = clock.now()
        self._safe(
            "start", lambda: self._log.call_started(cid, call.caller, call.called, invited), cid
        )
        ringing_at = clock.now()  # the library sends its 180 with the INVITE
        self._safe("ringing", lambda: self._log.call_ringing(cid, ringing_at), cid)
        if not self._ring(call):
            ended = clock.now()
            heard = self._rings_heard(ended, ringing_at)
            if answered_elsewhere(call.cancel_reasons):  # a clerk's phone in the ring group
                who = answerer(call.cancel_headers, self._settings.sip.answered_by_headers)
                self._answered_elsewhere(cid, ended, heard, call.cancel_reasons, who)
                return
            logger.info("[%s] caller gave up after %d rings: missed", cid, heard)
            self._safe(
                "end",
                lambda: self._log.call_ended(
                    cid, clock.now(), Disposition.MISSED, "CANCEL", "ringing"
                ),
                cid,
            )
            return
        answered_at = clock.now()
        rings = self._rings_heard(answered_at, ringing_at)  # heard, not configured
        self._safe(
            "answer",
            lambda: self._log.call_answered(
                cid, answered_at, rings, AnsweredBy.AGENT, codec=call.codec()
            ),
            cid,
        )
        logger.info(
            "[%s] answered after %d rings (%.2f s)",
            cid,
            rings,
            (answered_at - invited).total_seconds(),
        )
        if self._flow is not None:
            disposition, stage, cause = self._run_flow(call, answered_at, self._flow)
        else:
            stage, cause = self._converse(call, answered_at)
            gave_up = stage == "greeting" and cause != "media fault"  # not the caller's doing
            disposition = Disposition.ABANDONED if gave_up else Disposition.ANSWERED
        fault = call.media_fault  # the caller may have heard silence: an alarm (fix 31)
        if fault is not None:
            logger.error("[%s] ALARM: %s", cid, fault)
            at = clock.now()
            self._safe("alarm", lambda: self._log.recording_failed(cid, fault, at), cid)
        rtp = call.rtp_stats()  # what arrived from the caller: received, lost, jitter
        if rtp is not None:
            logger.info(
                "[%s] RTP in: %d packets, %d lost, jitter %.2f ms",
                cid,
                rtp.packets_received,
                rtp.packets_lost,
                rtp.jitter_ms,
            )
        self._safe(
            "end",
            lambda: self._log.call_ended(cid, clock.now(), disposition, cause, stage, rtp=rtp),
            cid,
        )

    def _stage(self, cid: str, stage: str, detail: dict[str, object] | None = None) -> None:
        """Where the call is, for the live desk (recorder/live_calls.py)."""
        at = self._clock.now()
        self._safe("stage", lambda: self._log.call_stage(cid, stage, at, detail), cid)

    def _rings_heard(self, now: datetime, ringing_at: datetime) -> int:
        """The rings the caller heard from the 180 to `now`, at the configured cadence."""
        from recorder.answering import rings_before_answer

        return rings_before_answer(ringing_at, now, self._settings.ringing)

    def _answered_elsewhere(
        self, cid: str, at: datetime, rings: int, reasons: tuple[str, ...], who: str | None
    ) -> None:
        """The PBX cancelled the agent's leg because another phone of the ring group
        answered (RFC 3326): answered by staff at `at` after `rings` rings, not missed,
        and no call-back; by `who` when the CANCEL named them, else "a colleague"."""
        logger.info(
            "[%s] answered elsewhere after %d rings (CANCEL with Reason %s), by %s",
            cid,
            rings,
            " | ".join(reasons),
            who or "a colleague",
        )
        self._safe(
            "answer",
            lambda: self._log.call_answered(cid, at, rings, AnsweredBy.STAFF, answerer=who),
            cid,
        )
        cause = f"CANCEL: {summary(reasons, 90)}"
        self._safe(
            "end",
            lambda: self._log.call_ended(cid, at, Disposition.ANSWERED, cause, ENDED_ELSEWHERE),
            cid,
        )

    def _ring(self, call: Call) -> bool:
        """Ring for the configured rings and answer; False if the call ended meanwhile."""
        ringing = self._settings.ringing
        deadline = self._clock.monotonic() + ringing.answer_delay_s()
        while self._clock.monotonic() < deadline:
            if call.ended or self.stopping.is_set():
                return False
            self._clock.sleep_until(min(deadline, self._clock.monotonic() + 0.02), self.stopping)
        return not call.ended and call.answer()

    def _converse(self, call: Call, answered_at: datetime) -> tuple[str, str]:
        """Greeting, recording, closing on one 20 ms clock; (stage it ended in, cause)."""
        cid = call.call_id
        local = answered_at.astimezone(ZoneInfo(self._settings.organization.timezone))
        path = recording_path(self._settings.paths.recordings, local, cid)
        writer = self._open_recording(cid, path, answered_at)
        record_frames = int(self._settings.agent.record_seconds / FRAME_S)
        greeting = self._script.greeting
        if self._script.estates is not None:
            greeting = self._script.estates.greeting(call, greeting)
        plan = [
            ("greeting", greeting),
            ("recording", b"\x00" * FRAME_BYTES * record_frames),
            ("closing", self._script.closing),
        ]
        start, tick, stage, cause = self._clock.monotonic(), 0, "greeting", "agent BYE"
        received = Playout(call.read, call.buffered, FRAME_BYTES)
        try:
            for stage, audio in plan:
                self._stage(cid, "message" if stage == "recording" else stage)
                if stage != "recording":  # issue 17: whole, to the media plane; silence after
                    call.play(audio)
                for _offset in range(0, len(audio), FRAME_BYTES):
                    # Stopping first: the phone's stop ends every call right after
                    # `stopping` is set, and that end is not the caller's.
                    if self.stopping.is_set():
                        return stage, "agent stopped"
                    if call.ended:  # its media failed (the agent hung up), or the caller
                        return stage, "media fault" if call.media_fault else "caller BYE"
                    self._receive(call, writer, received.tick())
                    tick += 1
                    self._clock.sleep_until(start + tick * FRAME_S, self.stopping)
            # Let the closing play out before hanging up.
            self._clock.sleep_until(self._clock.monotonic() + 0.3, self.stopping)
            call.hangup()
            return "closing", cause
        finally:
            self._receive(call, writer, received.drain())
            self._close_recording(cid, writer)

    def _run_flow(
        self, call: Call, answered_at: datetime, flow: FlowSetup
    ) -> tuple[Disposition, str, str]:
        """The call flow on this call: (disposition, where it ended, cause)."""
        cid = call.call_id
        zone = ZoneInfo(self._settings.organization.timezone)

        def open_recording(channels: int, label: str) -> WavWriter | None:
            at = self._clock.now()
            path = recording_path(self._settings.paths.recordings, at.astimezone(zone), cid)
            return self._open_recording(cid, path, at, channels, label)

        def tap(channel: str, pcm: bytes) -> None:
            if self._tap is not None:
                self._tap(cid, channel, pcm)

        media = CallMedia(
            call,
            flow.prompts,
            flow.dial,
            Recorders(
                open_recording,
                lambda writer: self._close_recording(cid, writer),
                lambda reason: self._safe(
                    "alarm",
                    lambda: self._log.recording_failed(cid, reason, self._clock.now()),
                    cid,
                ),
            ),
            self.stopping,
            tap=tap,
            monotonic=self._clock.monotonic,
        )
        media.mono = open_recording(1, "caller")
        chosen = estate_of(flow.estate_for, call)
        try:
            roster = flow.roster(chosen.code if chosen is not None else None)
        except Exception:  # the database is away: the flow takes a message instead
            logger.exception("[%s] no duty roster; nobody can be rung", cid)
            roster = []
        content, context = answer_as(chosen, call, flow.content, flow.schedule, answered_at)
        machine = CallFlow(flow.config, content, roster, context)
        stages = partial(self._stage, cid)  # the live desk's view of the call
        runner = FlowRunner(machine, media, flow.scheduler, flow.uri_for, cid, stages)
        media.attach(runner.feed)
        runner.feed(Answered())
        try:
            media.run(runner.done)
        finally:
            runner.close()
        outcome = runner.outcome
        category = outcome.get("category")
        if category not in (None, "other") and outcome.get("menu_digit"):  # the caller's choice
            self._safe("menu", lambda: self._log.menu_chosen(cid, str(category)), cid)
        if outcome["rings"]:
            self._record_rings(cid, outcome["rings"], media, flow)
        if media.bridged_at is not None:
            at = self._clock.now() - timedelta(seconds=self._clock.monotonic() - media.bridged_at)
            user_id = outcome.get("answered_by_user_id")
            self._safe("staff", lambda: self._log.staff_joined(cid, user_id, at), cid)
        if self.stopping.is_set() and not runner.done.is_set():
            return Disposition.ANSWERED, machine.stage.value, "agent stopped"
        cause = "caller BYE" if outcome.get("hangup_by") == "caller" else "agent BYE"
        return call_disposition(outcome), str(outcome.get("ended_in", machine.stage.value)), cause

    def _record_rings(
        self, cid: str, rings: list[dict[str, object]], media: CallMedia, flow: FlowSetup
    ) -> None:
        """Each clerk's phone rung: when, how long until it answered or gave up, how it ended."""
        # The runner times legs on the scheduler's clock, the media on the agent's.
        now, on_scheduler = self._clock.now(), flow.scheduler.now()
        offset = on_scheduler - self._clock.monotonic()
        answered = {leg: at + offset for leg, at in media.leg_answered_at.items()}
        records = clerk_rings(rings, now, on_scheduler, answered, media.leg_results)
        for ring in records:
            logger.info(
                "[%s] clerk %s rang %.1f s: %s",
                cid,
                ring.extension,
                ring.ring_seconds,
                ring.result.value,
            )
        self._safe("rings", lambda: self._log.clerks_rung(cid, records), cid)

    def _receive(self, call: Call, writer: WavWriter | None, frame: bytes) -> None:
        if not frame:
            return
        if writer is not None and not writer.failed:
            try:
                writer.write(frame)
            except RecordingError as exc:
                reason = str(exc)
                writer.failed = True  # said once, not every 20 ms
                logger.exception(
                    "[%s] ALARM: recording failed (disk full?); the call goes on", call.call_id
                )
                cid, at = call.call_id, self._clock.now()
                self._safe("alarm", lambda: self._log.recording_failed(cid, reason, at), cid)
        if self._tap is not None:
            self._tap(call.call_id, "mono", frame)

    def _open_recording(
        self, cid: str, path: Path, at: datetime, channels: int = 1, label: str = "caller"
    ) -> WavWriter | None:
        try:
            writer = WavWriter(path, channels=channels)
        except RecordingError as exc:
            reason = str(exc)
            logger.exception(
                "[%s] ALARM: cannot record (disk full?); the call is still answered", cid
            )
            self._safe("alarm", lambda: self._log.recording_failed(cid, reason, at), cid)
            return None
        self._safe(
            "recording", lambda: self._log.recording_started(cid, path, label, 8000, at), cid
        )
        return writer

    def _close_recording(self, cid: str, writer: WavWriter | None) -> None:
        if writer is None:
            return
        try:
            info = writer.close()
        except RecordingError:
            logger.exception("[%s] could not close the recording", cid)
            return
        self._safe(
            "recording end", lambda: self._log.recording_closed(cid, info, self._clock.now()), cid
        )
