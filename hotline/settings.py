"""Settings: defaults < TOML file < HOTLINE_* environment < command-line flags.

Parsed once, at start-up, into frozen pydantic models. A wrong key, type or
value stops start-up with a `ConfigError` naming the key and where it came
from (the file, the environment variable or the flag).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hotline.errors import ConfigError

ENV_PREFIX = "HOTLINE_"
#: Where the data files of config/ live (scripts, rules). Overridable for a
#: site that keeps its own copy: HOTLINE_CONFIG_DIR.
CONFIG_DIR = Path(
    os.environ.get("HOTLINE_CONFIG_DIR", Path(__file__).resolve().parent.parent / "config")
)
#: Searched in order when no --config is given and HOTLINE_CONFIG is unset.
SEARCH_PATH = (
    Path("hotline.toml"),
    Path.home() / ".config" / "hotline" / "hotline.toml",
    Path("/etc/hotline/hotline.toml"),
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrganizationSettings(_Section):
    name: str = "幸福家园物业服务中心"
    timezone: str = "Asia/Shanghai"
    language: Literal["zh-CN", "zh-TW", "en"] = "zh-CN"
    opening_hours: str = "08:00-18:00"
    working_days: list[int] = Field(default=[1, 2, 3, 4, 5, 6, 7])
    holidays: list[str] = Field(default_factory=list)
    #: The KPIs' targets (recorder/kpi.py), as shares: the seeds' numbers by default
    #: (seed 002 plan 三.3: 报修及时率 ≥ 98 %, 返修率 ≤ 5 %; seed 000 1.4.3.6.1: phone
    #: follow-up ≥ 50 %; complaints handled 100 %). Satisfaction has none in the seeds.
    kpi_repair_timely: float = Field(default=0.98, ge=0, le=1)
    kpi_rework_max: float = Field(default=0.05, ge=0, le=1)
    kpi_follow_up: float = Field(default=0.50, ge=0, le=1)
    #: 0: no target (the seeds give none).
    kpi_satisfaction: float = Field(default=0.0, ge=0, le=1)
    kpi_complaints_handled: float = Field(default=1.0, ge=0, le=1)
    kpi_relay_on_time: float = Field(default=1.0, ge=0, le=1)
    kpi_callback_same_day: float = Field(default=1.0, ge=0, le=1)
    #: A repair is timely when completed within this many hours of the report.
    kpi_repair_limit_hours: float = Field(default=72.0, gt=0)
    #: A repair is reworked when the same unit reports the same thing again this soon.
    kpi_rework_days: int = Field(default=30, ge=1, le=366)

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        try:
            start, end = value.split("-")
            for part in (start, end):
                hour, minute = part.split(":")
                if not (0 <= int(hour) <= 24 and 0 <= int(minute) < 60):
                    raise ValueError
        except ValueError:
            raise ValueError("expected HH:MM-HH:MM, e.g. 08:00-18:00") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class PathSettings(_Section):
    #: Relative to the folder hotline starts in; made absolute once, at start-up, so
    #: every path derived from it (recordings, prompts, journal, models, queue) means
    #: the same file in every thread and child process.
    data_dir: Path = Field(default=Path("var"), validate_default=True)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @property
    def recordings(self) -> Path:
        return self.data_dir / "recordings"

    @property
    def prompt_cache(self) -> Path:
        return self.data_dir / "prompts"


class DatabaseSettings(_Section):
    #: Empty means an SQLite file in data_dir.
    url: str = ""
    echo: bool = False


def _hostport(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return value


class SipSettings(_Section):
    #: Where the agent listens for SIP (UDP).
    listen: str = "127.0.0.1:5062"
    #: Address put into SDP and Contact; empty means the listen host.
    public_address: str = ""
    #: Empty means direct mode: INVITEs come straight from a trunk or PBX.
    registrar: str = ""
    user: str = "agent"
    password: str = ""
    register_expires: int = Field(default=300, ge=60, le=86400)
    #: Direct mode: only these source networks get a call; others get 403.
    trusted: list[str] = Field(default_factory=lambda: ["127.0.0.0/8"])
    max_calls: int = Field(default=20, ge=1, le=500)
    rtp_port_low: int = Field(default=10000, ge=1024, le=65535)
    rtp_port_high: int = Field(default=20000, ge=1024, le=65535)
    codecs: list[Literal["PCMU", "PCMA"]] = Field(default=["PCMU", "PCMA"])
    #: Who puts outgoing RTP on the wire: a small process of its own, at each packet's
    #: deadline ("process", audio 10 ms later), or the agent's pacer thread ("thread").
    rtp_sender: Literal["process", "thread"] = "process"
    #: The duty clerks' extensions, tried in order by the bridge (issue 5).
    clerk_uri_template: str = "sip:{extension}@{registrar}"

    _check_listen = field_validator("listen")(classmethod(lambda cls, v: _hostport(v)))

    @field_validator("registrar")
    @classmethod
    def _registrar(cls, value: str) -> str:
        return _hostport(value) if value else value

    @field_validator("trusted")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not a CIDR network such as 10.0.0.0/24") from None
        return value

    @model_validator(mode="after")
    def _ports(self) -> SipSettings:
        if self.rtp_port_low >= self.rtp_port_high:
            raise ValueError("rtp_port_low must be below rtp_port_high")
        return self

    @property
    def direct_mode(self) -> bool:
        return not self.registrar


class RingingSettings(_Section):
    #: The seeds: 来电必须在电话铃响三声之内接听 (客服中心接待岗位工作质量标准 2);
    #: 前台电话铃响三声必须接听 (客户来电来访来函处理 3.1.1). So 0-3, never more.
    answer_after_rings: int = Field(default=2, ge=0, le=3)
    #: China's ring cadence: 1 s on, 4 s off.
    ring_on_s: float = Field(default=1.0, gt=0, le=10)
    ring_off_s: float = Field(default=4.0, ge=0, le=10)
    #: A caller who hangs up within this many seconds of calling is a short abandon (a
    #: misdial, a change of mind): left out of the service level and shown apart.
    short_abandon_s: float = Field(default=5.0, ge=0, le=60)

    @field_validator("answer_after_rings", mode="before")
    @classmethod
    def _three_rings(cls, value: Any) -> Any:
        if isinstance(value, int) and value > 3:
            raise ValueError(
                "the desk must answer within three rings (铃响三声之内接听); use 0 to 3"
            )
        return value

    def answer_delay_s(self) -> float:
        """Seconds from the first ring to answering after `answer_after_rings` rings."""
        rings = self.answer_after_rings
        if rings == 0:
            return 0.0
        return rings * self.ring_on_s + (rings - 1) * self.ring_off_s


class AgentSettings(_Section):
    #: 工号 the agent announces (报号).
    job_number: str = "8001"
    display_name: str = "自动话务员"
    #: "message": greeting, then the caller is recorded for record_seconds, then the
    #: closing. "flow": the call flow of content.flow (menu, message taking with #,
    #: bridging to the duty clerk, after-hours script).
    mode: Literal["message", "flow"] = "flow"
    #: In "message" mode: record the caller for this long.
    record_seconds: float = Field(default=60.0, gt=0, le=3600)
    #: espeak-ng voice of synthesised prompts. cmn-latn-pinyin reads the pinyin
    #: that ivr.speech_text makes of a prompt as Mandarin; Debian 12's espeak-ng
    #: 1.51 reads Chinese given to its "cmn" voice as English (docs/voice.md).
    tts_voice: str = "cmn-latn-pinyin"
    #: Words a minute; each syllable is a word: 200 is about 4.2 syllables a
    #: second with the pauses, an unhurried announcement (docs/voice.md).
    tts_rate: int = Field(default=200, ge=50, le=400)
    #: How a 1 in a phone number is said: 幺 (yāo, the usual reading on the phone,
    #: not mistaken for 七) or 一. Job numbers and keys keep 一.
    tts_phone_one: Literal["幺", "一"] = "幺"


class AdminSettings(_Section):
    listen: str = "127.0.0.1:8080"
    #: Empty: a random key is generated and kept in data_dir/secret_key.
    secret_key: str = ""
    #: Roles that see phone numbers masked (138****5678).
    mask_phone_roles: list[Literal["clerk", "supervisor", "admin"]] = Field(default=["clerk"])
    #: How long a login lasts; logging out ends it at once (kept on the server).
    session_hours: int = Field(default=12, ge=1, le=168)
    secure_cookies: bool = False
    #: Failed logins allowed within the window per user name and address, per address
    #: (whatever the user names: password spraying) and in all (many addresses).
    login_attempts: int = Field(default=5, ge=1, le=100)
    login_attempts_per_address: int = Field(default=20, ge=1, le=10_000)
    login_attempts_total: int = Field(default=100, ge=1, le=100_000)
    login_window_s: int = Field(default=300, ge=10, le=86400)
    #: Reverse proxies (CIDR networks) whose X-Forwarded-For names the client; from
    #: any other peer the header is ignored. Empty: the desk is reached directly.
    trusted_proxies: list[str] = Field(default_factory=list)

    _check_listen = field_validator("listen")(classmethod(lambda cls, v: _hostport(v)))

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not a CIDR network such as 10.0.0.0/24") from None
        return value


class QueueSettings(_Section):
    #: sqlite: embedded, no server; redis: several machines share the queue.
    backend: Literal["sqlite", "redis", "memory"] = "sqlite"
    redis_url: str = "redis://127.0.0.1:6379/0"
    workers: int = Field(default=2, ge=1, le=64)
    retries: int = Field(default=5, ge=0, le=100)
    retry_delay_s: int = Field(default=10, ge=1, le=3600)


class TranscriptionSettings(_Section):
    engine: Literal["vosk"] = "vosk"
    #: A Vosk model directory; empty means "no model yet": calls are still
    #: answered and recorded, their transcription waits.
    model_path: str = ""
    language: Literal["zh", "en", "ko"] = "zh"
    low_confidence: float = Field(default=0.6, ge=0, le=1)
    #: When the worker trains the category model again from clerks' corrections (local time
    #: of the organisation, HH:MM; only when there are new ones); empty: never.
    retrain_at: str = "03:15"

    @field_validator("retrain_at")
    @classmethod
    def _clock(cls, value: str) -> str:
        if value:
            try:
                hour, minute = (int(part) for part in value.split(":"))
            except ValueError:
                raise ValueError("expected HH:MM, e.g. 03:15, or empty for never") from None
            if not (0 <= hour < 24 and 0 <= minute < 60):
                raise ValueError("expected HH:MM, e.g. 03:15, or empty for never")
        return value


class RetentionSettings(_Section):
    recording_days: int = Field(default=180, ge=1)
    complaint_recording_days: int = Field(default=730, ge=1)


class ContentSettings(_Section):
    """Which data files of config/ to use (paths relative to config/)."""

    script: str = "scripts/zh-CN.toml"
    categories: str = "rules/categories.toml"
    compliance: str = "rules/compliance.toml"
    #: The call flow: menus, digits, timeouts, retries (issue 5).
    flow: str = "flows/default.toml"
    #: The shipped learned category model (transcripts/learned.py); empty: none. A model
    #: trained here from clerks' corrections (data_dir/models/) takes its place.
    category_model: str = "rules/category_model.json"
    #: The shipped English one (English lines are classified by their own rules and model).
    category_model_en: str = "rules/category_model_en.json"


class Settings(_Section):
    organization: OrganizationSettings = OrganizationSettings()
    paths: PathSettings = Field(default_factory=PathSettings)  # data_dir made absolute at load
    database: DatabaseSettings = DatabaseSettings()
    sip: SipSettings = SipSettings()
    ringing: RingingSettings = RingingSettings()
    agent: AgentSettings = AgentSettings()
    admin: AdminSettings = AdminSettings()
    queue: QueueSettings = QueueSettings()
    transcription: TranscriptionSettings = TranscriptionSettings()
    retention: RetentionSettings = RetentionSettings()
    content: ContentSettings = ContentSettings()

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
