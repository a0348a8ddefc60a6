"""How an outbound attempt ended, and where it is sent (issue 22): shared by the dialer's
surveys and call-backs (ivr/outbound.py) and the desk's call-backs (ivr/outbound_desk.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ivr.leg_status import BUSY_STATUSES, NO_ANSWER_STATUSES
from ivr.phone import Call
from ivr.settings import SipSettings
from recorder.outbound_models import Attempt

REJECTED_STATUSES = frozenset({603})


def attempt_of(status: int | None) -> Attempt:
    """How an unanswered attempt ended, from the final status of its INVITE."""
    if status is None or status in NO_ANSWER_STATUSES:
        return Attempt.NO_ANSWER
    if status in REJECTED_STATUSES:
        return Attempt.REJECTED
    return Attempt.BUSY if status in BUSY_STATUSES else Attempt.FAILED


def outbound_uri(sip: SipSettings, number: str) -> str:
    return sip.outbound_uri_template.format(number=number, registrar=sip.registrar)


def rang_to_answer(
    call: Call, ring_timeout_s: float, monotonic: Callable[[], float], stopping: threading.Event
) -> bool:
    """Let an outbound call ring up to `ring_timeout_s` (or until the agent stops); CANCEL
    it then. True once answered."""
    deadline = monotonic() + ring_timeout_s
    while not call.answered and not call.ended and not stopping.is_set():
        if monotonic() >= deadline:
            break
        stopping.wait(0.05)
    if call.answered:
        return True
    if not call.ended:
        call.cancel_or_hangup()
    return False
