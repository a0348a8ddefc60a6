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
    called: str | None,
    content: ScriptContent,
    schedule: Schedule,
    call_id: str,
) -> tuple[ScriptContent, Schedule]:
    """The content and schedule to answer a call to `called` with; says in the log which
    estate answers and the greeting it hears."""
    chosen = None
    if estate_for is not None:
        try:
            chosen = estate_for(called)
        except Exception:  # the database is away: the company answers
            logger.exception("[%s] no estate for %s; the company answers", call_id, called)
    if chosen is not None:
        content, schedule = chosen.content, chosen.schedule
    logger.info(
        "[%s] called %s: estate %s, greeting %s",
        call_id,
        called,
        chosen.code if chosen is not None else "(company)",
        content.prompt("greeting"),
    )
    return content, schedule
