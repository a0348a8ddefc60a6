"""How a clerk's leg that was not answered ended, from the final status of its INVITE
(moved out of ivr/call_media.py): busy or declined, no answer in time, or failed."""

from __future__ import annotations

#: Final answers to an INVITE that mean the clerk is busy or declined (flow: FarEndBusy).
BUSY_STATUSES = frozenset({486, 600, 603})
#: ... that mean nobody picked up in time; any other failure means the phone could not be rung.
NO_ANSWER_STATUSES = frozenset({408, 480, 487})


def leg_result(status: int | None) -> str:
    """How a leg that ended unanswered ended, from the final status of its INVITE.

    None (the SIP layer did not say) counts as no answer, as the flow treats it.
    """
    if status is None or status in NO_ANSWER_STATUSES:
        return "no_answer"
    return "busy" if status in BUSY_STATUSES else "failed"
