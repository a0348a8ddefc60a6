"""The caller's unit address, and a neighbour's, from what was said.

The seeds ask the desk to take the caller's unit (首问责任制培训细则 1.4.5). Read from the
`text.numeric` copy of `text.clean` output: 3栋2单元501, 5-2-501, C栋1单元501, 2期3栋;
a neighbour's address (楼上1502), a landmark (二号楼后面) or a relative's building is not
the caller's home, and a building or room said after a correction replaces the one before.
"""

from __future__ import annotations

import re

#: 5-2-501 (written, or said 五杠二杠五零一): building, unit, room.
_DASHED = re.compile(r"(?<![\d-])([1-9]\d{0,2})-(\d{1,2})-(\d{3,4})(?![\d-])")

#: 3号楼2门501: 门 for 单元, said straight after the building.
_GATE = re.compile(r"[的\s]*(\d{1,2})门(?![口卫禁铃锁前外])")

#: A building: its number or letter and number (C栋, D10栋, B座, A5号楼), after the estate's
#: phase or district if said (二期3栋, 南区5栋, B区2栋): written 2期3栋, 南区5栋, C栋, D10栋.
_BUILDING = re.compile(
    r"(?P<part>(?<!\d)\d{1,2}期|[东南西北中]区|(?<![A-Za-z])[A-Za-z]区|(?<!\d)\d{1,2}区)?\s*"
    r"(?:(?P<letter>(?<![A-Za-z])[A-Za-z])\s*(?P<lnum>\d{1,3})?|(?P<num>\d{1,3}))"
    r"\s*(?:栋|幢|号楼|座|号院|#楼)"
)

#: 楼上1502, 隔壁3栋502, 对门的邻居家: an address after these is a neighbour's (the subject of the
#: call), never the caller's home; 我是楼下302的, 我住他家楼上14号楼 are the caller's own
#: (`_MINE` in the few characters before).
_NEIGHBOUR = re.compile(
    r"(?:楼上|楼下|隔壁|对门|邻居)(?:的|那家|那户|家|邻居|住的|是)*\s*"
    r"(?P<address>[\dA-Za-z期区栋幢号楼座院#单元室\s-]+)"
)

_UNIT = re.compile(r"(\d{1,2})\s*单元")

#: Where a caller corrects what was just said (3单元 哦不对 2单元, 写成12栋了 其实我住22栋):
#: a building or unit said after the last of these replaces the one before.
CORRECTION = re.compile(r"不对|说错了|其实")

#: 十三号楼 哦不是 十四号楼: a hesitation, then 不是 and a number, takes back the address just said
#: (without the hesitation, 我是二十号楼不是二十一号楼 denies the second).
HESITATED_DENIAL = re.compile(
    r"(?<=[栋幢楼座元室号])[哦噢呃啊]不是(?=[\d零〇幺一二三四五六七八九十两])"
)

#: The room said after the building or unit, perhaps after its floor (十二楼的一二零三).
_ROOM_AFTER = re.compile(
    r"^[的之\s-]*(?:(?:\d{1,2}|顶)[楼层][的之\s-]*)?(\d{3,4})(?:室|号|房)?(?!\d)"
)

#: 九零二 哎说错了 是九零三: a room said straight after a correction replaces the one before.
_ROOM_CORRECTED = re.compile(r"[是的\s]*(\d{3,4})(?:室|号|房)?(?!\d)")

#: 二号楼后面的绿化带: a building followed by these is a landmark, not the caller's home.
#: 九号楼门口的快递柜: 门口 said straight after the building is a place too (单元门口 is
#: said after a unit, not a building).
_LANDMARK = re.compile(r"(?:的)?(?:后面|前面|旁边|对面|附近|后边|前边|侧面|背后|门口)")

#: 我在二十一栋三单元门口等 我家是四零六: the room said as the caller's home, away from the building.
#: 我是八零三 在十一号楼一单元, the room said first, as who the caller is.
_ROOM_HOME = re.compile(r"我(?:家是|家在|家|是)(\d{3,4})(?![\d栋幢号座单#-])")

#: 我婆婆八十多了 住你们十八号楼, 我爸妈住在七号楼: a building where a relative lives is not the
#: caller's home (我们家是十八栋 still is).
_RELATIVE_LIVES = re.compile(
    r"(?:爸|妈|婆婆|公公|岳父|岳母|父母|奶奶|爷爷|外婆|外公|姥姥|姥爷|老人|儿子|女儿)"
    r"[^我]{0,6}?住(?:在)?(?:你们|咱们|我们)?(?:小区)?(?:的)?$"
)

#: 我是十二号楼三单元二零三的房东: the landlord of a flat lives elsewhere.
_LANDLORD = re.compile(r"(?:栋|幢|号楼|座|单元|\d)的房东")

