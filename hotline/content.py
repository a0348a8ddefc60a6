"""Scripts and rules kept as data in config/: phone scripts, categories and
their deadlines, urgency rules, greeting-compliance phrases.

Loaded once into typed objects. A script that holds a forbidden phrase (喂,
不知道, 没办法 ... from rules/compliance.toml) is refused at load time.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hotline.errors import ConfigError
from hotline.settings import CONFIG_DIR, Settings

SCRIPT_VARIABLES = {
    "organization",
    "job_number",
    "opening_hours",
    "reply_hours",
    "category",
    "unit",
}


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Data):
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


class UrgencyRule(_Data):
    label: str
    follow_up_days: int | None = None
    keywords: list[str]
    things: list[str] = Field(default_factory=list)
    faults: list[str] = Field(default_factory=list)


class Departments(_Data):
    names: list[str]


class Speech(_Data):
    """How callers talk, as vocabulary: where a call moves to another request (另外,
    还有个事), the thanks that close a request politely (…谢谢你们, 辛苦了) and the
    recogniser's near-homophones of the desk's words (露水 for 漏水)."""

    connectors: list[str] = Field(min_length=1)
    courtesy: list[str] = Field(default_factory=list)
    #: What the recogniser writes for a word it did not quite hear (头诉 for 投诉): read as
    #: the word before the rules are matched.
    misheard: dict[str, str] = Field(default_factory=dict)
    #: Desk words also read by sound (docs/classification.md, "by_sound"): any run of characters with the same toneless
    #: pinyin (投素, 投宿 for 投诉) is read as the word, unless it is in `sounds_like_but_is`.
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


class CategoryRules(_Data):
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


class ComplianceRules(_Data):
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
        from transcripts import text as transcript_text
        from transcripts.compliance import forbidden_said

        return [phrase for phrase, _ in forbidden_said(transcript_text.clean(text), self)]


class Script(_Data):
    prompts: dict[str, str]
    closing: dict[str, str]

    @model_validator(mode="after")
    def _required(self) -> Script:
        needed = {
            "greeting",
            "menu",
            "invalid",
            "ask_details",
            "confirm",
            "transfer",
            "clerk_unavailable",
            "after_hours",
            "after_hours_closing",
        }
        missing = needed - set(self.prompts)
        if missing:
            raise ValueError(f"prompts missing: {sorted(missing)}")
        if "default" not in self.closing:
            raise ValueError("closing.default is required")
        return self


@dataclass(frozen=True)
class Content:
    script: Script
    categories: CategoryRules
    compliance: ComplianceRules
    variables: dict[str, str]
    #: The organisation's time zone (follow-up dates are local dates) and language.
    timezone: str = "Asia/Shanghai"
    language: str = "zh-CN"

    def prompt(self, name: str, **extra: str) -> str:
        return self.script.prompts[name].format(**{**self.variables, **extra})

    def closing(self, category: str, **extra: str) -> str:
        template = self.script.closing.get(category, self.script.closing["default"])
        return template.format(**{**self.variables, **extra})


def _load(path: Path, model: type[BaseModel]) -> Any:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None


def _check_script(path: Path, script: Script, compliance: ComplianceRules) -> None:
    for section, texts in (("prompts", script.prompts), ("closing", script.closing)):
        for name, text in texts.items():
            fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            unknown = fields - SCRIPT_VARIABLES
            if unknown:
                raise ConfigError(
                    f"{path}: {section}.{name} uses unknown variable(s) {sorted(unknown)}; "
                    f"known: {sorted(SCRIPT_VARIABLES)}"
                )
            found = compliance.forbidden_in(text)
            if found:
                raise ConfigError(
                    f"{path}: {section}.{name} contains the forbidden phrase(s) {found} "
                    "(首问责任制培训细则 1.2.1.2: 切忌使用'喂'招呼宾客); reword the prompt"
                )
        if section == "closing":
            for name, text in texts.items():
                if not any(word in text for word in compliance.closing):
                    raise ConfigError(
                        f"{path}: closing.{name} must end politely, with one of {compliance.closing}"
                    )


def load_content(settings: Settings, config_dir: Path = CONFIG_DIR) -> Content:
    files = settings.content
    compliance = _load(config_dir / files.compliance, ComplianceRules)
    categories = _load(config_dir / files.categories, CategoryRules)
    script_path = config_dir / files.script
    script = _load(script_path, Script)
    _check_script(script_path, script, compliance)
    complaint = (
        categories.by_key("complaint")
        if any(c.key == "complaint" for c in categories.category)
        else None
    )
    variables = {
        "organization": settings.organization.name,
        "job_number": settings.agent.job_number,
        "opening_hours": settings.organization.opening_hours.replace("-", "至"),
        "reply_hours": str(round(complaint.reply_within_minutes / 60)) if complaint else "24",
        "category": "",
        "unit": "",
    }
    return Content(
        script=script,
        categories=categories,
        compliance=compliance,
        variables=variables,
        timezone=settings.organization.timezone,
        language=settings.organization.language,
    )
