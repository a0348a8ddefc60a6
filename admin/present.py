"""How values are shown: masked phone numbers, labels, local times."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin.db import get_session, local, local_today, settings
from recorder.estates import Estate
from recorder.models import EntryStatus, LogEntry, Urgency
from transcripts.rules import DeskContent as Content

STATUS_LABELS = {
    EntryStatus.RECEIVED: _l("Received"),
    EntryStatus.DISPATCHED: _l("Dispatched"),
    EntryStatus.DONE: _l("Done"),
    EntryStatus.FOLLOWED_UP: _l("Followed up"),
    EntryStatus.CLOSED: _l("Closed"),
}
ROLE_LABELS = {
    "clerk": _l("Clerk"),
    "supervisor": _l("Supervisor"),
    "admin": _l("Administrator"),
}
URGENCY_LABELS = {
    Urgency.SAFETY: _l("Safety"),
    Urgency.LEAK: _l("Leak"),
    Urgency.NORMAL: _l("Normal"),
}
OPEN_STATUSES = (EntryStatus.RECEIVED, EntryStatus.DISPATCHED)
#: Column headers of the paper log book (电话接待记录本), in ENTRY_FIELDS order, in the
#: user's language (zh-CN: 来电时间, 来电号码, ... as the paper book has them).
FIELD_HEADERS = {
    "received_at": _l("Received at"),
    "caller_number": _l("Caller number"),
    "surname": _l("Surname"),
    "unit": _l("Unit"),
    "phone": _l("Callback number"),
    "category": _l("Category"),
    "urgency": _l("Urgency"),
    "summary": _l("Summary"),
    "handling": _l("Handling"),
    "dispatch_department": _l("Department"),
    "promised_reply_at": _l("Promised reply"),
    "follow_up_due": _l("Follow-up due"),
    "status": _l("Status"),
    "responsible_user_id": _l("Responsible"),
}


def mask(number: str | None) -> str:
    """138****5678: the seeds' confidentiality rules (保密制度 一.1) keep numbers private."""
    if not number:
        return ""
    digits = number.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    keep = 3 if len(digits) >= 7 else 1
    return digits[:keep] + "*" * (len(digits) - keep - 4) + digits[-4:]


def must_mask() -> bool:
    roles = settings().admin.mask_phone_roles
    return bool(current_user.is_authenticated and current_user.role.value in roles)


def phone(number: str | None) -> str:
    return mask(number) if must_mask() else (number or "")


#: A phone number said or typed in a text: a mobile (138 1234 5678, 138-1234-5678), a
#: landline with or without its area code (021-6123 4567, 61234567).
#: Digits as the recogniser may write them too (一三八…, 幺 for 1).
DIGITS = "0-9零〇一二三四五六七八九幺"
_NUMBER = re.compile(rf"(?<![{DIGITS}])[{DIGITS}](?:[ -]?[{DIGITS}]){{6,}}(?![{DIGITS}])")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")


def spoken_numbers(text: str) -> list[re.Match[str]]:
    """The phone numbers in a text (not its dates: 2026-11-23)."""
    return [m for m in _NUMBER.finditer(text) if not _DATE.fullmatch(m.group(0))]


def masked_text(text: str | None) -> str:
    """A summary or transcript with every phone number in it masked like the caller's
    number, for the roles that see masked numbers (保密制度 一.1)."""
    if not text:
        return ""
    if not must_mask():
        return text
    shown, at = [], 0
    for match in spoken_numbers(text):
        shown += [text[at : match.start()], mask(re.sub(r"[ -]", "", match.group(0)))]
        at = match.end()
    return "".join([*shown, text[at:]])


def masked_words(words: list[dict[str, Any]]) -> list[str]:
    """Each transcript word as shown: a number said across several words (138 / 1234 /
    5678) is found in the words joined, and its hidden digits masked in each word."""
    texts = [str(w.get("word", "")) for w in words]
    if not must_mask():
        return texts
    joined = "".join(texts)
    hidden = [False] * len(joined)
    for match in spoken_numbers(joined):
        digits = [i for i in range(match.start(), match.end()) if joined[i] not in " -"]
        keep = 3 if len(digits) >= 7 else 1
        for i in digits[keep : len(digits) - 4]:
            hidden[i] = True
    shown, at = [], 0
    for text in texts:
        shown.append("".join("*" if hidden[at + i] else c for i, c in enumerate(text)))
        at += len(text)
    return shown


def organization_name(estate_id: int | None = None) -> str:
    """The letterhead of prints: the matter's estate's name (issue 23), else the
    company's (organization.name)."""
    if estate_id is not None:
        estate = get_session().get(Estate, estate_id)
        if estate is not None and estate.name:
            return estate.name
    return settings().organization.name


