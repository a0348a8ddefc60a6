"""Category and urgency of a call from its text, by the rules in config/rules/categories.toml.

A category whose keywords match wins over the categories in its `before`
list, so a complaint about a repair never done is a complaint, not a repair.
Among the rest, the most keyword hits wins (overlapping hits of one category
count once: 想问一下 is one question, not two); ties go to the order in the file.
A thing and a fault said close together (电梯 ... 不动了, 报警器 ... 一直在叫)
count as a hit too, so repairs are found even in words no keyword list holds.
A keyword may hold a gap, `送…桶` (送一桶, 送两桶), of at most MAX_GAP characters.

How Mandarin is spoken is kept here as code (its grammar), its vocabulary in
the `[speech]` table of the rules:
- a negated word is not a hit (不是漏水, 没坏, 不停电, 不是锁坏了), but a question
  in the A-not-A form is (是不是漏水了, 有没有漏水), and a fault after 不 stays a
  fault (门铃不响);
- hesitations (那个 那个 就是) are dropped before matching;
- a caller who says several things (…另外…, …还有个事…: `speech.connectors`) is
  classified by the first request, except that a category that `escalates` said
  anywhere makes the call's (a complaint: 首问责任制培训细则 1.4.4.3, answered
  within 8 hours);
- thanks said after a request (…麻烦快点来 谢谢你们: `speech.courtesy`) are a
  courtesy, not praise;
- a thing followed by 口, 旁, 边 or 厅 names a place (单元门口, 电梯旁边), not the thing;
- a word inside a longer word that names something else (`speech.compounds`: the 灯 of
  灯笼, the 响 of 影响) is no hit;
- a thing named alone (`names`: 水管, 马桶) gives way to a question or request said in a
  strong keyword (请问…有没有热水管); a verb said as A-not-A (用不用) asks (`a_not_a`).
Urgency is raised only for the categories marked `urgent` (repairs and
complaints): a question about the lift timetable is not a safety matter. In a
call with several requests it is the highest urgency of those requests.
A call in which no rule finds anything is `other` with `no_evidence`: there,
and only there, the learned fallback may answer (transcripts/learned.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from transcripts.rules import CategoryRules
from transcripts.text import strip_fillers

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
#: 我已经把电闸拉了: a thing after 把 and before one of these verbs is the caller's own doing
#: (switched off, shut), no hazard.
HANDLED_BY = "拉关断拔"
#: A condition imagines what follows it, up to a pause or its 就: 要是看到灯一直没开 (帮忙敲个门)
#: and 万一漏水怎么办 report no fault; 如果再不来修我就投诉 still says 投诉. 不然/否则 say what would
#: happen otherwise: 画个停车框 不然到处乱停 proposes, it does not complain. 会不会 asks
#: whether a fault will come (换电池的时候门会不会打不开): no fault reported either.
CONDITIONS = ("要是", "如果", "假如", "万一", "不然", "否则", "会不会")
#: 说是楼下反映漏水 要查管子: what follows 说是 (up to a pause or 就) is the reason someone else
#: gave; it raises no urgency, while the grievance said after it still counts
#: (你们说是测试演练也不提前通知 is a complaint).
REASONS = ("说是",)
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


@dataclass(frozen=True)
class Classification:
    category: str
    urgency: str
    hits: dict[str, list[str]]

    @property
    def no_evidence(self) -> bool:
        """`other` because no rule found anything (not because a caller said 打错了):
        where the learned fallback may answer (transcripts/learned.py)."""
        return self.category == "other" and not self.hits


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


def _imagined(text: str, start: int, cues: Sequence[str] = CONDITIONS) -> bool:
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


def _pairs(
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
    return [hit.word for hit in _pairs(text, things, faults, compounds)]


def _hits(text: str, rules: CategoryRules) -> dict[str, list[Hit]]:
    hits = {}
    compounds = rules.speech.compounds
    for category in rules.category:
        found = find_all(text, [*category.keywords, *category.names], compounds)
        found += _pairs(text, category.things, category.faults, compounds)
        if category.a_not_a:
            found += a_not_a(text)
        if category.urgent:
            found = _reported(text, found)
        if found:
            hits[category.key] = found
    return _without_courtesy(_without_effects(hits, rules), rules)


def _reported(text: str, found: list[Hit]) -> list[Hit]:
    """The faults and grievances not said in a condition (要是看到灯一直没开; 楼顶防水要是坏了:
    a thing's fault is judged where the fault is said)."""
    return [hit for hit in found if not _imagined(text, hit.said_at)]


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
        key: [hit.word for hit in found] for key, found in _hits(heard(text, rules), rules).items()
    }


