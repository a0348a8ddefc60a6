"""A call's text as the desk hears it: the recogniser's near-homophones read as the words
meant (`[speech] misheard`, by sound), and the call cut into its requests (`[speech]
connectors`), each without its hesitations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from transcripts.keyword_match import PAUSE
from transcripts.rules import CategoryRules
from transcripts.text import strip_fillers


@lru_cache(maxsize=8)
def _connector(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(word) for word in words))


def heard(text: str, rules: CategoryRules) -> str:
    """The text with the recogniser's near-homophones read as the words meant (头诉 is
    投诉, 露水 is 漏水: `[speech] misheard`)."""
    for said, meant in rules.speech.misheard.items():
        text = text.replace(said, meant)
    return by_sound(
        text,
        tuple(rules.speech.by_sound),
        frozenset(rules.speech.sounds_like_but_is),
        tuple(rules.speech.merged_initials.items()),
    )


#: Characters that are words on their own (一, 了, 的 ...): a run holding one is two words
#: that happen to sound like a desk word (看见一只 is no 建议), not a word misheard.
_PARTICLES = frozenset("一不了的是在有个也都就")


def _ends_of_words(text: str, start: int, end: int, words: Mapping[str, object]) -> bool:
    """Whether the run text[start:end] begins inside a word that starts before it or ends
    inside one that goes on after it (一点提醒 holds 点提, the sound of 电梯, across two
    words). `words`: pypinyin's list of phrases, which is no full word list."""
    return text[max(start - 1, 0) : start + 1] in words or text[end - 1 : end + 1] in words


def _merged(syllable: str, initials: tuple[tuple[str, str], ...]) -> str:
    """The syllable with an initial callers do not tell apart merged (shu is su)."""
    for said, heard_as in initials:
        if syllable.startswith(said):
            return heard_as + syllable[len(said) :]
    return syllable


@lru_cache(maxsize=1024)
def by_sound(
    text: str,
    words: tuple[str, ...],
    keep: frozenset[str],
    merged: tuple[tuple[str, str], ...] = (),
) -> str:
    """The text with each run of characters that sounds like one of `words` (toneless
    pinyin: 投素, 投宿, 头诉 are all tou su; with `merged` initials, 投书 tou shu too) read
    as that word: Vosk writes a desk word it did not quite hear as another with the same
    sound. Runs in `keep` (real words heard in their own sense: 保修) and runs holding a
    particle stay as said."""
    if not words:
        return text
    from pypinyin import lazy_pinyin
    from pypinyin.phrases_dict import phrases_dict

    # errors=list keeps one entry per character that is no hanzi (digits, Latin); pypinyin
    # accepts a list from the callback, its stubs say str.
    sounds = lazy_pinyin(text, errors=list)  # type: ignore[arg-type]
    if len(sounds) != len(text):  # pypinyin could not keep one syllable per character
        return text
    sounds = [_merged(sound, merged) for sound in sounds]
    out = list(text)
    for word in words:
        target = [_merged(sound, merged) for sound in lazy_pinyin(word)]
        size = len(word)
        for start in range(len(text) - size + 1):
            run = text[start : start + size]
            if (
                sounds[start : start + size] == target
                and run != word
                and run not in keep
                and not _PARTICLES.intersection(run)
                and not _ends_of_words(text, start, start + size, phrases_dict)
            ):
                out[start : start + size] = word
    return "".join(out)


def requests(text: str, rules: CategoryRules) -> list[str]:
    """The call cut where the caller moves to another request (另外, 还有个事, 对了 ...:
    `[speech] connectors`), each without its hesitations (那个 那个 就是 would keep a
    fault from its thing)."""
    text = heard(text, rules)
    connector = _connector(tuple(rules.speech.connectors))
    starts = [0, *(m.start() for m in connector.finditer(text) if m.start() > 0)]
    return [
        strip_fillers(text[a:b], PAUSE)
        for a, b in zip(starts, [*starts[1:], len(text)], strict=True)
    ]
