"""The settings section the call-log desk reads: [admin] (declared here), with the
shared sections it shows or reads ([paths], [organization], [retention], [transcription])."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import Field, field_validator

from recorder.settings import (
    OrganizationSettings,
    PathSettings,
    RetentionSettings,
    RingingSettings,
    Section,
    cidr_networks,
)
from recorder.settings import hostport as _hostport
from transcripts.settings import TranscriptionSettings


class AdminSettings(Section):
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
    #: Clients (CIDR) that may read /metrics without a login; behind a trusted proxy the
    #: client is the address it forwarded for. Loopback by default.
    metrics_allow: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])

    _check_listen = field_validator("listen")(classmethod(lambda cls, v: _hostport(v)))

    _check_metrics_allow = field_validator("metrics_allow")(
        classmethod(lambda cls, v: cidr_networks(v))
    )

    _check_trusted_proxies = field_validator("trusted_proxies")(
        classmethod(lambda cls, v: cidr_networks(v))
    )


class DeskSettings(Protocol):
    """The sections the desk reads."""

    @property
    def admin(self) -> AdminSettings: ...
    @property
    def paths(self) -> PathSettings: ...
    @property
    def organization(self) -> OrganizationSettings: ...
    @property
    def retention(self) -> RetentionSettings: ...
    @property
    def transcription(self) -> TranscriptionSettings: ...
    @property
    def ringing(self) -> RingingSettings:
        """The ring cadence: the service level's threshold in seconds (issue 20)."""

    def model_dump(self, *, mode: str = "python") -> dict[str, Any]: ...
