"""The category of a request from the keywords said: the hits per category (effects and
courtesy dropped), the strong keywords and `before` lists that override, then the most hits;
a call's category from its requests' (one that `escalates` wins).
"""

from __future__ import annotations

from collections.abc import Sequence

from transcripts.heard import heard
from transcripts.keyword_match import (
    PAIRED,
    Hit,
    a_not_a,
    find_all,
    pairs,
    reported,
)
from transcripts.rules import CategoryRules


def find_hits(text: str, rules: CategoryRules) -> dict[str, list[Hit]]:
    hits = {}
    compounds = rules.speech.compounds
    for category in rules.category:
        found = find_all(text, [*category.keywords, *category.names], compounds)
        found += pairs(text, category.things, category.faults, compounds)
        if category.a_not_a:
            found += a_not_a(text)
        if category.urgent:
            found = reported(text, found)
        if found:
            hits[category.key] = found
    return _without_courtesy(_without_effects(hits, rules), rules)


def _without_effects(hits: dict[str, list[Hit]], rules: CategoryRules) -> dict[str, list[Hit]]:
    """Drops a nuisance's effects (吵得, 熏得) where another category found a thing and its
    fault: the noise of a window that will not shut is a repair, not a complaint."""
    paired = {key for key, found in hits.items() if any(PAIRED in hit.word for hit in found)}
    kept = {}
    for key, found in hits.items():
        effects = rules.by_key(key).effects if paired - {key} else []
        remaining = [hit for hit in found if hit.word not in effects]
        if remaining:
            kept[key] = remaining
    return kept


def _without_courtesy(hits: dict[str, list[Hit]], rules: CategoryRules) -> dict[str, list[Hit]]:
    """Drops thanks said after another category's first word (a request, then 谢谢), but not
    thanks to the people who did the work (谢谢他们, 真辛苦: `speech.gratitude`)."""
    courtesy, gratitude = rules.speech.courtesy, rules.speech.gratitude
    kept = {}
    for key, found in hits.items():
        others = [hit.start for other, said in hits.items() if other != key for hit in said]
        first_other = min(others, default=None)
        remaining = [
            hit
            for hit in found
            if first_other is None
            or hit.start < first_other
            or hit.word in gratitude
            or not any(word in hit.word for word in courtesy)
        ]
        if remaining:
            kept[key] = remaining
    return kept


def _count(found: list[Hit]) -> int:
    """Different words that do not overlap: 想问一下 matches 想问 and 问一下 but is one
    question, and 快递 said twice is one parcel."""
    first = {hit.word: hit for hit in reversed(found)}
    count, reach = 0, -1
    for hit in sorted(first.values(), key=lambda h: (h.start, h.end)):
        if hit.start >= reach:
            count += 1
            reach = hit.end
        else:
            reach = max(reach, hit.end)
    return count


def category_hits(text: str, rules: CategoryRules) -> dict[str, list[str]]:
    return {
        key: [hit.word for hit in found]
        for key, found in find_hits(heard(text, rules), rules).items()
    }


def strong_beats(
    hits: dict[str, list[Hit]], rules: CategoryRules, text: str
) -> dict[str, set[str]]:
    """For each category found whose strong keyword (or question about a fault) is said,
    the categories it beats."""
    beats: dict[str, set[str]] = {}
    compounds = rules.speech.compounds
    named = {k for k, found in hits.items() if named_only(found, rules.by_key(k).names)}
    for key in hits:
        category = rules.by_key(key)
        if find_all(text, category.strong_keywords, compounds):
            beats[key] = set(category.strong_before) | (named - {key})
        if find_all(text, category.question_keywords, compounds):
            beats.setdefault(key, set()).update(category.question_before)
    return beats


def named_only(found: list[Hit], names: Sequence[str]) -> bool:
    """A category found only by things named alone (水管, 马桶), no fault said."""
    return bool(names) and all(hit.word in names for hit in found)


def choose(hits: dict[str, list[Hit]], rules: CategoryRules, text: str) -> str:
    strong = strong_beats(hits, rules, text)
    beaten = {loser for losers in strong.values() for loser in losers}
    for key in hits:
        for loser in rules.by_key(key).before:
            if key not in strong.get(loser, ()):
                beaten.add(loser)
    candidates = [c.key for c in rules.category if c.key in hits and c.key not in beaten]
    if not candidates:
        return "other"
    return max(candidates, key=lambda key: (_count(hits[key]), -candidates.index(key)))


def request_categories(parts: list[str], rules: CategoryRules) -> list[str]:
    return [choose(find_hits(part, rules), rules, part) for part in parts]


def category_of(kinds: list[str], rules: CategoryRules) -> str:
    """The first request's category, unless a later one escalates the call (a complaint)."""
    for escalating in rules.escalating:
        if escalating in kinds:
            return escalating
    return next((kind for kind in kinds if kind != "other"), "other")
