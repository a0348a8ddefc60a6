"""The estate a call reached (issue 23): its script and hours for this call.

The composition root hands the agent `EstateFor`, a lookup from the call's called number
(the PBX's DID, the To user) to the estate's content (its name said in the greeting,
its script or the company's) and schedule (its hours decide daytime or after hours).
None, or a lookup that fails (the database away), and the company answers. In message
mode (no call flow) the estate's greeting alone is said (`EstateGreeting`).
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


def estate_of(estate_for: EstateFor | None, call: Call) -> EstateCall | None:
    """The estate `call` reached; None: the company's (no estates, no number of one's,
    or the database away)."""
    if estate_for is None:
        return None
    try:
        return estate_for(call.called)
    except Exception:  # the database is away: the company answers
        logger.exception("[%s] no estate for %s; the company answers", call.call_id, call.called)
        return None


@dataclass(frozen=True)
class EstateGreeting:
    """Message mode (agent.mode = "message"): the greeting of the estate a call reached,
    its name in it, in place of the company's."""

    estate_for: EstateFor
    audio: Callable[[str, str], bytes]
    """(name, text) -> 8 kHz 16-bit audio; cached (the lookup synthesised it)."""

    def greeting(self, call: Call, company: bytes) -> bytes:
        chosen = estate_of(self.estate_for, call)
        text = chosen.content.prompt("greeting") if chosen is not None else None
        logger.info(
            "[%s] called %s: estate %s, greeting %s",
            call.call_id,
            call.called,
            chosen.code if chosen is not None else "(company)",
            text or "(the company's)",
        )
        return company if text is None else self.audio("greeting", text)


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
    return answer_as(estate_of(estate_for, call), call, content, schedule, answered_at)


def answer_as(
    chosen: EstateCall | None,
    call: Call,
    content: ScriptContent,
    schedule: Schedule,
    answered_at: datetime,
) -> tuple[ScriptContent, CallContext]:
    """`answer_with` for the estate already found (None: the company's)."""
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
