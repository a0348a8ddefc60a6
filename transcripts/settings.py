"""The settings sections transcripts reads: [transcription] (declared here), and the
shared ones of `recorder.settings` ([paths], [content], [organization])."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Literal, Protocol

from pydantic import Field, field_validator

from recorder.settings import ContentSettings, OrganizationSettings, PathSettings, Section


class TranscriptionSettings(Section):
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


class TranscriptsSettings(Protocol):
    """The sections speech, classification and the pipeline read."""

    @property
    def organization(self) -> OrganizationSettings: ...
    @property
    def paths(self) -> PathSettings: ...
    @property
    def transcription(self) -> TranscriptionSettings: ...
    @property
    def content(self) -> ContentSettings: ...


@dataclass(frozen=True)
class DefaultTranscriptsSettings:
    """Every section at its built-in default: what the shipped model is loaded with when
    a caller (a script, `fill_entry` without a model) passes no settings."""

    organization: OrganizationSettings = dc_field(default_factory=OrganizationSettings)
    paths: PathSettings = dc_field(default_factory=PathSettings)
    transcription: TranscriptionSettings = dc_field(default_factory=TranscriptionSettings)
    content: ContentSettings = dc_field(default_factory=ContentSettings)
