"""What the agent says on a call it places (issue 22): the script's prompts filled in
with the matter's facts (the unit, the matter, the day it was repaired or mailed)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from ivr.script import ScriptContent
from ivr.survey import FOLLOW_UP, LETTER, SurveyTexts
from recorder.outbound import survey_facts
from recorder.outbound_letters import letter_facts
from recorder.outbound_models import OutboundTask, TaskKind


def _day(day: date | None) -> str:
    """A date as said on the phone: 12月5日 (ivr/speech_text.py reads the numbers)."""
    return f"{day.month}月{day.day}日" if day else "近日"


def texts_for(
    session: Session, task: OutboundTask, content: ScriptContent, timezone: str
) -> SurveyTexts:
    form = LETTER if task.kind is TaskKind.LETTER_CONFIRMATION else FOLLOW_UP
    if form is LETTER:
        letter = letter_facts(session, task, timezone)
        fields = {"mailed_on": _day(letter.mailed_on)}
        topic, unit = "回函确认", ""
    else:
        facts = survey_facts(session, task, timezone)
        try:
            category = content.categories.by_key(facts.category).label
        except KeyError:
            category = "报修"
        fields = {"unit": facts.unit, "category": category, "repaired_on": _day(facts.repaired_on)}
        topic, unit = f"回访{category}", facts.unit
    return SurveyTexts(
        form=form,
        intro=content.prompt(form.intro, **fields),
        question=content.prompt(form.question),
        closings={name: content.closing(name) for name in form.closings.values()},
        topic=topic,
        unit=unit,
        comment=content.prompt(form.comment) if form.comment else "",
    )
