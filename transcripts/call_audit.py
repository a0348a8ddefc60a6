"""The greeting audit of an answered call (首问责任制: how the desk answered), recorded
once per call as a ComplianceResult: the staff channel's words checked against the
compliance rules, or, where the agent answered, the script it played.
`transcripts.pipeline.Pipeline` runs it after filling the entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recorder.models import ComplianceResult, Disposition, Transcript
from transcripts.rules import DeskContent
from transcripts.settings import TranscriptsSettings


@dataclass(frozen=True)
class CallFacts:
    """What the pipeline reads of a call once per job (transcripts.pipeline._start)."""

    pk: int
    disposition: Disposition
    invite_at: datetime
    caller: str | None
    answered_by_user_id: int | None
    recordings: list[str]
    ring_count: int | None = 0
    ended_in: str | None = None
    menu_category: str | None = None
    answered_elsewhere: bool = False
    imported: bool = False
    outbound: bool = False


def audit(
    sessions: sessionmaker[Session],
    content: DeskContent,
    settings: TranscriptsSettings,
    after_hours: Callable[[datetime], bool] | None,
    lock: Callable[[Session, int], object],
    facts: CallFacts,
    said: dict[str, str] | None,
) -> None:
    """The greeting audit of whoever answered: the staff channel, or the script the agent played."""
    from transcripts.compliance import check_agent_call, check_transcript

    rules, organization = content.compliance, settings.organization.name
    staff_text = (said or {}).get("staff")
    if staff_text is None and facts.answered_by_user_id is not None:
        return  # a staff member answered; their channel is not transcribed yet
    if staff_text is None and facts.imported:
        return  # an imported recording with no staff channel: the agent played nothing
    if staff_text is not None:
        words = staff_words(sessions, facts.pk, staff_text)
        report, by = check_transcript(staff_text, organization, rules, words), "staff"
    else:
        played = [content.prompt("greeting"), content.closing("default")]
        if after_hours is not None and after_hours(facts.invite_at):
            played = [content.prompt(p) for p in ("after_hours", "after_hours_closing")]
        heard = facts.ended_in not in ("greeting", "ringing", "after_hours")
        report, by = (
            check_agent_call(played, heard, organization, rules),
            "agent",
        )
    with sessions.begin() as session:
        lock(session, facts.pk)  # lock: one writer per call at a time
        if (
            session.scalar(select(ComplianceResult.id).where(ComplianceResult.call_pk == facts.pk))
            is not None
        ):
            return
        session.add(
            ComplianceResult(
                call_pk=facts.pk,
                answered_by=by,
                user_id=facts.answered_by_user_id,
                within_rings=None
                if facts.ring_count is None
                else facts.ring_count <= rules.max_rings,
                passed=report.passed,
                checks=report.checks,
                forbidden=report.forbidden,
                findings=[
                    {"check": f.check, "phrase": f.phrase, "at_s": f.at_s} for f in report.findings
                ],
            )
        )


def staff_words(
    sessions: sessionmaker[Session], call_pk: int, staff_text: str
) -> list[dict[str, Any]]:
    """The staff channel's word timings, so each finding gets the second it was said."""
    with sessions() as session:
        rows = session.execute(
            select(Transcript.raw_text, Transcript.words).where(
                Transcript.call_pk == call_pk, Transcript.channel == "staff"
            )
        ).all()
    # Two engines may have transcribed the channel: take the words of the text checked.
    ordered = sorted(rows, key=lambda row: row.raw_text != staff_text)
    return list(ordered[0].words or []) if ordered else []
