"""The day's page of the paper log book (电话接待记录本), for printing and filing (issue 21):
the book's columns, with who answered and their 工号, the work orders, the follow-up
result, and the supervisor's daily check (检查作业指导书 3.2) with a signature line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin import present
from admin.timeline import follow_up_text
from recorder import dispatch
from recorder.models import AnsweredBy, LogEntry, User, WorkOrder

#: (key, header, CSS class): narrow columns never wrap, text columns take the rest.
COLUMNS: list[tuple[str, Any, str]] = [
    ("number", _l("No."), "narrow"),
    ("time", present.FIELD_HEADERS["received_at"], "narrow"),
    ("caller", present.FIELD_HEADERS["caller_number"], "narrow"),
    ("resident", _l("Resident / unit"), "mid"),
    ("category", present.FIELD_HEADERS["category"], "narrow"),
    ("summary", present.FIELD_HEADERS["summary"], "wide"),
    ("handling", _l("Handling / work order"), "wide"),
    ("reply", present.FIELD_HEADERS["promised_reply_at"], "narrow"),
    ("follow_up", _l("Follow-up result"), "mid"),
    ("status", present.FIELD_HEADERS["status"], "narrow"),
    ("owner", present.FIELD_HEADERS["responsible_user_id"], "narrow"),
    ("answered", _l("Answered by (job number)"), "narrow"),
]


@dataclass(frozen=True)
class Line:
    cells: dict[str, str]


def _answered(entry: LogEntry, users: dict[int, User]) -> str:
    call = entry.call
    if call is None or call.answered_by is None:
        return ""
    if call.answered_by is AnsweredBy.AGENT:
        return _("Voice agent")
    user = users.get(call.answered_by_user_id or -1)
    return f"{user.display_name} ({user.job_number})" if user else ""


def lines(session: Session, entries: list[LogEntry]) -> list[Line]:
    ids = [e.id for e in entries]
    users = {u.id: u for u in session.scalars(select(User))}
    follows = dispatch.last_follow_ups(session, ids)
    orders: dict[int, list[WorkOrder]] = {}
    if ids:
        for order in session.scalars(
            select(WorkOrder).where(WorkOrder.entry_id.in_(ids)).order_by(WorkOrder.id)
        ):
            orders.setdefault(order.entry_id, []).append(order)
    result = []
    for entry in entries:
        owner = entry.responsible
        handling = [entry.handling or ""]
        for order in orders.get(entry.id, []):
            to = f"{order.department}·{order.technician}" if order.technician else order.department
            handling.append(f"{order.number} {to}")
        resident = " ".join(p for p in (entry.unit, entry.surname) if p)
        phone = present.phone(entry.phone) if entry.phone else ""
        follow = follows.get(entry.id)
        result.append(
            Line(
                {
                    "number": str(entry.id),
                    "time": present.when(entry.received_at, "%H:%M"),
                    "caller": present.phone(entry.caller_number),
                    "resident": f"{resident} {phone}".strip(),
                    "category": present.category_label(entry.category)
                    + (
                        f"·{present.URGENCY_LABELS[entry.urgency]}"
                        if entry.urgency.value != "normal"
                        else ""
                    ),
                    "summary": present.masked_text(entry.summary),
                    "handling": "；".join(h for h in handling if h),
                    "reply": present.when(entry.promised_reply_at, "%m-%d %H:%M"),
                    "follow_up": follow_up_text(follow) if follow else "",
                    "status": str(present.STATUS_LABELS[entry.status]),
                    "owner": f"{owner.display_name} ({owner.job_number})" if owner else "",
                    "answered": _answered(entry, users),
                }
            )
        )
    return result
