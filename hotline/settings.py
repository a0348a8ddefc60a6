"""Settings: defaults < TOML file < HOTLINE_* environment < command-line flags.

Parsed once, at start-up, into frozen pydantic models. A wrong key, type or
value stops start-up with a `ConfigError` naming the key and where it came
from (the file, the environment variable or the flag).

Each package declares the sections it reads (recorder.settings: the shared ground;
ivr.settings, transcripts.settings, admin.settings); this module only layers and
composes them.
"""

from __future__ import annotations

import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from admin.settings import AdminSettings
from hotline.errors import ConfigError
from ivr.settings import AgentSettings, OutboundSettings, SipSettings
from recorder.settings import (
    CONFIG_DIR,
    ContentSettings,
    DatabaseSettings,
    OrganizationSettings,
    PathSettings,
    QueueSettings,
    RetentionSettings,
    RingingSettings,
)
from recorder.settings import Section as _Section
from transcripts.settings import TranscriptionSettings

__all__ = [
    "CONFIG_DIR",
    "AdminSettings",
    "AgentSettings",
    "ContentSettings",
    "DatabaseSettings",
    "LoadedSettings",
    "LoggingSettings",
    "OrganizationSettings",
    "OutboundSettings",
    "PathSettings",
    "QueueSettings",
    "RetentionSettings",
    "RingingSettings",
    "Settings",
    "SipSettings",
    "TranscriptionSettings",
    "load_settings",
]

ENV_PREFIX = "HOTLINE_"
#: Searched in order when no --config is given and HOTLINE_CONFIG is unset.
SEARCH_PATH = (
    Path("hotline.toml"),
    Path.home() / ".config" / "hotline" / "hotline.toml",
    Path("/etc/hotline/hotline.toml"),
)


class LoggingSettings(_Section):
    #: "text": readable lines; "json": one JSON object a line, with call_id on a call's lines.
    format: Literal["text", "json"] = "text"


class Settings(_Section):
    organization: OrganizationSettings = OrganizationSettings()
    paths: PathSettings = Field(default_factory=PathSettings)  # data_dir made absolute at load
    database: DatabaseSettings = DatabaseSettings()
    sip: SipSettings = SipSettings()
    ringing: RingingSettings = RingingSettings()
    agent: AgentSettings = AgentSettings()
    outbound: OutboundSettings = OutboundSettings()
    admin: AdminSettings = AdminSettings()
    queue: QueueSettings = QueueSettings()
    transcription: TranscriptionSettings = TranscriptionSettings()
    retention: RetentionSettings = RetentionSettings()
    content: ContentSettings = ContentSettings()
    logging: LoggingSettings = LoggingSettings()

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.paths.data_dir / 'hotline.db').resolve()}"


@dataclass
class LoadedSettings:
    """The settings and where each value came from (for error messages)."""

    settings: Settings
    config_file: Path | None
    sources: dict[str, str] = field(default_factory=dict)


def find_config_file(
    explicit: str | os.PathLike[str] | None, environ: Mapping[str, str]
) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist (given with --config)")
        return path
    if env := environ.get(ENV_PREFIX + "CONFIG"):
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist (given by {ENV_PREFIX}CONFIG)")
        return path
    for candidate in SEARCH_PATH:
        if candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _field_type(section: str, key: str) -> Any:
    section_field = Settings.model_fields.get(section)
    if section_field is None or section_field.annotation is None:
        return None
    model = section_field.annotation
    sub = model.model_fields.get(key)
    return None if sub is None else sub.annotation


def _environment_layer(environ: Mapping[str, str]) -> dict[str, dict[str, tuple[Any, str]]]:
    """HOTLINE_SECTION_KEY=value, e.g. HOTLINE_DATABASE_URL, HOTLINE_SIP_MAX_CALLS."""
    layer: dict[str, dict[str, tuple[Any, str]]] = {}
    reserved = {"CONFIG", "CONFIG_DIR"}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name[len(ENV_PREFIX) :] in reserved:
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        section, _, key = rest.partition("_")
        if section not in Settings.model_fields or not key:
            raise ConfigError(
                f"environment variable {name}: no such setting "
                f"(expected {ENV_PREFIX}SECTION_KEY with SECTION one of "
                f"{', '.join(Settings.model_fields)})"
            )
        value: Any = raw
        annotation = _field_type(section, key)
        if typing.get_origin(annotation) is list:
            value = [item.strip() for item in raw.split(",") if item.strip()]
        layer.setdefault(section, {})[key] = (value, f"environment variable {name}")
    return layer


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Mapping[str, tuple[Any, str]]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedSettings:
    """Build the settings from every layer.

    `overrides` are the command-line flags: {section: {key: (value, "--flag")}}.
    """
    environ = os.environ if environ is None else environ
    path = find_config_file(config_file, environ)
    merged: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}

    if path is not None:
        data = _read_toml(path)
        for section, values in data.items():
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: [{section}] must be a table of settings, not a value")
            for key, value in values.items():
                merged.setdefault(section, {})[key] = value
                sources[f"{section}.{key}"] = str(path)
            sources.setdefault(section, str(path))

    for layer in (_environment_layer(environ), overrides or {}):
        for section, values in layer.items():
            for key, (value, origin) in values.items():
                merged.setdefault(section, {})[key] = value
                sources[f"{section}.{key}"] = origin
                sources.setdefault(section, origin)

    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, sources)) from None
    return LoadedSettings(settings=settings, config_file=path, sources=sources)


def _describe(exc: ValidationError, sources: Mapping[str, str]) -> str:
    lines = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"] if not isinstance(part, int))
        origin = sources.get(loc) or sources.get(loc.split(".")[0]) or "the defaults"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting (see config/hotline.example.toml for the valid keys)"
        elif "input" in error and error["type"] not in ("missing",):
            message = f"{message} (got {error['input']!r})"
        lines.append(f"{loc} in {origin}: {message}")
    return "invalid configuration: " + "; ".join(lines)
