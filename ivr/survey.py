"""The questions the agent asks on a call it placed (issue 22) as a state machine that does no I/O: the
flow's events in (ivr/flow_events.py), its actions out, run by ivr.flow_runner.FlowRunner
on the call's media like the inbound call flow.

Once the resident answers: who is calling and why (survey_intro: 报号 as in the greeting,
the unit, the matter and the day it was repaired), then the question (survey_question):
1 satisfied, 2 not satisfied, 3 not yet fixed, 0 a clerk, 9 no more survey calls. A key
may cut either prompt short. No key within `key_wait_s`: the question again, then the
polite end (survey_no_key), and the attempt counts as not settled. Each answer has its
closing, then the agent hangs up. The texts are the script's (config/scripts/*.toml).
The letter confirmation (LETTER) runs the same way with its own prompts and keys:
1 received, 2 not received, 0 a clerk.

After 1, 2 or 3 of the follow-up survey (seed 000 1.4.3.6: ask for ideas for improvement)
the resident is invited to a short spoken comment (survey_comment): a beep, then the
comment is marked on the call's recording (StartRecording/StopRecording) until #, a
pause of `comment_silence_s` (the recorder measures it: no VAD on these calls) or
`comment_s`; # while the invitation plays skips it; then the answer's closing. The agent cuts
it out, transcribes it when a model exists, and keeps it on the follow-up.

Key 0 with a duty roster (`SurveyBridge`): the resident is put through as the inbound
flow's 0 is (ivr/flow.py, docs/bridge.md): the transfer prompt, each duty clerk rung in
turn for the transfer's ring time (ivr/flow_dial.Dialler), whispered to, then bridged
and recorded in two channels. Nobody answers: the survey_clerk closing (a clerk will
call back) and the agent hangs up; the task's answer is `clerk` either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ivr.flow_config import Choice, Transfer
from ivr.flow_dial import Clerk, Dialler
from ivr.flow_events import (
    Action,
    Answered,
    Beep,
    Bridge,
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
    StartRecording,
    StartTimer,
    StopPlaying,
    StopRecording,
    Timeout,
)
from recorder.outbound_models import LetterResult, SurveyResult


@dataclass(frozen=True)
class Questionnaire:
    """What one kind of call asks: its prompts (by name in the script), the keys it takes
    (key -> result) and the closing said after each result (None: no key was pressed)."""

    intro: str
    question: str
    keys: Mapping[str, str]
    closings: Mapping[str | None, str]
    #: The prompt inviting a spoken comment, and the answers it follows.
    comment: str | None = None
    commented: frozenset[str] = frozenset()


#: The follow-up survey (回访, seed 000 1.4.3.6).
FOLLOW_UP = Questionnaire(
    "survey_intro",
    "survey_question",
    {
        "1": SurveyResult.SATISFIED,
        "2": SurveyResult.NOT_SATISFIED,
        "3": SurveyResult.NOT_FIXED,
        "0": SurveyResult.CLERK,
        "9": SurveyResult.OPTED_OUT,
    },
    {
        SurveyResult.SATISFIED: "survey",
        SurveyResult.NOT_SATISFIED: "survey_not_satisfied",
        SurveyResult.NOT_FIXED: "survey_not_fixed",
        SurveyResult.CLERK: "survey_clerk",
        SurveyResult.OPTED_OUT: "survey_opt_out",
        None: "survey_no_key",
    },
    comment="survey_comment",
    commented=frozenset(
        {SurveyResult.SATISFIED, SurveyResult.NOT_SATISFIED, SurveyResult.NOT_FIXED}
    ),
)
#: The reply letter's confirmation (客户回函作业指导书 3.6: 请问您收到我们的回函了吗).
LETTER = Questionnaire(
    "letter_intro",
    "letter_question",
    {"1": LetterResult.RECEIVED, "2": LetterResult.NOT_RECEIVED, "0": LetterResult.CLERK},
    {
        LetterResult.RECEIVED: "letter_received",
        LetterResult.NOT_RECEIVED: "letter_not_received",
        LetterResult.CLERK: "survey_clerk",
        None: "survey_no_key",
    },
)
FORMS = (FOLLOW_UP, LETTER)
KEY_TIMER = "survey_key"
COMMENT_TIMER = "survey_comment"
RING_TIMER = "survey_ring"


def prompt_names() -> set[str]:
    names = {name for form in FORMS for name in (form.intro, form.question)}
    return names | {form.comment for form in FORMS if form.comment}


def closing_names() -> set[str]:
    return {name for form in FORMS for name in form.closings.values()}


@dataclass(frozen=True)
class SurveyTexts:
    form: Questionnaire
    intro: str
    question: str
    closings: Mapping[str, str]
    """By closing name (the form's closings' values)."""
    topic: str = ""
    """What the call is about, for the clerk's whisper on 0 (回访报修)."""
    unit: str = ""
    comment: str = ""
    """The form's comment prompt's text; empty: no comment is asked for."""


