"""Scripts and rules kept as data in config/, composed: the phone script (ivr.script),
the category rules (transcripts.rules) and the greeting-compliance phrases
(transcripts.compliance), each loaded by the package that uses it.

The check that joins them is made here, at the composition root: a script that holds
a forbidden phrase (喂, 不知道, 没办法 ... from rules/compliance.toml), uses an unknown
variable or closes impolitely is refused at load time.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from hotline.errors import ConfigError
from hotline.settings import CONFIG_DIR, Settings
from ivr.script import SCRIPT_VARIABLES, Script, load_script
from transcripts.compliance import ComplianceRules, load_compliance_rules
from transcripts.rules import (
    Category,
    CategoryRules,
    Departments,
    Speech,
    UrgencyRule,
    load_category_rules,
)

__all__ = [
    "SCRIPT_VARIABLES",
    "Category",
    "CategoryRules",
    "ComplianceRules",
    "Content",
    "Departments",
    "Script",
    "Speech",
    "UrgencyRule",
    "load_content",
]


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
    compliance = load_compliance_rules(config_dir / files.compliance)
    categories = load_category_rules(config_dir / files.categories)
    script_path = config_dir / files.script
    script = load_script(script_path)
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
        "repaired_on": "",
        "mailed_on": "",
    }
    return Content(
        script=script,
        categories=categories,
        compliance=compliance,
        variables=variables,
        timezone=settings.organization.timezone,
        language=settings.organization.language,
    )
