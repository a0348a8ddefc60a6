"""Greeting compliance: did whoever answered follow the phone script?

The seeds' rules (config/rules/compliance.toml cites them): answer within
three rings; open with a greeting, the organisation's name and the job
number (报号, 坚持报号制度) and an offer of help; ask the caller's surname
(请问您贵姓); close politely (再见); never 喂, 不知道, 没办法 … to a caller.
A forbidden phrase counts in its brushing-off sense only: 喂 to a colleague
or 喂食, 不知道您方便吗, 有不清楚的地方 are not violations.

Staff-side transcripts arrive as Vosk writes them (spaces, numbers in
characters); they are cleaned first. The opening is the first
OPENING_CHARS characters (or, with word timings, the first OPENING_S
seconds); the closing the last CLOSING_CHARS. With word timings, each
finding carries the second it was said, so a supervisor can jump to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from recorder.calls import rings_before_answer
from recorder.settings import RingingSettings, load_data
from transcripts import text
from transcripts.text import clean as _clean

OPENING_CHARS = 60
#: The greeting is the first thing said (not 您好 inside 帮您好的 later on).
GREETING_CHARS = 12
OPENING_S = 15.0
CLOSING_CHARS = 40
CHECKS = ("greeting", "organization", "staff_id", "offer_help", "surname_asked", "closing")
REQUIRED = ("greeting", "organization", "staff_id", "offer_help", "closing")
#: Generic parts of an organisation's name; what is left is its distinctive part.
GENERIC = (
    "物业服务中心",
    "物业管理有限公司",
    "物业管理公司",
    "物业服务有限公司",
    "物业公司",
    "客服中心",
    "服务中心",
    "管理处",
    "物业",
    "有限公司",
    "公司",
)
_STAFF_ID = re.compile(
    r"(?:工号|编号)(?:是)?\d{2,6}|\d{2,6}号(?:话务员|客服|接线员|为您服务|很高兴|专员|管家)|我是\d{3,6}号?"
    # the role before the number: 客服专员16号, 值班员03号 (cn2an reads 零三 as 3)
    r"|(?:话务员|客服|接线员|专员|管家|值班员|坐席)\d{1,6}号"
)
_REPLY_PROMISE = re.compile(
    r"\d+(?:分钟|个?小时|天)(?:之?内|以内)|马上|立即|尽快.{0,6}(?:答复|回复|处理|派人)|今天之内|[上下]午.{0,4}(?:答复|回复)"
)


_CJK = r"\u3400-\u9fff"
#: A forbidden phrase said in a harmless sense (the literal ones are compliance.toml's
#: forbidden_exceptions). 首问责任制培训细则 1.2.1.2 forbids 喂 *to hail a guest*: 喂 before
#: a colleague's form of address (喂小王, 喂张师傅, while the caller waits) is not that.
#: 不知道您…吗 without 我 is the polite inquiry (I wonder whether you…), not 我不知道.
_HARMLESS = re.compile(
    rf"喂(?=[小老](?!姐|朋友|先生|太太)[{_CJK}]|[{_CJK}]?师傅|经理|主管|班长|队长|同事)"
    r"|(?<!我)(?<!也)(?<!都)不知道(?=您|你)"
)
#: A degree word or 有 may sit inside a forbidden phrase: 不太清楚, 没有办法, 不大知道.
_INSERTED = "(?:太|大|很|有)?"


@dataclass(frozen=True)
class Finding:
    check: str
    phrase: str
    at_s: float | None = None


@dataclass(frozen=True)
class GreetingReport:
    checks: dict[str, bool]
    forbidden: list[str]
    reply_promised: bool
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(self.checks[name] for name in REQUIRED) and not self.forbidden

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "checks": dict(self.checks),
            "forbidden": list(self.forbidden),
        }


def distinctive(organization: str) -> str:
    name = organization.replace(" ", "")
    for generic in GENERIC:
        name = name.replace(generic, "")
    return name or organization.replace(" ", "")


def _time_of(offset: int, spans: list[tuple[int, float]]) -> float | None:
    """The start time of the word covering a character offset of the cleaned text."""
    at = None
    for start, seconds in spans:
        if start > offset:
            break
        at = seconds
    return at


def _spans(words: list[dict[str, Any]] | None) -> list[tuple[int, float]]:
    spans, offset = [], 0
    for word in words or []:
        spans.append((offset, float(word.get("start", 0.0))))
        offset += len(text.clean(str(word.get("word", ""))))
    return spans


@lru_cache(maxsize=256)
def _loose(phrase: str) -> re.Pattern[str]:
    """A forbidden phrase that also matches with a degree word after 不/没 (没有办法)."""
    return re.compile("".join(re.escape(c) + (_INSERTED if c in "不没" else "") for c in phrase))


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ComplianceRules(_Rules):
    max_rings: int = Field(ge=1, le=3)
    greeting: list[str]
    offer_help: list[str]
    surname_asked: list[str]
    closing: list[str]
    staff_id_markers: list[str]
    forbidden: list[str]
    forbidden_exceptions: list[str] = Field(default_factory=list)

    def forbidden_in(self, text: str) -> list[str]:
        """The forbidden phrases in a prompt, judged as the audit judges what staff say."""
        return [phrase for phrase, _ in forbidden_said(_clean(text), self)]


def load_compliance_rules(path: Path) -> ComplianceRules:
    """config/rules/compliance.toml (or a site's copy); a `ConfigError` names the file."""
    rules: ComplianceRules = load_data(path, ComplianceRules)
    return rules


def forbidden_said(clean: str, rules: ComplianceRules) -> list[tuple[str, int]]:
    """The configured forbidden phrases said in their forbidden sense, with the first offset."""
    allowed = [m.span() for m in _HARMLESS.finditer(clean)]
    for phrase in rules.forbidden_exceptions:
        allowed += [m.span() for m in re.finditer(re.escape(phrase), clean)]
    found = []
    for phrase in rules.forbidden:
        for match in _loose(phrase).finditer(clean):
            if not any(a <= match.start() and match.end() <= b for a, b in allowed):
                found.append((phrase, match.start()))
                break
    return found


def check_transcript(
    raw: str,
    organization: str,
    rules: ComplianceRules,
    words: list[dict[str, Any]] | None = None,
) -> GreetingReport:
    """Check a staff-side transcript; `words` (Vosk word timings) locate each finding."""
    clean = text.clean(raw)
    numeric = text.numeric(clean)
    spans = _spans(words)
    opening_end = OPENING_CHARS
    if spans:
        opening_end = max((o for o, s in spans if s <= OPENING_S), default=OPENING_CHARS) + 4
    opening, closing_from = clean[:opening_end], max(0, len(clean) - CLOSING_CHARS)
    findings: list[Finding] = []

    def find(check: str, phrases: list[str] | tuple[str, ...], within: str, base: int = 0) -> bool:
        for phrase in phrases:
            at = within.find(phrase)
            if at >= 0:
                findings.append(Finding(check, phrase, _time_of(base + at, spans)))
                return True
        return False

    org_names = [organization.replace(" ", ""), distinctive(organization)]
    checks = {
        "greeting": find("greeting", rules.greeting, opening[:GREETING_CHARS]),
        "organization": find("organization", org_names, opening),
        "staff_id": bool(_STAFF_ID.search(text.numeric(opening)))
        or any(marker in opening for marker in rules.staff_id_markers if marker != "工号"),
        "offer_help": find("offer_help", rules.offer_help, clean),
        "surname_asked": find("surname_asked", rules.surname_asked, clean),
        "closing": find("closing", rules.closing, clean[closing_from:], closing_from),
    }
    if checks["staff_id"]:
        match = _STAFF_ID.search(text.numeric(opening))
        findings.append(Finding("staff_id", match.group(0) if match else "", _time_of(0, spans)))
    said = forbidden_said(clean, rules)
    findings += [Finding("forbidden", phrase, _time_of(at, spans)) for phrase, at in said]
    forbidden = [phrase for phrase, _ in said]
    return GreetingReport(checks, forbidden, bool(_REPLY_PROMISE.search(numeric)), findings)


def check_agent_call(
    played: list[str], heard_to_end: bool, organization: str, rules: ComplianceRules
) -> GreetingReport:
    """An agent-answered call: the script actually played, counted only if the caller heard it."""
    report = check_transcript(" ".join(played), organization, rules)
    if heard_to_end:
        return report
    checks = {name: False if name in ("closing",) else ok for name, ok in report.checks.items()}
    return GreetingReport(checks, report.forbidden, report.reply_promised, report.findings)


def answered_within_rings(
    ring_count: int | None,
    ringing_at: datetime | None,
    answered_at: datetime | None,
    ringing: RingingSettings,
    rules: ComplianceRules,
) -> bool | None:
    """铃响三声之内接听; None for a call nobody answered."""
    if answered_at is None:
        return None
    if ring_count is not None and ringing_at is None:
        return ring_count <= rules.max_rings
    rings = (
        rings_before_answer(ringing_at, answered_at, ringing) if ringing_at else (ring_count or 0)
    )
    return rings <= rules.max_rings
