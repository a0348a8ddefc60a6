"""Cleaning Vosk's Mandarin output for reading, and normalising numbers for extraction.

Vosk writes Mandarin as space-separated words with numbers in characters
(`我 姓 王 三 栋 二 单元 五 零 一`). Clerks read it without the spaces; the
extractors read a copy with numbers as digits (`3栋2单元501`), made by cn2an.
The raw text is always kept beside both.
"""

from __future__ import annotations

import logging
import re
import warnings
from functools import lru_cache

logger = logging.getLogger(__name__)

_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}\d])|(?<=\d)\s+(?=[{_CJK}\d])")
_SPACES = re.compile(r"\s+")
#: Sounds and fillers residents say while thinking; dropped from summaries.
FILLERS = (
    "嗯",
    "呃",
    "啊",
    "哦",
    "那个啥",
    "那个",
    "这个",
    "就是说",
    "就是",
    "然后呢",
    "的话",
    "怎么说呢",
)
#: Numbers said digit by digit (phone and room numbers: 零二一…, 幺三八…, 五零一):
#: converted here, because cn2an drops a leading 零.
_DIGIT_RUN = re.compile(r"[零〇幺一二三四五六七八九]{3,}")
_DIGITS = str.maketrans("零〇幺一二三四五六七八九", "001123456789")
_SHORTEST_RUN = 3
#: Digits that begin a number said with 十 or 百 (二十四, 三百): 一十 is hardly said.
_TENS_DIGITS = "二三四五六七八九"
#: 五杠二杠五零一 (5-2-501), 零二一杠六二… : 杠 is how a dash is said between numbers.
_DASH = re.compile(r"(?<=[\d零〇幺一二三四五六七八九十百])杠(?=[\d零〇幺一二三四五六七八九十])")


def clean(raw: str) -> str:
    """Vosk text as a person would write it: no spaces between Chinese characters."""
    text = _SPACES.sub(" ", raw.strip())
    return _SPACE_BETWEEN_CJK.sub("", text)


def numeric(clean_text: str) -> str:
    """The cleaned text with spoken numbers as digits (五零一 and 五百零一 both give 501).

    For extraction only: cn2an also turns 一下 into 1下, which is fine for
    regular expressions and wrong for display.
    """
    import cn2an

    text = _DIGIT_RUN.sub(_digits, clean_text)
    text = _DASH.sub("-", text)
    try:
        with warnings.catch_warnings():  # cn2an warns on every numeral it leaves alone
            warnings.simplefilter("ignore")
            return str(cn2an.transform(text, "cn2an"))
    except (ValueError, KeyError) as exc:  # cn2an rejects some malformed numerals
        logger.debug("cn2an could not normalise %r: %s", text, exc)
        return text


def _digits(run: re.Match[str]) -> str:
    """A run said digit by digit as digits; its last digit stays a word when 十 or 百 follows
    and a run of three is left: 一零二二十四号楼 is room 102 and building 24 (`102 24号楼`), not
    1022 and 14."""
    said = run.group(0)
    if (
        len(said) > _SHORTEST_RUN
        and said[-1] in _TENS_DIGITS
        and run.string.startswith(("十", "百"), run.end())
    ):
        return said[:-1].translate(_DIGITS) + " " + said[-1]  # two numbers, kept apart
    return said.translate(_DIGITS)


def strip_fillers(clean_text: str, mark: str = "") -> str:
    """The text without hesitations: 幺三八 嗯 幺二三四 is one phone number again.

    With `mark` (" "), each run of hesitations leaves that mark: where a caller
    hesitated a clause often ends (哦 不是 啊 那 打错了), which the classifier keeps.
    """
    text = clean_text
    for filler in FILLERS:
        text = text.replace(filler, mark or "")
    if mark:
        text = re.sub(f"(?:{re.escape(mark)})+", mark, text).strip(mark)
    return text


@lru_cache(maxsize=4)
def _converter(config: str) -> object:
    import opencc

    return opencc.OpenCC(config)


def for_display(text: str, language: str) -> str:
    """Simplified text shown in the reader's script: zh-TW gets Traditional (OpenCC)."""
    if language == "zh-TW":
        return str(_converter("s2t.json").convert(text))  # type: ignore[attr-defined]
    return text
