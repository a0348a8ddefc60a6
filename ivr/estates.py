"""The estate a call reached (issue 23): its script and hours for this call.

The composition root hands the agent `EstateFor`, a lookup from the call's called number
(the PBX's DID, the To user) to the estate's content (its name said in the greeting,
its script or the company's) and schedule (its hours decide daytime or after hours).
None, or a lookup that fails (the database away), and the company answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ivr.flow_events import CallContext
from ivr.flow_runner import call_context
from ivr.phone import Call
from ivr.schedule import Schedule
from ivr.script import ScriptContent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EstateCall:
    """What a call to one estate is answered with."""

    code: str
    content: ScriptContent
    schedule: Schedule


EstateFor = Callable[[str | None], EstateCall | None]


def answer_with(
    estate_for: EstateFor | None,
    call: Call,
    content: ScriptContent,
    schedule: Schedule,
    answered_at: datetime,
) -> tuple[ScriptContent, CallContext]:
    """The content to answer `call` with and the flow's context (its estate's hours
    decide daytime or after hours); says in the log which estate answers, whether it
    is open, and the greeting the caller hears."""
    chosen = None
    if estate_for is not None:
        try:
            chosen = estate_for(call.called)
        except Exception:  # the database is away: the company answers
            logger.exception(
                "[%s] no estate for %s; the company answers", call.call_id, call.called
            )
    if chosen is not None:
        content, schedule = chosen.content, chosen.schedule
    context = call_context(schedule, answered_at, caller_number=call.caller)
    logger.info(
        "[%s] called %s: estate %s, %s, greeting %s",
        call.call_id,
        call.called,
        chosen.code if chosen is not None else "(company)",
        "after hours" if context.after_hours else "open",
        content.prompt("greeting"),
    )
    return content, context
