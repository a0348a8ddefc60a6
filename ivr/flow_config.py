"""The call flow as data (config/flows/*.toml): menus, keys, timeouts, retries.

Read once at start-up and checked against the script and the categories of
`hotline.content`, so a wrong prompt name, category or digit stops start-up
with the key and the file named, never a call halfway through.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ivr.errors import ConfigError
from ivr.script import ScriptContent
from ivr.settings import IvrSettings
from recorder.settings import CONFIG_DIR

DTMF_KEYS = frozenset("0123456789*#")


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Data):
    """What a key does: take a message, ring the duty roster, ring the on-call engineer."""

    action: Literal["message", "person", "on_call"]
    #: The message's category (rules/categories.toml); for a transfer, the
    #: category whispered to the clerk and used if nobody answers.
    category: str | None = None

    @model_validator(mode="after")
    def _message_needs_category(self) -> Choice:
        if self.action == "message" and not self.category:
            raise ValueError("a 'message' choice needs a category")
        return self


class Menu(_Data):
    prompt: str
    barge_in: bool = True
    timeout_s: float = Field(gt=0, le=60)
    retries: int = Field(ge=0, le=5)
    invalid_prompt: str
    no_input_prompt: str
    choices: dict[str, Choice]
    #: A key of `choices`, or a choice of its own, taken after the retries.
    fallback: str | Choice

    @field_validator("choices")
    @classmethod
    def _keys(cls, value: dict[str, Choice]) -> dict[str, Choice]:
        for key in value:
            if key not in DTMF_KEYS:
                raise ValueError(f"{key!r} is not a telephone key (0-9, * or #)")
        return value

    @model_validator(mode="after")
    def _fallback_known(self) -> Menu:
        if isinstance(self.fallback, str) and self.fallback not in self.choices:
            raise ValueError(f"fallback {self.fallback!r} is not one of the choices")
        return self

    def fallback_choice(self) -> Choice:
        if isinstance(self.fallback, Choice):
            return self.fallback
        return self.choices[self.fallback]


class Greeting(_Data):
    prompt: str
    barge_in: bool = False


class Message(_Data):
    prompt: str
    confirm_prompt: str
    stop_digit: str = "#"
    silence_s: float = Field(gt=0, le=60)
    max_s: float = Field(ge=5, le=1800)

    @field_validator("stop_digit")
    @classmethod
    def _digit(cls, value: str) -> str:
        if value not in DTMF_KEYS:
            raise ValueError(f"{value!r} is not a telephone key (0-9, * or #)")
        return value


class Transfer(_Data):
    prompt: str
    whisper_prompt: str
    #: Whispered in place of the category when the caller chose none.
    whisper_default: str = "人工服务"
    ring_timeout_s: float = Field(ge=1, le=300)
    unavailable_prompt: str
    message_category: str
    #: A key of the script's [closing] table, said when the far end hangs up first.
    closing: str


class OnCall(Transfer):
    extensions: list[str] = Field(default_factory=list)


class AfterHours(_Data):
    menu: Menu
    closing_prompt: str


class FlowConfig(_Data):
    greeting: Greeting
    menu: Menu
    message: Message
    person: Transfer
    after_hours: AfterHours
    on_call: OnCall

    def menus(self) -> dict[str, Menu]:
        return {"menu": self.menu, "after_hours.menu": self.after_hours.menu}


def _prompt_refs(flow: FlowConfig) -> dict[str, str]:
    """Every prompt name the flow refers to, by the key that names it."""
    refs = {
        "greeting.prompt": flow.greeting.prompt,
        "message.prompt": flow.message.prompt,
        "message.confirm_prompt": flow.message.confirm_prompt,
        "after_hours.closing_prompt": flow.after_hours.closing_prompt,
    }
    for where, menu in flow.menus().items():
        for key in ("prompt", "invalid_prompt", "no_input_prompt"):
            refs[f"{where}.{key}"] = getattr(menu, key)
    for where, transfer in (("person", flow.person), ("on_call", flow.on_call)):
        for key in ("prompt", "whisper_prompt", "unavailable_prompt"):
            refs[f"{where}.{key}"] = getattr(transfer, key)
    return refs


def _category_refs(flow: FlowConfig) -> dict[str, str]:
    refs = {
        "person.message_category": flow.person.message_category,
        "on_call.message_category": flow.on_call.message_category,
    }
    for where, menu in flow.menus().items():
        for key, choice in menu.choices.items():
            if choice.category:
                refs[f"{where}.choices.{key}.category"] = choice.category
        fallback = menu.fallback
        if isinstance(fallback, Choice) and fallback.category:
            refs[f"{where}.fallback.category"] = fallback.category
    return refs


def check_flow(path: Path, flow: FlowConfig, content: ScriptContent) -> None:
    """Refuse a flow naming a prompt, category or closing the content lacks."""
    prompts = content.script.prompts
    for key, name in _prompt_refs(flow).items():
        if name not in prompts:
            raise ConfigError(f"{path}: {key} names the prompt {name!r}, not in the script")
    known = {c.key for c in content.categories.category}
    for key, category in _category_refs(flow).items():
        if category not in known:
            raise ConfigError(f"{path}: {key} names the unknown category {category!r}")
    for key, closing in (
        ("person.closing", flow.person.closing),
        ("on_call.closing", flow.on_call.closing),
    ):
        if closing not in content.script.closing:
            raise ConfigError(f"{path}: {key} names {closing!r}, not in the script's [closing]")
    for key, transfer in (("person", flow.person), ("on_call", flow.on_call)):
        found = content.compliance.forbidden_in(transfer.whisper_default)
        if found:
            raise ConfigError(
                f"{path}: {key}.whisper_default contains the forbidden phrase(s) {found}"
            )
    for where, menu in flow.menus().items():
        said = prompts[menu.prompt]
        for key in menu.choices:
            if key.isdigit() and f"按{key}" not in said:
                raise ConfigError(
                    f"{path}: {where}.choices has key {key} but the prompt {menu.prompt!r} "
                    f"never says 按{key}: callers would not know it"
                )
    closing_text = prompts[flow.after_hours.closing_prompt]
    if not any(word in closing_text for word in content.compliance.closing):
        raise ConfigError(
            f"{path}: after_hours.closing_prompt must end politely, "
            f"with one of {content.compliance.closing}"
        )


def load_flow(
    settings: IvrSettings, content: ScriptContent, config_dir: Path = CONFIG_DIR
) -> FlowConfig:
    """The flow named by `content.flow`, checked against `content`."""
    path = config_dir / settings.content.flow
    data = _read(path)
    try:
        flow = FlowConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
    check_flow(path, flow, content)
    return flow


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (content.flow)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
