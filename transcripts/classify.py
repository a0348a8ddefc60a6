"""Category and urgency of a call from its text, by the rules in config/rules/categories.toml.

A category whose keywords match wins over the categories in its `before`
list, so a complaint about a repair never done is a complaint, not a repair.
Among the rest, the most keyword hits wins; ties go to the order in the file.
A thing and a fault said close together (电梯 ... 不动了, 报警器 ... 一直在叫)
count as a hit too, so repairs are found even in words no keyword list holds.
Urgency is raised only for repairs and complaints: a question about the lift
timetable is not a safety matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hotline.content import CategoryRules

URGENT_CATEGORIES = ("repair", "complaint")
#: How many characters after a thing its fault may be said (电梯今天早上开始就不动了).
FAULT_WINDOW = 12


@dataclass(frozen=True)
class Classification:
    category: str
    urgency: str
    hits: dict[str, list[str]]


def together(text: str, things: Sequence[str], faults: Sequence[str]) -> list[str]:
    """`thing+fault` for each thing followed closely by a fault."""
    found = []
    for thing in things:
        start = text.find(thing)
        while start >= 0:
            end = start + len(thing)
            window = text[end : end + FAULT_WINDOW]
            fault = next((f for f in faults if f in window), None)
            if fault is not None:
                found.append(f"{thing}+{fault}")
                break
            start = text.find(thing, end)
    return found


def category_hits(text: str, rules: CategoryRules) -> dict[str, list[str]]:
    hits = {}
    for category in rules.category:
        found = [word for word in category.keywords if word in text]
        found += together(text, category.things, category.faults)
        if found:
            hits[category.key] = found
    return hits


def choose(hits: dict[str, list[str]], rules: CategoryRules, text: str = "") -> str:
    strong = {
        key: set(rules.by_key(key).strong_before)
        for key in hits
        if any(word in text for word in rules.by_key(key).strong_keywords)
    }
    beaten = {loser for losers in strong.values() for loser in losers}
    for key in hits:
        for loser in rules.by_key(key).before:
            if key not in strong.get(loser, ()):
                beaten.add(loser)
    candidates = [c.key for c in rules.category if c.key in hits and c.key not in beaten]
    if not candidates:
        return "other"
    return max(candidates, key=lambda key: (len(hits[key]), -candidates.index(key)))


def urgency(text: str, category: str, rules: CategoryRules) -> str:
    if category not in URGENT_CATEGORIES:
        return "normal"
    for level in ("safety", "leak"):
        rule = rules.urgency[level]
        if any(word in text for word in rule.keywords) or together(text, rule.things, rule.faults):
            return level
    return "normal"


def classify(text: str, rules: CategoryRules) -> Classification:
    hits = category_hits(text, rules)
    category = choose(hits, rules, text)
    return Classification(category=category, urgency=urgency(text, category, rules), hits=hits)
