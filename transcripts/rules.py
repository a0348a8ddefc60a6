"""The category rules (config/rules/categories.toml): categories, their deadlines and
departments, urgency rules and how callers talk; loaded once into typed objects."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from recorder.settings import load_data

if TYPE_CHECKING:
    from transcripts.compliance import ComplianceRules


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Rules):
    key: str
    label: str
    labels: dict[str, str] = Field(default_factory=dict)
    department: str
    reply_within_minutes: int = Field(ge=1)
    follow_up_days: int = Field(ge=0)
    keywords: list[str]
    before: list[str] = Field(default_factory=list)
    #: When one of these is said, this category also wins over `strong_before`.
    strong_keywords: list[str] = Field(default_factory=list)
    strong_before: list[str] = Field(default_factory=list)
    #: Questions about a fault rather than reports of it (是物业管还是找厂家, 还是正常的): when
    #: one is said, this category also wins over `question_before` (a repair named in it).
    question_keywords: list[str] = Field(default_factory=list)
    question_before: list[str] = Field(default_factory=list)
    #: Things named alone (水管, 马桶): a hit, but a category found by nothing else gives way
    #: to one whose strong keyword is said (请问…有没有水龙头 is asked, not reported).
    names: list[str] = Field(default_factory=list)
    #: A verb said as A-not-A (用不用, 交不交, 招不招) is one of its keywords (a question).
    a_not_a: bool = False
    #: A thing and a fault said close together (电梯 ... 不动了) count as one keyword hit.
    things: list[str] = Field(default_factory=list)
    faults: list[str] = Field(default_factory=list)
    #: Keywords that say what a nuisance does (吵得, 熏得, 睡不着): not counted when another
    #: category found a thing and its fault in the same request (窗户关不上…吵得很 is a repair).
    effects: list[str] = Field(default_factory=list)
    #: Said in any request of a call, this category is the call's (a complaint).
    escalates: bool = False
    #: Urgency (safety, leak) is raised only for calls of these categories.
    urgent: bool = False
    #: A request of this category that its strong keyword took from an urgent one (转告罗师傅
    #: …水龙头还在滴: a message) still carries that one's urgency.
    relays_urgency: bool = False

    def label_for(self, language: str) -> str:
        return self.labels.get(language, self.label)


class UrgencyRule(_Rules):
    label: str
    follow_up_days: int | None = None
    keywords: list[str]
    things: list[str] = Field(default_factory=list)
    faults: list[str] = Field(default_factory=list)


class Departments(_Rules):
    names: list[str]


class Speech(_Rules):
    """How callers talk, as vocabulary: where a call moves to another request (另外,
    还有个事), the thanks that close a request politely (…谢谢你们, 辛苦了) and the
    recogniser's near-homophones of the desk's words (露水 for 漏水)."""

    connectors: list[str] = Field(min_length=1)
    courtesy: list[str] = Field(default_factory=list)
    #: What the recogniser writes for a word it did not quite hear (头诉 for 投诉): read as
    #: the word before the rules are matched.
    misheard: dict[str, str] = Field(default_factory=dict)
    #: Desk words also read by sound (docs/classification.md, "by_sound"): any run of
    #: characters with the same toneless pinyin (投素, 投宿 for 投诉) is read as the word,
    #: unless it is in `sounds_like_but_is`.
    by_sound: list[str] = Field(default_factory=list)
    #: Real words that sound like a desk word and mean themselves (保修 is a warranty).
    sounds_like_but_is: list[str] = Field(default_factory=list)
    #: Initials callers and the recogniser do not tell apart (sh and s: 投书 is tou su as
    #: well), merged before desk words are matched by sound.
    merged_initials: dict[str, str] = Field(default_factory=dict)
    #: Words that hold a shorter rule word but name something else (灯笼 is no 灯, 影响 no
    #: 响, 维修基金 no 维修): a keyword, thing or fault inside one is no hit.
    compounds: list[str] = Field(default_factory=list)
    #: Thanks for work done, to the people who did it (谢谢他们, 真辛苦): praise even after a
    #: request, where plain thanks (谢谢你们) are only `courtesy`.
    gratitude: list[str] = Field(default_factory=list)


class CategoryRules(_Rules):
    category: list[Category]
    urgency: dict[str, UrgencyRule]
    departments: Departments
    speech: Speech

    @model_validator(mode="after")
    def _consistent(self) -> CategoryRules:
        keys = [c.key for c in self.category]
        if len(set(keys)) != len(keys):
            raise ValueError("category keys must be unique")
        if "other" not in keys:
            raise ValueError("a category with key 'other' is required")
        for cat in self.category:
            for key in [*cat.before, *cat.strong_before, *cat.question_before]:
                if key not in keys:
                    raise ValueError(f"category {cat.key}: 'before' names unknown category {key!r}")
        missing = {"safety", "leak", "normal"} - set(self.urgency)
        if missing:
            raise ValueError(f"urgency rules missing: {sorted(missing)}")
        return self

    @property
    def escalating(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.category if c.escalates)

    @property
    def urgent(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.category if c.urgent)

    def by_key(self, key: str) -> Category:
        for cat in self.category:
            if cat.key == key:
                return cat
        raise KeyError(key)


def load_category_rules(path: Path) -> CategoryRules:
    """config/rules/categories.toml (or a site's copy); a `ConfigError` names the file."""
    rules: CategoryRules = load_data(path, CategoryRules)
    return rules


class DeskContent(Protocol):
    """What classification, the audit and the pipeline read of the loaded content
    (hotline.content.Content has it): the rules, the organisation's zone and language,
    and the script's greeting and closings as said on the phone."""

    @property
    def categories(self) -> CategoryRules: ...
    @property
    def compliance(self) -> ComplianceRules: ...
    @property
    def timezone(self) -> str: ...
    @property
    def language(self) -> str: ...
    def prompt(self, name: str, **extra: str) -> str: ...
    def closing(self, category: str, **extra: str) -> str: ...


__all__ = [
    "Category",
    "CategoryRules",
    "Departments",
    "DeskContent",
    "Speech",
    "UrgencyRule",
    "load_category_rules",
]