@dataclass(frozen=True)
class SurveyBridge:
    """Key 0 puts the resident through to the duty roster (the inbound flow's [person])."""

    transfer: Transfer
    clerks: Sequence[Clerk]
    prompt: str
    """The transfer prompt's text (请稍候，正在为您转接)."""
    whisper: str
    """What the clerk hears on answering (the unit and the matter)."""
    closing: str
    """Said when the clerk hangs up first (the transfer's closing)."""


class Survey:
    """One survey call: `handle(event)` -> actions; `result` once a key is pressed."""

    def __init__(
        self,
        texts: SurveyTexts,
        key_wait_s: float,
        asks: int = 2,
        bridge: SurveyBridge | None = None,
        comment_s: float = 30.0,
        comment_silence_s: float = 4.0,
    ) -> None:
        self._texts = texts
        self._comment_s = comment_s
        self._comment_silence_s = comment_silence_s
        self._bridge = bridge if bridge is not None and bridge.clerks else None
        self._dialling: Dialler | None = None
        self._wait = key_wait_s
        self._asks = asks
        self._asked = 0
        self.stage = "intro"
        self.result: str | None = None
        self.ended = False
        self.bridged = False
        """Key 0 reached a clerk, who answered (the desk need not call the resident)."""

    def handle(self, event: Event) -> list[Action]:
        if self.ended:
            return []
        if isinstance(event, Answered):
            form = self._texts.form
            return [
                Play(form.intro, self._texts.intro, barge_in=True),
                Play(form.question, self._texts.question, barge_in=True),
            ]
        if isinstance(event, HungUp):
            if event.side == "clerk":
                return self._clerk_gone()
            self.ended = True
            if self.stage == "comment":  # the comment so far is kept
                return [StopRecording(), CancelTimer(COMMENT_TIMER), *self._hung_up()]
            drop = [DropLeg(self._dialling.leg)] if self._dialling and self._dialling.leg else []
            timers = [CancelTimer(KEY_TIMER), CancelTimer(RING_TIMER)]
            return [*drop, *timers, *self._hung_up()]
        if isinstance(event, Digit) and self.stage == "comment":
            return self._commented("digit") if event.digit == "#" else []
        if isinstance(event, Digit) and self.stage == "comment_prompt":  # # : no comment
            if event.digit != "#":
                return []
            return [StopPlaying(), Log({"comment_end": "skipped"}), *self._close(self.result)]
        if isinstance(event, Digit):
            return self._key(event.digit)
        if isinstance(event, Silence | RecordingFinished) and self.stage == "comment":
            return self._commented("silence" if isinstance(event, Silence) else event.reason)
        if isinstance(event, Timeout) and event.timer == COMMENT_TIMER:
            return self._commented("max_length") if self.stage == "comment" else []
        if isinstance(event, FarEndAnswered | FarEndBusy | FarEndNoAnswer):
            return self._far_end(event)
        if isinstance(event, Timeout) and event.timer == RING_TIMER:
            return self._ring_out()
        if isinstance(event, PromptFinished):
            form = self._texts.form
            if self.stage == "comment_prompt" and event.prompt == form.comment:
                return self._start_comment()
            bridge = self._bridge
            if self.stage == "transfer" and bridge and event.prompt == bridge.transfer.prompt:
                return self._dial_next()
            if event.prompt == self._texts.form.question and self.stage in ("intro", "question"):
                self._asked += 1
                self.stage = "question"
                return [StartTimer(KEY_TIMER, self._wait)]
            if self.stage == "closing" and event.prompt.startswith("closing."):
                self.ended = True
                return [Log({"ended_in": "closing"}), HangUp("agent BYE")]
            return []
        if isinstance(event, Timeout) and event.timer == KEY_TIMER and self.stage == "question":
            if self._asked < self._asks:
                return [self._question()]
            return self._close(None)
        return []

    def _key(self, digit: str) -> list[Action]:
        if self.stage not in ("intro", "question"):  # answered already
            return []
        result = self._texts.form.keys.get(digit)
        if result is None:  # not an answer: the question again
            return [CancelTimer(KEY_TIMER), StopPlaying(), self._question()]
        self.result = result
        if digit == "0" and self._bridge is not None:
            return [CancelTimer(KEY_TIMER), StopPlaying(), *self._transfer(self._bridge)]
        form = self._texts.form
        if form.comment and result in form.commented and self._texts.comment:
            self.stage = "comment_prompt"
            invite = Play(form.comment, self._texts.comment)
            return [CancelTimer(KEY_TIMER), StopPlaying(), Log({"survey": result}), invite]
        return [CancelTimer(KEY_TIMER), StopPlaying(), *self._close(result)]

    # ---------------------------------------------------------- the comment

    def _start_comment(self) -> list[Action]:
        self.stage = "comment"
        return [
            Beep(),
            StartRecording(self._comment_s, self._comment_silence_s, "#"),
            StartTimer(COMMENT_TIMER, self._comment_s),
            Log({"comment_started": True}),
        ]

    def _commented(self, reason: str) -> list[Action]:
        stop: list[Action] = [
            StopRecording(),
            CancelTimer(COMMENT_TIMER),
            Log({"comment_end": reason}),
        ]
        return [*stop, *self._close(self.result)]

    # ---------------------------------------------------------- key 0: a clerk

    def _transfer(self, bridge: SurveyBridge) -> list[Action]:
        self.stage = "transfer"
        self._dialling = Dialler(
            bridge.transfer, Choice(action="person"), bridge.clerks, bridge.clerks[0]
        )
        return [Log({"survey": self.result}), Play(bridge.transfer.prompt, bridge.prompt)]

    def _dial_next(self) -> list[Action]:
        dialling, bridge = self._dialling, self._bridge
        assert dialling is not None and bridge is not None
        clerk = dialling.ring_next()
        if clerk is None or dialling.leg is None:  # all rung: a clerk will call back
            return [Log({"clerks_tried": list(dialling.tried)}), *self._close(self.result)]
        self.stage = "dialling"
        timeout = dialling.transfer.ring_timeout_s
        return [
            Dial(dialling.leg, clerk.extension, clerk.user_id, bridge.whisper, timeout),
            StartTimer(RING_TIMER, timeout),
        ]

    def _far_end(self, event: FarEndAnswered | FarEndBusy | FarEndNoAnswer) -> list[Action]:
        dialling = self._dialling
        ringing = dialling is not None and self.stage == "dialling"
        if dialling is None or not ringing or not dialling.is_ringing(event.leg):
            return [DropLeg(event.leg)] if isinstance(event, FarEndAnswered) else []
        if isinstance(event, FarEndAnswered):
            clerk = dialling.ended("answered")
            self.stage, self.bridged = "bridge", True
            values = {"clerks_tried": list(dialling.tried), "answered_by_user_id": clerk.user_id}
            return [CancelTimer(RING_TIMER), Bridge(event.leg), Log(values)]
        dialling.ended("busy" if isinstance(event, FarEndBusy) else "no_answer")
        return [CancelTimer(RING_TIMER), *self._dial_next()]

    def _ring_out(self) -> list[Action]:
        dialling = self._dialling
        if dialling is None or self.stage != "dialling" or dialling.leg is None:
            return []
        leg = dialling.leg
        dialling.ended("no_answer")
        return [DropLeg(leg), *self._dial_next()]

    def _clerk_gone(self) -> list[Action]:
        if self.stage == "dialling" and self._dialling is not None:
            self._dialling.ended("no_answer")
            return [CancelTimer(RING_TIMER), *self._dial_next()]
        if self.stage != "bridge" or self._bridge is None:
            return []
        self.stage = "closing"
        name = f"closing.{self._bridge.transfer.closing}"
        return [Log({"bridge_ended_by": "clerk"}), Play(name, self._bridge.closing)]

    def _hung_up(self) -> list[Action]:
        values = {"hangup_by": "caller", "ended_in": self.stage}
        if self.stage == "comment":
            values["comment_end"] = "hangup"
        return [Log(values)]

    def _question(self) -> Play:
        return Play(self._texts.form.question, self._texts.question, barge_in=True)

    def _close(self, result: str | None) -> list[Action]:
        self.stage = "closing"
        name = self._texts.form.closings[result]
        return [
            Log({"survey": result}),
            Play(f"closing.{name}", self._texts.closings[name]),
        ]
