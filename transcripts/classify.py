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

Here the result is assembled; the grammar of a keyword said is in
transcripts/keyword_match.py, how the text is heard and cut into requests in
transcripts/heard.py, the choice among categories in transcripts/category_choice.py,
and the urgency triggers in transcripts/urgency_rules.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from transcripts.category_choice import category_of, choose, find_hits
from transcripts.heard import heard, requests
from transcripts.keyword_match import PAUSE
from transcripts.rules import CategoryRules
from transcripts.text import strip_fillers
from transcripts.urgency_rules import urgency


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


def classify(text: str, rules: CategoryRules) -> Classification:
    parts = requests(text, rules)
    found = [find_hits(part, rules) for part in parts]
    kinds = [choose(hits, rules, part) for hits, part in zip(found, parts, strict=True)]
    category = category_of(kinds, rules)
    whole = (
        found[0] if len(parts) == 1 else find_hits(strip_fillers(heard(text, rules), PAUSE), rules)
    )
    return Classification(
        category=category,
        urgency=urgency(text, category, rules, kinds),
        hits={key: [hit.word for hit in said] for key, said in whole.items()},
    )
