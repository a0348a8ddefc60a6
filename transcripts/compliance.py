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
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from recorder.answering import rings_before_answer
from recorder.settings import RingingSettings, load_data
from transcripts import text
from transcripts.phrase_patterns import (
    CompiledFamily,
    PatternError,
    compile_family,
    compile_pattern,
)
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


#: Finding kinds that are reported but do not fail the call (004 二(四)3: 您 for 你).
POLITENESS_KINDS = frozenset({"politeness"})
#: What a family may be: 002 七.11 negative language, a refusal that sends the caller elsewhere,
#: 004 二(四)1(3) 出言不逊 and 脏字, 喂 to the caller (000 1.2.1.2), and 你 for 您.
KINDS = ("negative", "elsewhere", "rude", "swear", "hail", "politeness")


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
    #: 你 where the seeds prescribe 您: its own finding, not a forbidden phrase.
    politeness: list[str] = field(default_factory=list)

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


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PhraseFamily(_Rules):
    """One family of spoken variants (compliance.toml's [[family]]; transcripts.phrase_patterns)."""

    name: str = Field(min_length=1)
    kind: Literal["negative", "elsewhere", "rude", "swear", "hail", "politeness"]
    seed: str = ""
    patterns: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)


class ComplianceRules(_Rules):
    max_rings: int = Field(ge=1, le=3)
    greeting: list[str]
    offer_help: list[str]
    offer_help_patterns: list[str] = Field(default_factory=list)
    surname_asked: list[str]
    closing: list[str]
    staff_id_markers: list[str]
    slots: dict[str, list[str]] = Field(default_factory=dict)
    family: list[PhraseFamily] = Field(default_factory=list)
    #: A site's extra exact phrases, each a family of its own (kind negative).
    forbidden: list[str] = Field(default_factory=list)
    #: Exact phrases in which nothing is a finding (a site's own harmless senses).
    forbidden_exceptions: list[str] = Field(default_factory=list)
    _families: tuple[CompiledFamily, ...] = PrivateAttr(default=())
    _offers: tuple[re.Pattern[str], ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _compile(self) -> ComplianceRules:
        """Every pattern compiled at load time: a bad one is a ConfigError naming the family."""
        literal = [PhraseFamily(name=p, kind="negative", patterns=[p]) for p in self.forbidden]
        try:
            self._families = tuple(
                compile_family(f.name, f.kind, f.patterns, f.unless, self.slots)
                for f in (*self.family, *literal)
            )
            self._offers = tuple(
                compile_pattern(p, self.slots)
                for p in (*self.offer_help, *self.offer_help_patterns)
            )
        except PatternError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def families(self) -> tuple[CompiledFamily, ...]:
        return self._families

    def kind_of(self, name: str) -> str:
        return next((f.kind for f in self._families if f.name == name), "negative")

    def offer_said(self, clean: str) -> re.Match[str] | None:
        """The first offer of help in the cleaned text, by any of its variants."""
        found = [m for p in self._offers if (m := p.search(clean))]
        return min(found, key=lambda m: m.start(), default=None)

    def forbidden_in(self, text: str) -> list[str]:
        """The forbidden phrases in a prompt, judged as the audit judges what staff say."""
        return [
            name
            for name, kind, _ in phrases_said(_clean(text), self)
            if kind not in POLITENESS_KINDS
        ]


def load_compliance_rules(path: Path) -> ComplianceRules:
    """config/rules/compliance.toml (or a site's copy); a `ConfigError` names the file."""
    rules: ComplianceRules = load_data(path, ComplianceRules)
    return rules


def phrases_said(clean: str, rules: ComplianceRules) -> list[tuple[str, str, int]]:
    """(family, kind, first offset) of each family said in its finding sense, in family order.

    A span reported for one family is not reported for a later one (可是这个不归我们管 is
    不归我们管, not 可是 as well); politeness is judged on its own (你 inside 关你什么事).
    """
    allowed = [
        m.span() for p in rules.forbidden_exceptions for m in re.finditer(re.escape(p), clean)
    ]
    taken: list[tuple[int, int]] = []
    found = []
    for family in rules.families:
        polite = family.kind in POLITENESS_KINDS  # 你 inside 关你什么事 is still 你
        span = family.first(clean, allowed, () if polite else taken)
        if span is not None:
            taken += [] if polite else [span]
            found.append((family.name, family.kind, span[0]))
    return found


def forbidden_said(clean: str, rules: ComplianceRules) -> list[tuple[str, int]]:
    """The forbidden families said in their forbidden sense, with the first offset."""
    return [(n, at) for n, kind, at in phrases_said(clean, rules) if kind not in POLITENESS_KINDS]


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
    offer = rules.offer_said(clean)
    if offer is not None:
        findings.append(Finding("offer_help", offer.group(0), _time_of(offer.start(), spans)))
    checks = {
        "greeting": find("greeting", rules.greeting, opening[:GREETING_CHARS]),
        "organization": find("organization", org_names, opening),
        "staff_id": bool(_STAFF_ID.search(text.numeric(opening)))
        or any(marker in opening for marker in rules.staff_id_markers if marker != "工号"),
        "offer_help": offer is not None,
        "surname_asked": find("surname_asked", rules.surname_asked, clean),
        "closing": find("closing", rules.closing, clean[closing_from:], closing_from),
    }
    if checks["staff_id"]:
        match = _STAFF_ID.search(text.numeric(opening))
        findings.append(Finding("staff_id", match.group(0) if match else "", _time_of(0, spans)))
    said = phrases_said(clean, rules)
    findings += [
        Finding(
            "politeness" if kind in POLITENESS_KINDS else "forbidden", name, _time_of(at, spans)
        )
        for name, kind, at in said
    ]
    forbidden = [name for name, kind, _ in said if kind not in POLITENESS_KINDS]
    polite = [name for name, kind, _ in said if kind in POLITENESS_KINDS]
    promised = bool(_REPLY_PROMISE.search(numeric))
    return GreetingReport(checks, forbidden, promised, findings, polite)


def check_agent_call(
    played: list[str], heard_to_end: bool, organization: str, rules: ComplianceRules
) -> GreetingReport:
    """An agent-answered call: the script actually played, counted only if the caller heard it."""
    report = check_transcript(" ".join(played), organization, rules)
    if heard_to_end:
        return report
    checks = {name: False if name in ("closing",) else ok for name, ok in report.checks.items()}
    return GreetingReport(
        checks, report.forbidden, report.reply_promised, report.findings, report.politeness
    )


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
