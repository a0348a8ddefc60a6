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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ivr.flow_events import (
    Action,
    Answered,
    CancelTimer,
    Digit,
    Event,
    HangUp,
    HungUp,
    Log,
    Play,
    PromptFinished,
    StartTimer,
    StopPlaying,
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


def prompt_names() -> set[str]:
    return {name for form in FORMS for name in (form.intro, form.question)}


def closing_names() -> set[str]:
    return {name for form in FORMS for name in form.closings.values()}


@dataclass(frozen=True)
class SurveyTexts:
    form: Questionnaire
    intro: str
    question: str
    closings: Mapping[str, str]
    """By closing name (the form's closings' values)."""


class Survey:
    """One survey call: `handle(event)` -> actions; `result` once a key is pressed."""

    def __init__(self, texts: SurveyTexts, key_wait_s: float, asks: int = 2) -> None:
        self._texts = texts
        self._wait = key_wait_s
        self._asks = asks
        self._asked = 0
        self.stage = "intro"
        self.result: str | None = None
        self.ended = False

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
            self.ended = True
            return [CancelTimer(KEY_TIMER), Log({"hangup_by": "caller", "ended_in": self.stage})]
        if isinstance(event, Digit):
            return self._key(event.digit)
        if isinstance(event, PromptFinished):
            if event.prompt == self._texts.form.question and self.stage != "closing":
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
        if self.stage == "closing":
            return []
        result = self._texts.form.keys.get(digit)
        if result is None:  # not an answer: the question again
            return [CancelTimer(KEY_TIMER), StopPlaying(), self._question()]
        self.result = result
        return [CancelTimer(KEY_TIMER), StopPlaying(), *self._close(result)]

    def _question(self) -> Play:
        return Play(self._texts.form.question, self._texts.question, barge_in=True)

    def _close(self, result: str | None) -> list[Action]:
        self.stage = "closing"
        name = self._texts.form.closings[result]
        return [
            Log({"survey": result}),
            Play(f"closing.{name}", self._texts.closings[name]),
        ]
