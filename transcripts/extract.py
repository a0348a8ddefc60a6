"""Fields of the reception log from what the caller said: surname, unit, phone,
times and the departments or staff asked for.

The seeds ask the desk to take the caller's surname, unit and number
(首问责任制培训细则 1.4.1 请问您贵姓; 1.4.5 您可以留下您的姓名和联络电话).
Extractors read `text.clean` output (Chinese, no spaces) and its `text.numeric` copy:
the surname in transcripts/surnames.py, the unit in transcripts/addresses.py, the number
in transcripts/phones.py; times, departments and the English second language here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from transcripts import text
from transcripts.addresses import HESITATED_DENIAL, neighbour_unit, unit
from transcripts.phones import phone
from transcripts.surnames import surname

_TIMES = re.compile(
    r"(?:今天|明天|后天|大后天|周[一二三四五六日天]|星期[一二三四五六日天]|礼拜[一二三四五六日天])?"
    r"(?:早上|上午|中午|下午|傍晚|晚上|夜里|凌晨)?"
    r"(?:\d{1,2}点(?:半|\d{1,2}分?)?|\d{1,2}:\d{2})"
    r"|(?:今天|明天|后天|周末)(?:早上|上午|中午|下午|晚上)?"
)

_STAFF = re.compile(r"找(?:一下|下)?([\u4e00-\u9fff]{1,2})(经理|主管|师傅|主任|管家)")

_DEPARTMENTS = ("工程部", "保洁部", "保安部", "客服部", "财务", "物业经理", "管家", "保安", "保洁")


@dataclass(frozen=True)
class Extracted:
    surname: str | None = None
    unit: str | None = None
    #: A neighbour's unit the caller names (楼上1502): the subject, not the caller's home.
    neighbour_unit: str | None = None
    phone: str | None = None
    times: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)


def times(numeric_text: str) -> list[str]:
    return [m.group(0) for m in _TIMES.finditer(numeric_text) if m.group(0)]


def departments(text: str) -> list[str]:
    found = [name for name in _DEPARTMENTS if name in text]
    found += [f"{m.group(1)}{m.group(2)}" for m in _STAFF.finditer(text)]
    return found


def extract(clean_text: str, numeric_text: str) -> Extracted:
    """The fields from `text.clean` output and its `text.numeric` copy; hesitations
    (三栋二单元 嗯 五零一) are dropped first, so they do not cut an address or a number
    (pass `numeric(strip_fillers(clean))` and the numbers are not converted twice)."""
    denied = HESITATED_DENIAL.search(clean_text) is not None
    clean_text = text.strip_fillers(HESITATED_DENIAL.sub("不对", clean_text))
    if denied or any(filler in numeric_text for filler in text.FILLERS):
        numeric_text = text.numeric(clean_text)
    address = unit(numeric_text)
    room = re.sub(r"\D", "", address or "")
    return Extracted(
        surname=surname(clean_text),
        unit=address,
        neighbour_unit=neighbour_unit(numeric_text),
        phone=phone(numeric_text, exclude=room or None),
        times=times(numeric_text),
        departments=departments(clean_text),
    )


_EN_NAME = re.compile(r"\b(?i:my name is|this is|i am|i'm)\s+([A-Z][a-z]+)(?:\s+([A-Z][a-z]+))?")

_EN_TITLE = re.compile(r"\b(?i:mr|mrs|ms|miss|dr)\.?\s+([A-Z][a-z]+)")

#: A title after these names a staff member (a message for the manager Mr Li), not the caller.
_EN_STAFF_CUE = re.compile(
    r"\b(?:manager|supervisor|engineer|guard|colleague|your|for|tell|let|ask|thank|to|with"
    r"|housekeeper|cleaner|plumber|electrician|receptionist|caretaker|concierge|technician)\s+$",
    re.I,
)

_EN_BUILDING = re.compile(r"\b(?:building|block|tower)\s+(\d{1,3})\b", re.I)

#: next to building 8, behind building 18: a landmark (outside building 6 is where the fault is), not the caller's home.
_EN_LANDMARK = re.compile(
    r"\b(?:next to|behind|in front of|opposite|near|beside|across from)\s+(?:the\s+)?$",
    re.I,
)

_EN_UNIT = re.compile(r"\bunit\s+(\d{1,2})\b", re.I)

_EN_ROOM = re.compile(r"\b(?:flat|room|apartment|apt)\s+(\d{3,4})\b", re.I)

_EN_NUMBERS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}


def extract_english(text: str) -> Extracted:
    """English second: `my name is Mr Smith, flat 501 building 3`."""
    digits = re.sub(
        r"\b(" + "|".join(_EN_NUMBERS) + r")\b",
        lambda m: _EN_NUMBERS[m.group(1).lower()],
        text,
        flags=re.I,
    )
    digits = re.sub(r"(?<=\d) (?=\d)", "", digits)
    title = next(
        (t for t in _EN_TITLE.finditer(digits) if not _EN_STAFF_CUE.search(digits[: t.start()])),
        None,
    )
    said = _EN_NAME.search(digits)
    name = title.group(1) if title else (said.group(2) or said.group(1)) if said else None
    building, unit_match, room = (
        next(
            (
                b
                for b in _EN_BUILDING.finditer(digits)
                if not _EN_LANDMARK.search(digits[: b.start()])
            ),
            None,
        ),
        _EN_UNIT.search(digits),
        _EN_ROOM.search(digits),
    )
    address = "".join(
        part
        for part in (
            f"{int(building.group(1))}栋" if building else "",
            f"{int(unit_match.group(1))}单元" if unit_match else "",
            room.group(1) if room else "",
        )
    )
    return Extracted(
        surname=name,
        unit=address or None,
        phone=phone(digits, exclude=room.group(1) if room else None),
        times=re.findall(
            r"\b(?:today|tomorrow|tonight|\d{1,2}(?::\d{2})?\s?(?:am|pm))\b", digits, re.I
        ),
        departments=[],
    )
