"""The phone script (config/scripts/*.toml): what the agent says, with the variables a
prompt may use; and what the call flow reads of the loaded content."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, model_validator

from recorder.settings import load_data

SCRIPT_VARIABLES = {
    "organization",
    "job_number",
    "opening_hours",
    "reply_hours",
    "category",
    "unit",
    "repaired_on",
    "mailed_on",
}


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


def load_script(path: Path) -> Script:
    """A phone script; a `ConfigError` names the file."""
    script: Script = load_data(path, Script)
    return script


class CategoryInfo(Protocol):
    """A category as the flow names it and promises a reply."""

    @property
    def key(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def reply_within_minutes(self) -> int: ...


class CategoryNames(Protocol):
    @property
    def category(self) -> Sequence[CategoryInfo]: ...
    def by_key(self, key: str) -> CategoryInfo: ...


class PhraseRules(Protocol):
    """The compliance rules as the flow checks its own words against them."""

    @property
    def closing(self) -> Sequence[str]: ...
    def forbidden_in(self, text: str) -> list[str]: ...


class ScriptContent(Protocol):
    """What ivr reads of the loaded content (hotline.content.Content has it)."""

    @property
    def script(self) -> Script: ...
    @property
    def categories(self) -> CategoryNames: ...
    @property
    def compliance(self) -> PhraseRules: ...
    def prompt(self, name: str, **extra: str) -> str: ...
    def closing(self, category: str, **extra: str) -> str: ...
