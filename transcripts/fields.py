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
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from transcripts import extract
from transcripts import text as spoken
from transcripts.classify import category_of, classify
from transcripts.classify import urgency as urgency_of
from transcripts.rules import CategoryRules
from transcripts.rules import DeskContent as Content

SUMMARY_CHARS = 60
NO_SPEECH = "（无语音内容）"
_OPENINGS = ("喂", "你好", "您好", "hello", "hi")
_EN_KEYWORDS = {  # checked in this order: a complaint about a repair is a complaint
    "complaint": (
        "complain",
        "complaint",
        "unacceptable",
        "still not fixed",
        "nobody came",
        "rude",
        "nobody has come",
        "no one came",
        "no one has come",
        "called twice",
        "called three times",
        "still waiting",
        "nobody has fixed",
        "not been fixed",
        "still not",
        "third time",
        "second time",
        "so many times",
        "several times",
        "fed up",
        "terrible",
        "disappointed",
        "ignored",
        "nobody has",
        "still has not",
        "still hasn't",
        "every time i call",
        "told to wait",
        # Round 10: staff who pass it off, a fee paid for a service that is not there.
        "not their job",
        "nobody can tell me",
        "still pay",
        # Round 11: charged more than the list says, rung again and again (seed 000 1.4.4.3).
        "charged",
        "surcharge",
        "nobody warned",
        "rung three times",
        "rung twice",
        "without anyone coming",
        "ever since",
    ),
    "praise": (
        "thank you for",
        "great job",
        "very satisfied",
        "praise",
        "very kind",
        "so kind",
        "very helpful",
        "want to thank",
        "thank you to",
        "thanks to",
        "excellent",
        "fantastic",
        "wonderful",
        "amazing",
        "great work",
        "good job",
        "appreciate",
        "wanted to thank",
        "thank the",
        "really clean",
        "well organised",
        "well organized",
        # Round 11: what staff did made a difference (seed 001 3.3.3).
        "make a real difference",
        "made a real difference",
        "made a difference",
    ),
    "suggestion": (
        "suggest",
        "suggestion",
        "it would be better",
        "it would be good",
        "it would be nice",
        "would be good to have",
        "why not put",
        "how about putting",
        "you should put",
        "you should install",
        "you could put",
        "you could install",
        "maybe you could",
        "you could add",
        "could you add",
        "it would help",
        "why don't you",
        "how about",
        "maybe the",
        "could send",
        # Round 10: "who I should send it to" asks; a proposal says who should.
        "you should send",
        # Round 11: what the estate could put up.
        "could you put up",
        "could you install",
        "put up a sign",
    ),
    # Round 9: callers who are no resident (seed 004 五 接待外来人员): surveys, sellers.
    "other": (
        "market research",
        "a short survey",
        "doing a survey",
        "calling on behalf of",
        # Round 10: the press (seed 004 五: outsiders are received, not served).
        "a reporter",
        "journalist",
        "newspaper",
    ),
    "convenience": (
        "parcel",
        "package",
        "water delivery",
        "locked out",
        "locked myself out",
        "delivery",
        "deliver",
        "keep it for me",
        "bottles of water",
        "drinking water",
        "housekeeping",
        "cleaning service",
        "lost my key",
        "unlock",
        "help me move",
        "help moving",
        "clean my",
        "someone to clean",
        "locksmith",
        "move my furniture",
        "carry",
        "a cleaner",
        "hold the key",
        "hand them over",
        "hand it over",
        # Round 10: paid favours at the desk (seed 002 有偿便民服务).
        "print ",
        "happy to pay",
    ),
    "repair": (
        "broken",
        "leak",
        "not working",
        "repair",
        "fix",
        "blocked",
        "no power",
        "lift",
        "elevator",
        "water coming",
        "dripping",
        "smell gas",
        "air conditioner",
        "strange noise",
        "stopped working",
        "clogged",
        "doesn't work",
        "does not work",
        "isn't working",
        "out of order",
        "no hot water",
        "flickering",
        "cracked",
        "burst",
        "won't open",
        "won't close",
        "stuck",
        "smell of gas",
        "gas smell",
        "torn",
        "replace",
        "seeping",
        "grinding",
        "rattling",
        "barely turns",
        # Round 8: fittings that have worked loose.
        "come loose",
        "came loose",
        "comes loose",
        "is loose",
        "wobbly",
        "wobbles",
        # Round 9: things hanging off or out of their track, water through the ceiling.
        "hanging loose",
        "bangs in the wind",
        "off its track",
        "won't slide",
        "coming through the ceiling",
        "water is coming",
        "has failed",
        # Round 10: gas heard hissing or smelt, water pouring from a split hose.
        "smells of gas",
        "hissing",
        "pouring",
        "has split",
        # Round 11: alarms that go off for nothing, parts gone, water that runs hot and cold.
        "went off",
        "won't stop",
        "keeps going off",
        "lost its",
        "fit a new",
        "going cold",
        "goes cold",
        "has a big crack",
        "cracked",
        "fell out",
    ),
    "message": (
        "tell him",
        "tell her",
        "call me back",
        "leave a message",
        "pass a message",
        "pass on",
        "let him know",
        "let her know",
        "ask him to call",
        "ask her to call",
        "give him a message",
        "give her a message",
        "please tell",
        "could you tell him",
        "could you tell her",
        "please let",
    ),
    "inquiry": (
        "how do i",
        "when is",
        "when does",
        "when will",
        "how much",
        "can i",
        "what time",
        "ask about",
        "could you tell me",
        "opening hours",
        "what are the",
        "is there",
        "do you have",
        "where is",
        "where can",
        "office hours",
        "what are your",
        "how can i",
        "how long",
        "is it possible",
        "do i need",
        "are you open",
        "would like to know",
        "like to know",
        "wondering",
        # Round 11: where something can be taken.
        "is there somewhere",
        "where can i",
    ),
}
_EN_SAFETY = (
    "lift",
    "elevator",
    "fire",
    "gas",
    "power",
    "sparks",
    "railing",
    "door access",
    "door entry",
    "stuck",
    "hanging loose",
    "about to fall",
    "could fall",
    "cordon",
    # Round 10: something leaning off its fixings over people.
    "falls on someone",
    "fall on someone",
    "leaning forward",
    # Round 11: glass broken where people pass, a smoke alarm going off.
    "broken glass",
    "smoke detector",
    "smoke alarm",
)
_EN_LEAK = (
    *("leak", "leaking", "water coming", "flood", "dripping", "seeping", "is wet", "soaked"),
    *("water is coming", "coming through the ceiling"),
    # Round 10: a burst pipe, water pouring or running down a wall and pooling.
    *("burst", "pouring", "running down", "pooling"),
)
#: the lift lobby, beside the lifts: a lift named as a place raises nothing (round 11).
_EN_PLACE = re.compile(
    r"\b(?:lift|elevator)s?\s+(?:lobby|lobbies|hall|area)\b"
    r"|\b(?:beside|by|next to|near|towards|outside|in front of)\s+the\s+(?:lift|elevator)s?"
    r"(?:\s+doors?)?\b"
)
#: A word after these is negated: "it is not leaking any more".
_EN_NEGATED = re.compile(r"\b(?:not|no longer|isn't|wasn't|no)\s+$")
#: Where a caller moves to another request: the first request decides, a complaint wins.
_EN_CONNECTOR = re.compile(r"\b(?:also|another thing|by the way|one more thing)\b")


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


