"""A reception-log entry filled from a call's text: the contract the pipeline uses.

    fields = fill_entry(text, content, received_at, lang="zh")
    new_entry(session, {**fields.as_log_values(), ...}, FieldSource.AUTO)

Deadlines come from config/rules/categories.toml: the promised reply time
from the category (首问责任制培训细则 1.4.5: repairs answered within ten
minutes; 1.4.4.3: complaints within 8 hours), the follow-up date from the
urgency rule when it has one, else from the category (1.4.3.6.2: safety
repairs within two days, leaks within three, other repairs within a week).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from transcripts import extract
from transcripts import text as spoken
from transcripts.classify import classify
from transcripts.rules import CategoryRules
from transcripts.rules import DeskContent as Content
from transcripts.urgency_rules import triggered as triggered_urgency

if TYPE_CHECKING:
    from transcripts.learned import Judgement

SUMMARY_CHARS = 60
NO_SPEECH = "（无语音内容）"
_OPENINGS = ("喂", "你好", "您好", "hello", "hi")
#: A word after these is negated: "it is not leaking any more".
_EN_NEGATED = re.compile(r"\b(?:not|no longer|isn't|wasn't|no)\s+$")
#: Rule phrases of config/rules/categories.toml written in English (matched on English calls).
_LATIN = re.compile(r"^[a-z0-9 '-]+$")


@dataclass(frozen=True)
class EntryFields:
    category: str
    category_label: str
    urgency: str
    surname: str | None
    unit: str | None
    phone: str | None
    summary: str
    dispatch_department: str
    promised_reply_at: datetime
    follow_up_due: date
    needs_review: bool
    clean_text: str
    raw_text: str
    times: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)
    #: A neighbour's unit the caller names (楼上1502): the call's subject, not the caller's home.
    neighbour_unit: str | None = None

    def as_log_values(self) -> dict[str, Any]:
        from recorder.models import Urgency

        return {
            "category": self.category,
            "urgency": Urgency(self.urgency),
            "surname": self.surname,
            "unit": self.unit,
            "phone": self.phone,
            "summary": self.summary,
            "dispatch_department": self.dispatch_department,
            "promised_reply_at": self.promised_reply_at,
            "follow_up_due": self.follow_up_due,
            "needs_review": self.needs_review,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "category_label": self.category_label,
            "urgency": self.urgency,
            "surname": self.surname,
            "unit": self.unit,
            "phone": self.phone,
            "summary": self.summary or None,
        }


def summarise(clean_text: str) -> str:
    body = spoken.strip_fillers(clean_text).strip(" ，。,.")
    for opening in _OPENINGS:
        if body.lower().startswith(opening):
            body = body[len(opening) :].lstrip(" ，,")
    if len(body) > SUMMARY_CHARS:
        body = body[: SUMMARY_CHARS - 1] + "…"
    return body or NO_SPEECH


def _said(lower: str, words: list[str]) -> bool:
    """One of the English rule phrases is said, and not after a negation (not leaking)."""
    return any(
        not _EN_NEGATED.search(lower[: m.start()])
        for word in words
        if _LATIN.match(word)
        for m in re.finditer(r"\b" + re.escape(word) + r"\b", lower)
    )


def _overrides_english(lower: str, rules: CategoryRules) -> tuple[str | None, str]:
    """The English rule phrases' category (None: none said) and hard-trigger urgency."""
    said = [c.key for c in rules.category if _said(lower, c.keywords)]
    category = next((key for key in rules.escalating if key in said), said[0] if said else None)
    for level in ("safety", "leak"):
        if _said(lower, rules.urgency[level].keywords):
            return category, level
    return category, "normal"


#: Severity of the urgency levels: the higher of the model's and the triggers' is taken.
_SEVERITY = {"normal": 0, "leak": 1, "safety": 2}


class CategoryModel(Protocol):
    """The learned model (transcripts.learned.LearnedCategories): category and urgency of a
    line, or None when it has nothing to read."""

    def judge(self, clean_text: str) -> Judgement | None: ...


@lru_cache(maxsize=2)
def shipped_model(lang: str = "zh") -> CategoryModel:
    """The shipped model of `lang` (config/rules/, as `[content]` names it by default): what
    answers when the caller passes none."""
    from transcripts.learned import LearnedCategories
    from transcripts.settings import DefaultTranscriptsSettings

    return LearnedCategories.load(DefaultTranscriptsSettings(), lang=lang)


def fill_entry(
    text: str,
    content: Content,
    received_at: datetime,
    lang: str = "zh",
    learned: CategoryModel | None = None,
) -> EntryFields:
    """Every automatically filled field of a reception-log entry.

    `learned` (transcripts.learned.LearnedCategories) answers the category and
    the urgency; the rules (config/rules/categories.toml) are the exceptions: a
    category keyword said decides the category, a hard trigger raises the
    urgency. Unsure of the category, or of safety (marked safety all the same),
    the entry is flagged for a clerk (`needs_review`).
    """
    rules = content.categories
    learned = learned if learned is not None else shipped_model(lang)
    if lang == "en":
        clean = " ".join(text.split())
        found = extract.extract_english(clean)
        forced, triggered = _overrides_english(clean.lower(), rules)
    else:
        clean = spoken.clean(text)
        found = extract.extract(clean, spoken.numeric(spoken.strip_fillers(clean)))
        by_rules = classify(clean, rules)
        forced = None if by_rules.no_evidence else by_rules.category
        triggered = triggered_urgency(clean, rules)
    said = learned.judge(clean) if learned is not None else None
    known = {c.key for c in rules.category}
    guessed = said.category if said is not None and said.category in known else None
    category = forced or guessed or "other"
    urgency = max(
        triggered, said.urgency if said is not None else "normal", key=_SEVERITY.__getitem__
    )
    review = said is not None and said.review and (forced is None or triggered == "normal")
    chosen = rules.by_key(category)
    zone = ZoneInfo(content.timezone)
    follow_days = rules.urgency[urgency].follow_up_days
    if follow_days is None:
        follow_days = chosen.follow_up_days
    nothing = category == "other" and not (found.surname or found.unit or found.phone)
    review = review or (said is None and forced is None and triggered == "normal")
    return EntryFields(
        category=category,
        category_label=chosen.label_for(content.language),
        urgency=urgency,
        surname=found.surname,
        unit=found.unit,
        phone=found.phone,
        summary=summarise(clean) if clean else NO_SPEECH,
        dispatch_department=chosen.department,
        promised_reply_at=received_at + timedelta(minutes=chosen.reply_within_minutes),
        follow_up_due=received_at.astimezone(zone).date() + timedelta(days=follow_days),
        needs_review=nothing or not clean or review,
        clean_text=clean,
        raw_text=text,
        times=found.times,
        departments=found.departments,
        neighbour_unit=found.neighbour_unit,
    )
