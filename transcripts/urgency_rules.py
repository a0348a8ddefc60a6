"""The urgency of a call: the hard triggers of `[urgency.safety]` / `[urgency.leak]` said in
a request of an urgent category (or, `triggered`, in any request), not negated, imagined,
handled by the caller or given as someone else's reason.
"""

from __future__ import annotations

from transcripts.category_choice import find_hits, named_only, request_categories, strong_beats
from transcripts.heard import heard, requests
from transcripts.keyword_match import BA, PAUSE, Hit, find_all, imagined, pairs, reported
from transcripts.rules import CategoryRules
from transcripts.text import strip_fillers

#: 我已经把电闸拉了: a thing after 把 and before one of these verbs is the caller's own doing
#: (switched off, shut), no hazard.
HANDLED_BY = "拉关断拔"

#: 说是楼下反映漏水 要查管子: what follows 说是 (up to a pause or 就) is the reason someone else
#: gave; it raises no urgency, while the grievance said after it still counts
#: (你们说是测试演练也不提前通知 is a complaint).
REASONS = ("说是",)


def urgency(text: str, category: str, rules: CategoryRules, kinds: list[str] | None = None) -> str:
    """The urgency of a call classified `category`; `kinds`: its requests' categories, if known."""
    parts = requests(text, rules)
    kinds = kinds if kinds is not None else request_categories(parts, rules)
    urgent = [
        p
        for p, k in zip(parts, kinds, strict=True)
        if k in rules.urgent or (rules.by_key(k).relays_urgency and _outranked(p, rules))
    ]
    if category in rules.urgent and not urgent:  # a category chosen by the fallback
        urgent = [strip_fillers(heard(text, rules), PAUSE)]
    for level in ("safety", "leak"):
        rule = rules.urgency[level]
        for part in urgent:
            found = find_all(part, rule.keywords, rules.speech.compounds)
            found += pairs(part, rule.things, rule.faults, rules.speech.compounds)
            if [hit for hit in reported(part, found) if not _handled(part, hit)]:
                return level
    return "normal"


def _handled(text: str, hit: Hit) -> bool:
    """A thing the caller acted on (我已经把电闸拉了, 把阀门关了): said after 把 and before a
    verb that switches it off, it names what was done, not a hazard; a fault in the reason
    someone else gave (说是楼下反映漏水) is none the caller reports."""
    return imagined(text, hit.said_at, REASONS) or (
        hit.start > 0
        and text[hit.start - 1] == BA
        and text[hit.end : hit.end + 1] in tuple(HANDLED_BY)
    )


def _outranked(part: str, rules: CategoryRules) -> bool:
    """A repair or complaint found in a request that a strong keyword of a category that
    `relays_urgency` made something else (转告罗师傅…水龙头还在滴 is a message): the fault
    still sets the urgency. A suggestion's 花盆掉下来好危险 does not, nor a thing only named
    (请问…有没有水龙头: no fault said)."""
    hits = find_hits(part, rules)
    strong = strong_beats(hits, rules, part)
    beaten = {
        loser
        for key, losers in strong.items()
        if rules.by_key(key).relays_urgency
        for loser in losers
    }
    return any(
        key in beaten and not named_only(hits[key], rules.by_key(key).names)
        for key in rules.urgent
        if key in hits
    )


def triggered(text: str, rules: CategoryRules) -> str:
    """The urgency the hard triggers of `[urgency.safety]` / `[urgency.leak]` give a call, whatever
    its category: safety or leak where one is said (not negated, imagined or handled), else normal."""
    parts = requests(text, rules)
    for level in ("safety", "leak"):
        rule = rules.urgency[level]
        for part in parts:
            found = find_all(part, rule.keywords, rules.speech.compounds)
            found += pairs(part, rule.things, rule.faults, rules.speech.compounds)
            if [hit for hit in reported(part, found) if not _handled(part, hit)]:
                return level
    return "normal"