#: 我是送外卖的, 我是快递员, 我是来送东西的: a caller who delivers gives a customer's address,
#: not a home (seed 004 五 接待外来人员).
_DELIVERS = re.compile(r"我是(?:来)?送[\u4e00-\u9fff]{1,3}的|我是快递员|我是快递小哥|我是外卖")

_ROOM_PLAIN = re.compile(r"(?<!\d)(\d{3,4})\s*(?:室|房间)")

#: 一栋一栋去清 (building by building): a building said twice over is no address.
_ONE_BY_ONE = re.compile(r"(\d{1,3}(?:栋|幢|号楼|单元))\1")

#: 一楼一零二 二十四号楼: a room said after its floor, before the building (not a
#: parking space: 负一层二零六).
_ROOM_ON_FLOOR = re.compile(r"(?<![\d号负-])\d{1,2}[楼层]的?(\d{3,4})(?!\d)")


def building_name(match: re.Match[str]) -> str:
    """A `_BUILDING` match written as the log writes it: 3栋, C栋, D10栋, 2期3栋, 南区5栋."""
    number = match.group("num") or match.group("lnum")
    letter = (match.group("letter") or "").upper()
    part = match.group("part") or ""
    part = part.upper() if part[:1].isascii() and part[:1].isalpha() else part
    digits = str(int(number)) if number else ""
    if part[:-1].isdigit():
        part = f"{int(part[:-1])}{part[-1]}"
    return f"{part}{letter}{digits}栋"


_MINE = re.compile(r"我(?:是|住|就是)")  # 我家楼上 is the neighbour above

MINE_REACH = 5


def _neighbours(numeric_text: str) -> list[re.Match[str]]:
    return [
        m
        for m in _NEIGHBOUR.finditer(numeric_text)
        if not _MINE.search(numeric_text[max(0, m.start() - MINE_REACH) : m.start()])
    ]


def neighbour_unit(numeric_text: str) -> str | None:
    """The unit of a neighbour the caller names (楼上1502, 隔壁3栋502): the subject of the call,
    kept apart from the caller's own."""
    said = _neighbours(numeric_text)
    if not said:
        return None
    address = said[0].group("address").strip()
    room = re.fullmatch(r"\d{3,4}", address)  # 楼上1502: a room said alone
    return f"{address}室" if room else unit(address, neighbours=False)


def unit(numeric_text: str, neighbours: bool = True) -> str | None:
    """The caller's unit address normalised as 3栋2单元501 (or the part said: 12栋, 5栋302,
    C栋1单元501, 2期3栋); a neighbour's address (楼上1502) is not the caller's."""
    numeric_text = _ONE_BY_ONE.sub("", numeric_text)
    if neighbours:
        for said in reversed(_neighbours(numeric_text)):
            numeric_text = numeric_text[: said.start("address")] + "那" + numeric_text[said.end() :]
    if _DELIVERS.search(numeric_text) or _LANDLORD.search(numeric_text):
        return None
    if dashed := _DASHED.search(numeric_text):
        building_no, unit_no, room_no = dashed.groups()
        return f"{int(building_no)}栋{int(unit_no)}单元{room_no}"
    corrected = max((m.end() for m in CORRECTION.finditer(numeric_text)), default=len(numeric_text))
    building = _BUILDING.search(numeric_text, corrected) or _home_building(numeric_text)
    unit_match = _UNIT.search(numeric_text, max(corrected, building.end() if building else 0))
    unit_match = unit_match or _UNIT.search(numeric_text, building.end() if building else 0)
    if building and (gate := _GATE.match(numeric_text, building.end())):
        unit_match = gate
    last = unit_match or building
    room = None
    if last is not None:
        after = _ROOM_AFTER.match(numeric_text[last.end() :])
        room = after.group(1) if after else None
    if corrected < len(numeric_text) and (again := _ROOM_CORRECTED.match(numeric_text, corrected)):
        room = again.group(1)
    if room is None and (home := _ROOM_HOME.search(numeric_text)):
        room = home.group(1)
    if room is None:
        plain = _ROOM_PLAIN.search(numeric_text) or _ROOM_ON_FLOOR.search(numeric_text)
        room = plain.group(1) if plain else None
    if not (building or unit_match):
        return f"{room}室" if room else None
    parts = []
    if building:
        parts.append(building_name(building))
    if unit_match:
        parts.append(f"{int(unit_match.group(1))}单元")
    if room:
        parts.append(room)
    return "".join(parts)


def _home_building(numeric_text: str) -> re.Match[str] | None:
    """The first building said that is not a landmark (二号楼后面的绿化带 is where, not home)
    nor a relative's (我婆婆住你们十八号楼)."""
    return next(
        (
            b
            for b in _BUILDING.finditer(numeric_text)
            if not _LANDMARK.match(numeric_text, b.end())
            and not _RELATIVE_LIVES.search(numeric_text[max(0, b.start() - 16) : b.start()])
        ),
        None,
    )
