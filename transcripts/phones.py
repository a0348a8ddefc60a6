"""The caller's callback number from what was said (首问责任制培训细则 1.4.5
您可以留下您的姓名和联络电话): a valid Chinese mobile or landline, else a local landline.
Read from the `text.numeric` copy of `text.clean` output.
"""

from __future__ import annotations

import re

import phonenumbers

from transcripts.addresses import CORRECTION

#: 最后两位是六一, 最后是一七: the last digits of a number said again after a correction.
_LAST_DIGITS = re.compile(
    r"最后(?:(?:\d|两|几)位(?:是|应该是|改成)?|是|应该是|改成)(\d{1,4})(?!\d)"
)

_PHONE_DIGITS = re.compile(r"(?<!\d)(0\d{2,3}[-\s]?\d{7,8}|1\d{10}|\d{7,8})(?!\d)")

#: A local landline said without its area code, after a word that names it as a number.
_LOCAL = re.compile(r"(?:电话|座机|号码|手机|打)(?:是|号是|号码是)?([2-9]\d{6,7})(?!\d)")


def phone(numeric_text: str, exclude: str | None = None) -> str | None:
    """A callback number: a valid Chinese mobile or landline, else a local landline
    said as a number (座机六二三四五六七八)."""
    valid = [
        (match.start(), digits)
        for match in _PHONE_DIGITS.finditer(numeric_text)
        if (digits := re.sub(r"[-\s]", "", match.group(1)))
        and not (exclude and digits in exclude)
        and _valid_number(digits)
    ]
    if valid:
        corrected = max((m.end() for m in CORRECTION.finditer(numeric_text)), default=-1)
        chosen = next((d for at, d in valid if at >= corrected), valid[0][1])
        return _with_last_digits(numeric_text, chosen)
    local = _LOCAL.search(numeric_text)
    if local and not (exclude and local.group(1) in exclude):
        return local.group(1)
    return None


def _with_last_digits(numeric_text: str, number: str) -> str:
    """The number with its last digits said again after it (幺五九…二六零 说错了 最后两位是六一)."""
    at = numeric_text.find(number)
    again = _LAST_DIGITS.search(numeric_text, at + len(number)) if at >= 0 else None
    if again is None or not 0 < len(again.group(1)) < len(number):
        return number
    fixed = number[: -len(again.group(1))] + again.group(1)
    return fixed if _valid_number(fixed) else number


def _valid_number(digits: str) -> bool:
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(digits, "CN")))
    except phonenumbers.NumberParseException:
        return False
