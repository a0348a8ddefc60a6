"""How values are shown: masked phone numbers, labels, local times."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin.db import local, local_today, settings
from recorder.models import EntryStatus, LogEntry, Urgency
from transcripts.rules import DeskContent as Content

STATUS_LABELS = {
    EntryStatus.RECEIVED: _l("Received"),
    EntryStatus.DISPATCHED: _l("Dispatched"),
    EntryStatus.DONE: _l("Done"),
    EntryStatus.FOLLOWED_UP: _l("Followed up"),
    EntryStatus.CLOSED: _l("Closed"),
}
URGENCY_LABELS = {
    Urgency.SAFETY: _l("Safety"),
    Urgency.LEAK: _l("Leak"),
    Urgency.NORMAL: _l("Normal"),
}
OPEN_STATUSES = (EntryStatus.RECEIVED, EntryStatus.DISPATCHED)
#: Column headers of the paper log book (电话接待记录本), in ENTRY_FIELDS order.
FIELD_HEADERS = {
    "received_at": "来电时间",
    "caller_number": "来电号码",
    "surname": "姓氏",
    "unit": "房号",
    "phone": "联系电话",
    "category": "类别",
    "urgency": "紧急程度",
    "summary": "来电内容摘要",
    "handling": "处理情况",
    "dispatch_department": "派单部门",
    "promised_reply_at": "承诺答复时间",
    "follow_up_due": "回访期限",
    "status": "状态",
    "responsible_user_id": "首问负责人",
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
    due = entry.follow_up_due
    return due is not None and due < local_today() and entry.status in OPEN_STATUSES


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
    return FIELD_HEADERS.get(name, name)


def revision_value(field: str, value: str | None) -> str:
    """A revision's stored text as the desk shows it (labels, masked numbers)."""
    if value is None:
        return ""
    if field in ("caller_number", "phone"):
        return phone(value)
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
