"""Where a keyword, or a thing and its fault, is said in a call's text, as Mandarin is spoken
(transcripts/classify.py describes the grammar): not negated (不是漏水, 没坏), not imagined
(要是坏了), not inside a longer word (灯笼) nor a place (门口), with `送…桶` gaps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

#: How many characters after a thing its fault may be said (电梯今天早上开始就不动了).
FAULT_WINDOW = 12

#: `送…桶` in a keyword: at most this many characters between the two parts.
GAP = "…"

MAX_GAP = 6

#: Words that negate what follows them, longest first.
NEGATORS = ("不是", "没有", "不会", "不再", "没再", "并不", "并没", "没", "不")

#: A fault after 不 is still a fault (门铃不响, 风扇不转): only these negate a fault.
FAULT_NEGATORS = tuple(n for n in NEGATORS if n != "不")

#: 不是 denies the short clause after it: 不是锁坏了 (是钥匙忘了), up to a pause.
CLAUSE_NEGATOR, CLAUSE_REACH = "不是", 3

#: 这不是坑人吗: 不是 … 吗 asks rhetorically, it asserts what it holds, within this reach.
RHETORICAL_REACH, RHETORICAL_END = 6, "吗"

#: 房子想卖掉, 把旧的扔掉: 掉 after these verbs says the thing is gone by someone's will, no fall.
RESULT_VERBS, RESULT = "卖扔删吃关退换去忘放倒拆撕擦", "掉"

#: 把工具包落在我家: 落 after 把 (within this reach) and before 在 leaves a thing behind.
BA, LEFT, LEFT_AT, LEFT_REACH = "把", "落", "落在", 8

#: A condition imagines what follows it, up to a pause or its 就: 要是看到灯一直没开 (帮忙敲个门)
#: and 万一漏水怎么办 report no fault; 如果再不来修我就投诉 still says 投诉. 不然/否则 say what would
#: happen otherwise: 画个停车框 不然到处乱停 proposes, it does not complain. 会不会 asks
#: whether a fault will come (换电池的时候门会不会打不开): no fault reported either.
CONDITIONS = ("要是", "如果", "假如", "万一", "不然", "否则", "会不会")

CONDITION_REACH, CONDITION_END = 6, "就"

#: Degree words a negation may hold: 不怎么热, 不太亮, 不大好使 are 不热, 不亮, 不好使.
DEGREE = "(?:太|怎么|大|够|是很|是太)?"

#: 一滴水都不出, 一点也没亮: 一 … 都不/也没 says "none at all", no fault of that word.
NONE_AT_ALL = re.compile(r"[^ ]{0,2}?[都也][不没]")

#: 一点反应都没有 门也合不上: the negator that ends 一…都没有 / 也不 says what is missing before
#: it and negates nothing after it.
ENDS_NONE_AT_ALL = re.compile(r"一[^ ]{1,4}[都也]$")

#: 换一下水, 看一下水管: the 下 of the verb measure 一下 starts no word (一下水 says no 下水).
VERB_MEASURE = "一下"

#: What a hesitation leaves in the text the classifier reads (哦 不是 啊 那 打错了).
PAUSE = " "

#: After a thing these make it a place: 单元门口的灯 is about a lamp, 电梯旁边 about a spot.
PLACE_SUFFIXES = ("口", "旁", "边", "厅")

#: Joins a thing and its fault in a hit's word (电梯+不动).
PAIRED = "+"

#: What stands for a thing named inside a fault's window (卫生间地漏 … : 地 and 漏 are no fault).
THING_MASK = "\x00"

#: A verb said as A-not-A (用不用, 交不交): a question. Not 是不是 and 有没有, which also
#: assert or guess (是不是物业的, 有没有看到我家狗), nor a word said twice (没事没事).
A_NOT_A = re.compile(r"(?<![不没])([^\W\d是有])[不没]\1")


@dataclass(frozen=True)
class Hit:
    word: str
    start: int
    end: int
    #: Where a thing's fault is said (楼顶防水要是坏了: the fault is imagined, not the roof).
    fault_start: int | None = None

    @property
    def said_at(self) -> int:
        return self.start if self.fault_start is None else self.fault_start


def negated(text: str, start: int, negators: Sequence[str] = NEGATORS) -> bool:
    """True when the word at `start` follows a negator (不是漏水, 不是锁坏了), not an
    A-not-A question (是不是漏水, 有没有漏水, 漏不漏)."""
    head = text[:start].rstrip(PAUSE)
    for negator in negators:
        if head.endswith(negator):
            at = len(head) - len(negator)
            if ENDS_NONE_AT_ALL.search(head, max(0, at - 6), at):
                return False
            return not _question(text, at) and not _rhetorical(text, negator, start)
    clause = text.rfind(CLAUSE_NEGATOR, max(0, start - CLAUSE_REACH - 2), start)
    return (
        clause >= 0
        and PAUSE not in text[clause:start]
        and not _question(text, clause)
        and not _rhetorical(text, CLAUSE_NEGATOR, start)
    )


def _rhetorical(text: str, negator: str, start: int) -> bool:
    """不是 … 吗 close after the word (这不是坑人吗, 不是说好了吗): asserted, not denied."""
    after = text[start : start + RHETORICAL_REACH].split(PAUSE, maxsplit=1)[0]
    return negator == CLAUSE_NEGATOR and RHETORICAL_END in after


def imagined(text: str, start: int, cues: Sequence[str] = CONDITIONS) -> bool:
    """The word at `start` is said in a condition (要是…, 万一…): a fault imagined, not
    reported (the question about it, 万一漏水怎么办, is still asked)."""
    head = text[max(0, start - CONDITION_REACH - 2) : start]
    return any(
        word in head and not {PAUSE, CONDITION_END} & set(head[head.rfind(word) :]) for word in cues
    )


def none_at_all(text: str, start: int, end: int) -> bool:
    """一滴水都不出: the word between 一 and 都不/也没 is what is missing, not a fault."""
    return start > 0 and text[start - 1] == "一" and NONE_AT_ALL.match(text, end) is not None


def _question(text: str, at: int) -> bool:
    """The negator at `at` is the middle of A-not-A (是不是, 有没有)."""
    return at >= 1 and text[at - 1] == text[at + 1]


@lru_cache(maxsize=4096)
def _pattern(keyword: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in keyword.split(GAP)]
    if len(parts[0]) > 1 and parts[0].startswith("不"):
        parts[0] = "不" + DEGREE + parts[0][1:]
    return re.compile(f".{{0,{MAX_GAP}}}?".join(parts))


@lru_cache(maxsize=4096)
def _head(keyword: str) -> str:
    return keyword.partition(GAP)[0]


def find_all(text: str, keywords: Sequence[str], compounds: Sequence[str] = ()) -> list[Hit]:
    """Every keyword said; most are not, and a substring test rules them out cheaply."""
    return [hit for word in keywords if _head(word) in text for hit in find(text, word, compounds)]


def find(text: str, keyword: str, compounds: Sequence[str] = ()) -> list[Hit]:
    """Where a keyword is said, not negated, not the start of a place (门口) and not inside
    a longer word that names something else (灯笼)."""
    return [
        Hit(keyword, m.start(), m.end())
        for m in _pattern(keyword).finditer(text)
        if not negated(text, m.start())
        and not text.startswith(PLACE_SUFFIXES, m.end())
        and not none_at_all(text, m.start(), m.end())
        and not _in_verb_measure(text, m.start())
        and not inside_compound(text, m.start(), m.end(), compounds)
    ]


def inside_compound(text: str, start: int, end: int, compounds: Sequence[str]) -> bool:
    """Whether text[start:end] lies inside a longer word of `compounds` said there (the 灯 of
    灯笼, the 维修 of 维修基金): that word names something else."""
    for word in compounds:
        if len(word) <= end - start:
            continue
        at = text.find(word, max(0, end - len(word)))
        while 0 <= at <= start:
            if at + len(word) >= end:
                return True
            at = text.find(word, at + 1)
    return False


def a_not_a(text: str) -> list[Hit]:
    """Verbs said as A-not-A (用不用, 交不交): questions."""
    return [Hit(m.group(0), m.start(), m.end()) for m in A_NOT_A.finditer(text)]


def _in_verb_measure(text: str, start: int) -> bool:
    """The word at `start` begins with the 下 of 一下 (喂一下食 换一下水: no drain)."""
    return start > 0 and text.startswith(VERB_MEASURE, start - 1)


def _by_will(text: str, start: int, fault: str) -> bool:
    """The fault 掉 said after a verb that does it on purpose (卖掉, 扔掉): no fall; 落 in
    把…落在 (把工具包落在我家) is something left behind, no fall either."""
    if fault.startswith(LEFT) and text.startswith(LEFT_AT, start):
        return BA in text[max(0, start - LEFT_REACH) : start].rsplit(PAUSE, 1)[-1]
    return fault.startswith(RESULT) and start > 0 and text[start - 1] in RESULT_VERBS


def _without_things(window: str, things: Sequence[str]) -> str:
    """The window with the things said in it blanked: the 漏 of 地漏 is no leak (one-character
    things stay: 水 in 全是水 is the fault itself); compounds too (the 泡 of 灯泡
    starts no 泡坏)."""
    for thing in things:
        if len(thing) > 1 and thing in window:
            window = window.replace(thing, THING_MASK * len(thing))
    return window


def pairs(
    text: str, things: Sequence[str], faults: Sequence[str], compounds: Sequence[str] = ()
) -> list[Hit]:
    found = []
    for thing in things:
        for said in find_all(text, (thing,), compounds):
            window = _without_things(
                text[said.end : said.end + FAULT_WINDOW], (*things, *compounds)
            )
            fault = next(
                (
                    Hit(
                        f"{thing}{PAIRED}{f}",
                        said.start,
                        said.end + m.end(),
                        fault_start=said.end + m.start(),
                    )
                    for f in faults
                    for m in _pattern(f).finditer(window)
                    if not negated(text, said.end + m.start(), FAULT_NEGATORS)
                    and not _by_will(text, said.end + m.start(), f)
                    and not none_at_all(text, said.end + m.start(), said.end + m.end())
                    and not inside_compound(
                        text, said.end + m.start(), said.end + m.end(), compounds
                    )
                ),
                None,
            )
            if fault is not None:
                found.append(fault)
                break
    return found


def together(
    text: str, things: Sequence[str], faults: Sequence[str], compounds: Sequence[str] = ()
) -> list[str]:
    """`thing+fault` for each thing followed closely by a fault."""
    return [hit.word for hit in pairs(text, things, faults, compounds)]


def reported(text: str, found: list[Hit]) -> list[Hit]:
    """The faults and grievances not said in a condition (要是看到灯一直没开; 楼顶防水要是坏了:
    a thing's fault is judged where the fault is said)."""
    return [hit for hit in found if not imagined(text, hit.said_at)]