def departments(estate_id: int | None = None) -> list[str]:
    """The departments a matter's work orders may go to: its estate's own (issue 23),
    else the company's ([departments] of the category rules)."""
    if estate_id is not None:
        estate = get_session().get(Estate, estate_id)
        if estate is not None and estate.departments:
            return [str(name) for name in estate.departments]
    return list(content().categories.departments.names)


def content() -> Content:
    content: Content = current_app.extensions["hotline"].content
    return content


def language() -> str:
    return current_user.language if current_user.is_authenticated else "zh-CN"


def category_label(key: str) -> str:
    try:
        return content().categories.by_key(key).label_for(language())
    except KeyError:
        return key


def category_choices() -> list[tuple[str, str]]:
    return [(c.key, c.label_for(language())) for c in content().categories.category]


def overdue(entry: LogEntry) -> bool:
    """Past its follow-up date and not followed up (recorder.dispatch.overdue, per entry:
    a follow-up that reached the resident moves a done entry on, so it is no longer shown)."""
    due = entry.follow_up_due
    waiting = (EntryStatus.RECEIVED, EntryStatus.DISPATCHED, EntryStatus.DONE)
    return due is not None and due < local_today() and entry.status in waiting


def may_close(entry: LogEntry) -> bool:
    """Whether the current user is offered closing: supervisors, from a closable status."""
    from recorder import matter_states
    from recorder.models import Role

    if not current_user.is_authenticated:
        return False
    return (
        matter_states.allowed(
            entry.status, EntryStatus.CLOSED, current_user.role, matter_states.Via.CLOSING
        )
        and current_user.role is not Role.CLERK
    )


def when(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        shown = local(value)
        return shown.strftime(fmt) if shown else ""
    return value.isoformat()


DISPOSITION_LABELS = {
    "ringing": _l("Ringing"),
    "answered": _l("Answered"),
    "missed": _l("Missed"),
    "abandoned": _l("Abandoned"),
    "failed": _l("Failed"),
}


LEG_RESULT_LABELS = {
    "answered": _l("Answered"),
    "busy": _l("Busy"),
    "no_answer": _l("No answer"),
    "failed": _l("Could not be reached"),
}


#: What the Audit page says each audit action was (the rows keep the codes).
AUDIT_ACTION_LABELS = {
    "playback": _l("Played a recording"),
    "waveform": _l("Viewed a waveform"),
    "export": _l("Exported"),
    "sign_off": _l("Signed off the log"),
    "dispatch": _l("Dispatched a work order"),
    "work_order": _l("Reported a work order"),
    "follow_up": _l("Recorded a follow-up"),
    "view_entry": _l("Viewed an entry"),
    "view_order": _l("Viewed a work order"),
    "redispatch": _l("Re-dispatched a work order"),
    "status": _l("Changed a status"),
    "hand_over": _l("Handed over a matter"),
    "close": _l("Closed a matter"),
    "complaint": _l("Recorded a complaint"),
    "escalate": _l("Escalated a complaint"),
    "letter": _l("Drafted a reply letter"),
    "letter_review": _l("Recorded a letter review"),
    "letter_approve": _l("Approved a reply letter"),
    "letter_mail": _l("Mailed a reply letter"),
    "letter_confirm": _l("Confirmed a reply letter by phone"),
    "letter_archive": _l("Archived a reply letter"),
    "handover": _l("Handed over a shift"),
    "handover_ack": _l("Took over a shift"),
    "check_draw": _l("Drew a check sample"),
    "check_mark": _l("Marked a checked record"),
    "check_corrected": _l("Corrected a returned record"),
}


def audit_action_label(action: str) -> str:
    return str(AUDIT_ACTION_LABELS.get(action, action))


def leg_result_label(value: object) -> str:
    key = getattr(value, "value", value)
    return str(LEG_RESULT_LABELS.get(str(key), str(key)))


def disposition_label(value: object) -> str:
    key = getattr(value, "value", value)
    return str(DISPOSITION_LABELS.get(str(key), str(key)))


def field_label(name: str) -> str:
    return str(FIELD_HEADERS.get(name, name))


def revision_value(field: str, value: str | None) -> str:
    """A revision's stored text as the desk shows it (labels, masked numbers)."""
    if value is None:
        return ""
    if field in ("caller_number", "phone"):
        return phone(value)
    if field in ("summary", "handling"):
        return masked_text(value)
    if field == "category":
        return category_label(value)
    tables: dict[str, dict[Any, Any]] = {"urgency": URGENCY_LABELS, "status": STATUS_LABELS}
    labels = tables.get(field, {})
    for key, label in labels.items():
        if key.value == value:
            return str(label)
    return value


def speech_model_missing() -> bool:
    """True while no usable speech model is configured (the banner on every page):
    calls are still answered, recorded and logged, and wait for their words."""
    from transcripts.model_dir import is_usable, resolve_model

    return not is_usable(resolve_model(settings()))
