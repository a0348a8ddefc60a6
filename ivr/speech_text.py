"""A prompt's text as the synthesiser must be given it: numbers as people say
them, then (for espeak-ng's ``cmn-latn-pinyin`` voice) tone-numbered pinyin.

Numbers (docs/voice.md):

- times as words: ``08:00至18:00`` -> 早上八点至晚上六点, ``12:30`` -> 中午十二点半;
- phone numbers digit by digit, 1 as 幺 where the site chooses
  (``agent.tts_phone_one``): 13800138000 -> 幺三八零零幺三八零零零;
- job numbers and other codes of three digits or more digit by digit:
  ``8001号话务员`` -> 八零零一号话务员 (a cardinal, 八千零一, is heard as 8100);
- a number before a measure word is a quantity: ``8小时`` -> 八小时, ``2小时`` -> 两小时;
- the keys of a menu one by one: ``请按1`` -> 请按一, ``按#`` -> 按井号.

Pinyin: pypinyin in phrase mode picks the reading of a polyphonic character
from the word it is in (银行 yin2 hang2, 重新 chong2 xin1, 队长 dui4 zhang3),
which espeak-ng 1.51's own character table does not (docs/voice.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

DIGITS = "零一二三四五六七八九"
#: The ASCII a pinyin voice pauses at, for the Chinese punctuation of a script.
_PUNCTUATION = str.maketrans(
    {"，": ", ", "、": ", ", "。": ". ", "？": "? ", "！": "! ", "：": ": ", "；": "; "}
)
#: Quantities: a number directly before one of these is a cardinal (8小时 八小时).
_MEASURES = (
    "小时|分钟|秒钟|秒|天|日|周|星期|个|次|元|块|角|位|名|人|户|项|件|条|岁|"
    "公里|米|平方米|平方|层|楼|栋|幢|座|单元|期|月|号"
)
#: Before these, 2 is said 两 (两小时, 两个), elsewhere 二 (二单元, 二号).
_LIANG = {"小时", "分钟", "秒钟", "秒", "天", "周", "星期", "个", "次", "位", "名", "人",
          "户", "项", "件", "条", "岁", "公里", "米", "块", "元"}  # fmt: skip
_TIME = re.compile(r"(?<![\d:])([01]?\d|2[0-4])[:：]([0-5]\d)(?![\d:])")
_PHONE_WORDS = "拨打|致电|电话|热线|号码|手机"
_PHONE_AFTER_WORD = re.compile(rf"(?<=(?:{_PHONE_WORDS}))((?:是|为|：|:)?\s*)(\d[\d\- ]*\d|\d)")
#: 7 or more digits, optionally grouped by hyphens or spaces (0755-12345678, 138 0013 8000).
_PHONE = re.compile(r"(?<![\d.])\d(?:[\d]|[\- ](?=\d)){6,}(?![\d.])")
_PERCENT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)[%％]")
_YEAR = re.compile(r"(?<![\d.])(\d{4})(?=年)")
_QUANTITY = re.compile(rf"(?<![\d.])(\d+(?:\.\d+)?)(?={_MEASURES})")
_KEY = re.compile(r"(?<=按)([0-9#*])")
_NUMBER = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?![\d.])")
_KEY_NAMES = {"#": "井号", "*": "星号"}


def digits(number: str, one: str = "一") -> str:
    """Digit by digit (8001 -> 八零零一); `one` is 一 or 幺. Separators become a pause."""
    words = [(one if ch == "1" else DIGITS[int(ch)]) if ch.isdigit() else "，" for ch in number]
    return re.sub("，+", "，", "".join(words))


def cardinal(number: str) -> str:
    """A quantity (24 -> 二十四, 3.5 -> 三点五)."""
    import cn2an

    return str(cn2an.an2cn(number, "low"))


def _hour_words(hour: int) -> str:
    if hour == 0:
        return "零"
    twelve = hour % 12 or 12
    return "两" if twelve == 2 else cardinal(str(twelve))


def time_words(hour: int, minute: int) -> str:
    """A clock time as said on the phone: 8:00 早上八点, 12:30 中午十二点半, 18:05 晚上六点零五分."""
    if not (0 <= hour <= 24 and 0 <= minute < 60):
        raise ValueError(f"not a time of day: {hour:02d}:{minute:02d}")
    if hour < 5:
        period = "凌晨"
    elif hour < 9:
        period = "早上"
    elif hour < 12:
        period = "上午"
    elif hour < 13:
        period = "中午"
    elif hour < 18:
        period = "下午"
    else:
        period = "晚上"
    if minute == 0:
        rest = ""
    elif minute == 30:
        rest = "半"
    elif minute < 10:
        rest = f"零{DIGITS[minute]}分"
    else:
        rest = f"{cardinal(str(minute))}分"
    return f"{period}{_hour_words(hour)}点{rest}"


def _quantity(match: re.Match[str]) -> str:
    number = match.group(1)
    after = match.string[match.end() :]
    if number == "2" and any(after.startswith(measure) for measure in _LIANG):
        return "两"
    if len(number) >= 3 and after.startswith("号") and "." not in number:
        return digits(number)  # 8001号 is a job (or house) number, not a quantity
    return cardinal(number)


def _other(match: re.Match[str]) -> str:
    number = match.group(1)
    return digits(number) if len(number) >= 3 and "." not in number else cardinal(number)


def say_numbers(text: str, phone_one: str = "幺") -> str:
    """`text` with every number written as it is said (see the module docstring)."""

    def phone(match: re.Match[str]) -> str:
        return match.group(1) + digits(match.group(2), phone_one)

    text = _TIME.sub(lambda m: time_words(int(m.group(1)), int(m.group(2))), text)
    text = _PHONE_AFTER_WORD.sub(phone, text)
    text = _PHONE.sub(lambda m: digits(m.group(0), phone_one), text)
    text = _PERCENT.sub(lambda m: f"百分之{cardinal(m.group(1))}", text)
    text = _YEAR.sub(lambda m: digits(m.group(1)), text)
    text = _KEY.sub(lambda m: _KEY_NAMES.get(m.group(1)) or DIGITS[int(m.group(1))], text)
    text = _QUANTITY.sub(_quantity, text)
    return _NUMBER.sub(_other, text)


_HANZI = re.compile(r"[\u3400-\u9fff]+")
_SYLLABLE = re.compile(r"[a-z]+[1-5]")


def load_readings(path: Path) -> dict[str, str]:
    """The readings pypinyin gets wrong, as data (config/voice/readings.toml):
    a phrase and its pinyin, one syllable with its tone (1-5) per character."""
    from ivr.errors import ConfigError
    from recorder.settings import read_toml

    data = read_toml(path)
    readings = data.get("readings")
    if not isinstance(readings, dict):
        raise ConfigError(f'{path}: a [readings] table of phrase = "pin1 yin1" is required')
    for phrase, reading in readings.items():
        syllables = str(reading).split()
        if (
            not _HANZI.fullmatch(phrase)
            or len(syllables) != len(phrase)
            or not all(_SYLLABLE.fullmatch(s) for s in syllables)
        ):
            raise ConfigError(
                f"{path}: readings.{phrase} = {reading!r}: give one pinyin syllable with its "
                f'tone (1-5) for each of the {len(phrase)} characters, e.g. "wei4 nin2"'
            )
    return {str(k): str(v) for k, v in readings.items()}


def _syllables(run: str, readings: Mapping[str, str]) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    def plain(piece: str) -> list[str]:
        return lazy_pinyin(piece, style=Style.TONE3, neutral_tone_with_five=True) if piece else []

    if not readings:
        return plain(run)
    own = re.compile("|".join(map(re.escape, sorted(readings, key=len, reverse=True))))
    out: list[str] = []
    last = 0
    for match in own.finditer(run):
        out += plain(run[last : match.start()]) + readings[match.group(0)].split()
        last = match.end()
    return out + plain(run[last:])


def to_pinyin(text: str, readings: Mapping[str, str] | None = None) -> str:
    """Tone-numbered pinyin (您好 -> nin2 hao3), one word per character, neutral
    tone 5; Chinese punctuation becomes the ASCII the voice pauses at.

    pypinyin reads each character in the phrase it finds it in; `readings` (config/
    voice/readings.toml) overrides the phrases it gets wrong. 不 before a fourth tone
    is bu2 (不是 bu2 shi4); espeak-ng does the third-tone sandhi itself. 一 keeps the
    reading pypinyin's phrases give it: its sandhi has too many exceptions (第一,
    digits said one by one) to be written as a rule; readings fixes the shipped ones.
    """
    out: list[str] = []
    last = 0
    for run in _HANZI.finditer(text):
        out.append(text[last : run.start()].translate(_PUNCTUATION))
        syllables = _syllables(run.group(0), readings or {})
        for i, char in enumerate(run.group(0)[:-1]):
            if char == "不" and len(syllables) == len(run.group(0)) and syllables[i + 1][-1] == "4":
                syllables[i] = "bu2"
        out.append(f" {' '.join(syllables)} ")
        last = run.end()
    out.append(text[last:].translate(_PUNCTUATION))
    return re.sub(r"\s+([,.?!:;])", r"\1", re.sub(r"\s+", " ", "".join(out))).strip()


def reads_pinyin(voice: str) -> bool:
    """Whether an espeak-ng voice takes pinyin (cmn-latn-pinyin) rather than characters."""
    return voice.lower().endswith("latn-pinyin")


def spoken(
    text: str, voice: str, phone_one: str = "幺", readings: Mapping[str, str] | None = None
) -> str:
    """What `voice` is given to say `text`: numbers in words, then pinyin if it reads pinyin."""
    said = say_numbers(text, phone_one)
    return to_pinyin(said, readings) if reads_pinyin(voice) else said
