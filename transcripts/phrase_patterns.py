"""Families of spoken phrases, written as data (config/rules/compliance.toml), compiled to patterns.

A supervisor hears 我不知道, 我们也不知道, 这个我真的不太清楚 and 不晓得 as one brush-off; a
list of exact strings catches one of them. A family is a name, the kind of finding it is, and a few
patterns in a small language over the cleaned transcript (Simplified, no spaces between Chinese
characters, no punctuation: what the recogniser prints, cleaned by transcripts.text):

    {slot}     one of the slot's words (slots are named lists in the same file: {I} = 我, 我们 ...)
    {slot}?    the same, or nothing;      {slot}*   up to three of them in a row
    a|b        one of these literal words; a trailing ? makes it optional (有?, 的|是?)
    ~          up to four characters of anything (a short gap: 不 ~ 管)
    .          exactly one Chinese character (喂 小 . : 喂小王); .? one or none
    !{slot}    not followed here by one of the slot's words (or !a|b)
    <!{slot}   not preceded here by one of them (or <!a|b)

Tokens are separated by spaces; anything else is a literal (regular-expression characters are
escaped, so a site's editor cannot write a broken pattern by accident). A family's `unless`
patterns name its harmless senses: a match lying inside one of them is not a finding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_CJK_CHAR = "[\u3400-\u9fff]"
_GAP = ".{0,4}?"
_SLOT = re.compile(r"^(<!|!)?\{(\w+)\}([?*]?)$")
_SPECIAL = re.compile(r"^(<!|!)?([^{}\s]+?)(\?)?$")
#: Words a slot may repeat in a row ({fill}*: 我们 这个 也 真的 不知道).
_REPEAT = 3


class PatternError(ValueError):
    """A pattern that cannot be compiled; the message names the token."""


def _alternatives(words: Sequence[str]) -> str:
    """Longest first, so 我们 wins over 我 where both fit."""
    ordered = sorted({re.escape(w) for w in words if w}, key=len, reverse=True)
    return "|".join(ordered)


def _lookbehind(words: Sequence[str]) -> str:
    # One fixed-width lookbehind per word: the re module has no variable-width lookbehind.
    return "".join(f"(?<!{re.escape(w)})" for w in words if w)


def _token(word: str, slots: Mapping[str, Sequence[str]]) -> str:
    if word == "~":  # the gap token
        return _GAP
    if word in (".", ".?"):
        return _CJK_CHAR + word[1:]
    slot = _SLOT.match(word)
    if slot:
        negation, name, repeat = slot.groups()
        if name not in slots:
            raise PatternError(f"unknown slot {{{name}}} (slots: {', '.join(sorted(slots))})")
        words = slots[name]
    else:
        literal = _SPECIAL.match(word)
        if literal is None:
            raise PatternError(f"cannot read the token {word!r}")
        negation, body, optional = literal.groups()
        words, repeat = body.split("|"), "?" if optional else ""
        if any(not w for w in words):
            raise PatternError(f"empty alternative in {word!r}")
    if negation == "<!":
        return _lookbehind(words)
    group = f"(?:{_alternatives(words)})"
    if negation == "!":
        return f"(?!{group[3:-1]})"
    return group + {"": "", "?": "?", "*": f"{{0,{_REPEAT}}}"}[repeat]


def compile_pattern(pattern: str, slots: Mapping[str, Sequence[str]]) -> re.Pattern[str]:
    """One pattern of the family language as a regular expression over cleaned text."""
    tokens = pattern.split()
    if not tokens:
        raise PatternError("empty pattern")
    try:
        return re.compile("".join(_token(t, slots) for t in tokens))
    except re.error as exc:  # a lookbehind of an empty slot word and the like
        raise PatternError(f"{pattern!r}: {exc}") from None


@dataclass(frozen=True)
class CompiledFamily:
    name: str
    kind: str
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...]

    def first(
        self,
        clean: str,
        allowed: Sequence[tuple[int, int]] = (),
        taken: Sequence[tuple[int, int]] = (),
    ) -> tuple[int, int] | None:
        """The first span said in the family's sense.

        Not inside an `unless` match or an `allowed` span, and not overlapping a `taken` one
        (a span another family has already reported).
        """
        excused = [*allowed, *(m.span() for u in self.unless for m in u.finditer(clean))]
        spans = sorted(
            m.span() for p in self.patterns for m in p.finditer(clean) if m.end() > m.start()
        )
        for start, end in spans:
            if any(a <= start and end <= b for a, b in excused):
                continue
            if not any(start < b and a < end for a, b in taken):
                return start, end
        return None


def compile_family(
    name: str,
    kind: str,
    patterns: Sequence[str],
    unless: Sequence[str],
    slots: Mapping[str, Sequence[str]],
) -> CompiledFamily:
    """A family's patterns compiled; a `PatternError` names the family and the pattern."""
    try:
        return CompiledFamily(
            name,
            kind,
            tuple(compile_pattern(p, slots) for p in patterns),
            tuple(compile_pattern(p, slots) for p in unless),
        )
    except PatternError as exc:
        raise PatternError(f"family {name!r}: {exc}") from None