def _strong(hits: dict[str, list[Hit]], rules: CategoryRules, text: str) -> dict[str, set[str]]:
    """For each category found whose strong keyword (or question about a fault) is said,
    the categories it beats."""
    beats: dict[str, set[str]] = {}
    compounds = rules.speech.compounds
    named = {k for k, found in hits.items() if _named_only(found, rules.by_key(k).names)}
    for key in hits:
        category = rules.by_key(key)
        if find_all(text, category.strong_keywords, compounds):
            beats[key] = set(category.strong_before) | (named - {key})
        if find_all(text, category.question_keywords, compounds):
            beats.setdefault(key, set()).update(category.question_before)
    return beats


def _named_only(found: list[Hit], names: Sequence[str]) -> bool:
    """A category found only by things named alone (水管, 马桶), no fault said."""
    return bool(names) and all(hit.word in names for hit in found)


def choose(hits: dict[str, list[Hit]], rules: CategoryRules, text: str) -> str:
    strong = _strong(hits, rules, text)
    beaten = {loser for losers in strong.values() for loser in losers}
    for key in hits:
        for loser in rules.by_key(key).before:
            if key not in strong.get(loser, ()):
                beaten.add(loser)
    candidates = [c.key for c in rules.category if c.key in hits and c.key not in beaten]
    if not candidates:
        return "other"
    return max(candidates, key=lambda key: (_count(hits[key]), -candidates.index(key)))


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


def _categories(parts: list[str], rules: CategoryRules) -> list[str]:
    return [choose(_hits(part, rules), rules, part) for part in parts]


def category_of(kinds: list[str], rules: CategoryRules) -> str:
    """The first request's category, unless a later one escalates the call (a complaint)."""
    for escalating in rules.escalating:
        if escalating in kinds:
            return escalating
    return next((kind for kind in kinds if kind != "other"), "other")


def urgency(text: str, category: str, rules: CategoryRules, kinds: list[str] | None = None) -> str:
    """The urgency of a call classified `category`; `kinds`: its requests' categories, if known."""
    parts = requests(text, rules)
    kinds = kinds if kinds is not None else _categories(parts, rules)
    urgent = [
        p
        for p, k in zip(parts, kinds, strict=True)
        if k in rules.urgent or (rules.by_key(k).relays_urgency and _outranked(p, rules))
    ]
    if category in rules.urgent and not urgent:  # a category chosen by the fallback
        urgent = [strip_fillers(heard(text, rules), PAUSE)]
    for level in ("safety", "leak"):
        rule = rules.urgency[level]
        for part in urgent:
            found = find_all(part, rule.keywords, rules.speech.compounds)
            found += _pairs(part, rule.things, rule.faults, rules.speech.compounds)
            if [hit for hit in _reported(part, found) if not _handled(part, hit)]:
                return level
    return "normal"


def _handled(text: str, hit: Hit) -> bool:
    """A thing the caller acted on (我已经把电闸拉了, 把阀门关了): said after 把 and before a
    verb that switches it off, it names what was done, not a hazard; a fault in the reason
    someone else gave (说是楼下反映漏水) is none the caller reports."""
    return _imagined(text, hit.said_at, REASONS) or (
        hit.start > 0
        and text[hit.start - 1] == BA
        and text[hit.end : hit.end + 1] in tuple(HANDLED_BY)
    )


def _outranked(part: str, rules: CategoryRules) -> bool:
    """A repair or complaint found in a request that a strong keyword of a category that
    `relays_urgency` made something else (转告罗师傅…水龙头还在滴 is a message): the fault
    still sets the urgency. A suggestion's 花盆掉下来好危险 does not, nor a thing only named
    (请问…有没有水龙头: no fault said)."""
    hits = _hits(part, rules)
    strong = _strong(hits, rules, part)
    beaten = {
        loser
        for key, losers in strong.items()
        if rules.by_key(key).relays_urgency
        for loser in losers
    }
    return any(
        key in beaten and not _named_only(hits[key], rules.by_key(key).names)
        for key in rules.urgent
        if key in hits
    )


def classify(text: str, rules: CategoryRules) -> Classification:
    parts = requests(text, rules)
    found = [_hits(part, rules) for part in parts]
    kinds = [choose(hits, rules, part) for hits, part in zip(found, parts, strict=True)]
    category = category_of(kinds, rules)
    whole = found[0] if len(parts) == 1 else _hits(strip_fillers(heard(text, rules), PAUSE), rules)
    return Classification(
        category=category,
        urgency=urgency(text, category, rules, kinds),
        hits={key: [hit.word for hit in said] for key, said in whole.items()},
    )


def triggered(text: str, rules: CategoryRules) -> str:
    """The urgency the hard triggers of `[urgency.safety]` / `[urgency.leak]` give a call, whatever
    its category: safety or leak where one is said (not negated, imagined or handled), else normal."""
    parts = requests(text, rules)
    for level in ("safety", "leak"):
        rule = rules.urgency[level]
        for part in parts:
            found = find_all(part, rule.keywords, rules.speech.compounds)
            found += _pairs(part, rule.things, rule.faults, rules.speech.compounds)
            if [hit for hit in _reported(part, found) if not _handled(part, hit)]:
                return level
    return "normal"