def _said(lower: str, words: tuple[str, ...]) -> bool:
    """One of the words is said, and not after a negation (not leaking)."""
    return any(
        not _EN_NEGATED.search(lower[: m.start()])
        for word in words
        for m in re.finditer(re.escape(word), lower)
    )


def _category_english(lower: str) -> str:
    return next((key for key, words in _EN_KEYWORDS.items() if _said(lower, words)), "other")


def _classify_english(lower: str, rules: CategoryRules) -> tuple[str, str]:
    requests = [part for part in _EN_CONNECTOR.split(lower) if part.strip()] or [lower]
    kinds = [_category_english(part) for part in requests]
    category = category_of(kinds, rules)
    urgent = " ".join(p for p, k in zip(requests, kinds, strict=True) if k in rules.urgent)
    urgency = "normal"
    if urgent or category in rules.urgent:
        urgent = _EN_PLACE.sub(" ", urgent or lower)
        if _said(urgent, _EN_SAFETY):
            urgency = "safety"
        elif _said(urgent, _EN_LEAK):
            urgency = "leak"
    return category, urgency


class CategoryModel(Protocol):
    """The learned model: a category to take over the rules' answer, or None. `no_evidence`:
    the rules found nothing (transcripts.learned.answer)."""

    def predict(self, clean_text: str, no_evidence: bool) -> str | None: ...


def fill_entry(
    text: str,
    content: Content,
    received_at: datetime,
    lang: str = "zh",
    learned: CategoryModel | None = None,
) -> EntryFields:
    """Every automatically filled field of a reception-log entry.

    `learned` (transcripts.learned.LearnedCategories) answers where the rules
    found nothing at all (they would say `other` for lack of evidence) and it
    is fairly sure, or anywhere it is sure (transcripts.learned.answer).
    """
    rules = content.categories
    if lang == "en":
        clean = " ".join(text.split())
        found = extract.extract_english(clean)
        category, urgency = _classify_english(clean.lower(), rules)
        guess = (
            learned.predict(clean, category == "other")
            if learned is not None and category == "other"
            else None
        )
        if guess in {c.key for c in rules.category} and guess != category:
            category = str(guess)  # the English model: only where the English rules found nothing
    else:
        clean = spoken.clean(text)
        found = extract.extract(clean, spoken.numeric(spoken.strip_fillers(clean)))
        by_rules = classify(clean, rules)
        category, urgency = by_rules.category, by_rules.urgency
        guess = learned.predict(clean, by_rules.no_evidence) if learned is not None else None
        if guess in {c.key for c in rules.category} and guess != category:
            category = str(guess)  # (a model trained on older categories is ignored)
            urgency = urgency_of(clean, category, rules)
    chosen = rules.by_key(category)
    zone = ZoneInfo(content.timezone)
    follow_days = rules.urgency[urgency].follow_up_days
    if follow_days is None:
        follow_days = chosen.follow_up_days
    nothing = category == "other" and not (found.surname or found.unit or found.phone)
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
        needs_review=nothing or not clean,
        clean_text=clean,
        raw_text=text,
        times=found.times,
        departments=found.departments,
    )
