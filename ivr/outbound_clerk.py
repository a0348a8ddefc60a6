"""Key 0 on a call the agent placed (issue 22): the resident is put through to the duty
clerk as the inbound flow's 0 does (docs/bridge.md). Who is rung (`ClerkBridge`: the
flow's [person] transfer, the duty roster read afresh per call), what the clerk hears,
and what is kept: each clerk's phone rung as the call's legs, who answered as the call's
staff (ivr/agent.py keeps them the same way for inbound calls).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from ivr.call_media import CallMedia
from ivr.flow_config import FlowConfig, Transfer
from ivr.flow_dial import Clerk
from ivr.flow_runner import clerk_rings
from ivr.phone import Call
from ivr.script import ScriptContent
from ivr.survey import SurveyBridge, SurveyTexts
from recorder.calls import CallLog

logger = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> datetime: ...
    def monotonic(self) -> float: ...


@dataclass(frozen=True)
class ClerkBridge:
    """Who key 0 reaches: the inbound flow's [person] transfer and the duty roster."""

    transfer: Transfer
    roster: Callable[[], list[Clerk]]
    """The duty clerks, read afresh for every call (recorder.staff.duty_roster)."""
    uri_for: Callable[[str], str]
    """extension -> the URI to ring (sip.clerk_uri_template)."""
    dial: Callable[[str], Call]
    """Rings a clerk's phone (the agent's own caller ID, not the one residents see)."""
    flow: FlowConfig | None = None
    """The inbound call flow, whose menu a missed call's call-back offers."""


def whisper(clerks: ClerkBridge, content: ScriptContent, texts: SurveyTexts) -> str:
    """What the clerk hears on answering: 来电：回访报修，3号楼1201."""
    said = content.prompt(clerks.transfer.whisper_prompt, category=texts.topic, unit=texts.unit)
    return said.rstrip("，,：: ")


def survey_bridge(
    clerks: ClerkBridge | None, content: ScriptContent, texts: SurveyTexts, cid: str
) -> SurveyBridge | None:
    """Key 0's transfer for this call, or None: 0 then asks a clerk to call back."""
    if clerks is None:
        return None
    try:
        roster = clerks.roster()
    except Exception:  # the database is away: a clerk calls back instead
        logger.exception("[%s] no duty roster; key 0 asks for a clerk's call", cid)
        return None
    transfer = clerks.transfer
    return SurveyBridge(
        transfer,
        roster,
        content.prompt(transfer.prompt),
        whisper(clerks, content, texts),
        content.closing(transfer.closing),
    )


def clerks_rung(
    log: CallLog,
    clock: Clock,
    on_scheduler: float,
    cid: str,
    outcome: dict[str, Any],
    media: CallMedia,
) -> None:
    """Each clerk's phone rung (the call's legs) and who joined; `on_scheduler` is the
    scheduler's clock now (the runner times the legs on it)."""
    now = clock.now()
    if outcome["rings"]:
        offset = on_scheduler - clock.monotonic()
        answered = {leg: at + offset for leg, at in media.leg_answered_at.items()}
        records = clerk_rings(outcome["rings"], now, on_scheduler, answered, media.leg_results)
        log.clerks_rung(cid, records)
    if media.bridged_at is not None:
        at = now - timedelta(seconds=clock.monotonic() - media.bridged_at)
        log.staff_joined(cid, outcome.get("answered_by_user_id"), at)
