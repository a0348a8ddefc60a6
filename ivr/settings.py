"""The settings sections ivr reads: [sip] and [agent] (declared here), and the shared
ones of `recorder.settings` ([organization], [paths], [ringing], [content])."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal, Protocol

from pydantic import Field, field_validator, model_validator

from recorder.outbound_rules import Attempts, CallingHours, Plan, parse_hours
from recorder.settings import (
    ContentSettings,
    OrganizationSettings,
    PathSettings,
    RingingSettings,
    Section,
    cidr_networks,
)
from recorder.settings import hostport as _hostport


class SipSettings(Section):
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
    #: Headers of a ring group's CANCEL that name the phone that answered first (issue 20;
    #: no PBX sends one by default: FreeSWITCH's sip_bye_h_* variables can, see
    #: ivr/cancel_reason.py); the first found names who answered, else "a colleague".
    answered_by_headers: list[str] = Field(default_factory=lambda: ["X-Answered-By"])
    #: How a resident's number is dialled for a call the agent places (issue 22): through
    #: the registrar in registered mode, the PBX or trunk in direct mode ("sip:{number}@pbx").
    outbound_uri_template: str = "sip:{number}@{registrar}"
    #: What a resident's phone shows for a call the agent places (issue 22): the display
    #: name of the From header, and the number put in a P-Asserted-Identity (RFC 3325),
    #: which PBXs and trunks pass on, and in From's user part in direct mode only
    #: (registered, From keeps the account the registrar authenticates). Empty: the SIP
    #: account as it is (sip.user), no P-Asserted-Identity.
    caller_id_name: str = Field(default="", max_length=64)
    caller_id_number: str = Field(default="", pattern=r"^(\+?[0-9]{3,20})?$")

    _check_listen = field_validator("listen")(classmethod(lambda cls, v: _hostport(v)))

    @field_validator("registrar")
    @classmethod
    def _registrar(cls, value: str) -> str:
        return _hostport(value) if value else value

    @field_validator("caller_id_name")
    @classmethod
    def _display_name(cls, value: str) -> str:
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("a caller ID name holds no control characters (line breaks, tabs)")
        return value

    _check_trusted = field_validator("trusted")(classmethod(lambda cls, v: cidr_networks(v)))

    @model_validator(mode="after")
    def _ports(self) -> SipSettings:
        if self.rtp_port_low >= self.rtp_port_high:
            raise ValueError("rtp_port_low must be below rtp_port_high")
        return self

    @property
    def direct_mode(self) -> bool:
        return not self.registrar


class AgentSettings(Section):
    #: This agent's name, when several agents share one database (README: Scaling out):
    #: each call is stamped with it, its journal is data_dir/journal/<name>, and its
    #: start-up recovery ends only its own interrupted calls. Empty: the site's only agent.
    name: str = Field(default="", pattern=r"^[A-Za-z0-9._-]{0,64}$")
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
    #: HOST:PORT of the agent's small HTTP port: /healthz, /readyz, /metrics
    #: (README: Running as a service). Empty: none.
    health_listen: str = "127.0.0.1:9101"

    @field_validator("health_listen")
    @classmethod
    def _health_listen(cls, value: str) -> str:
        return _hostport(value) if value else value


class OutboundSettings(Section):
    """Calls the agent places (issue 22; recorder/outbound.py): follow-up surveys."""

    #: Off by default: the site turns it on once the numbers and hours are right.
    enabled: bool = False
    #: Local hours (organization.timezone) a resident may be called in.
    hours: str = "09:00-20:00"
    #: No calls on these ISO weekdays (1 Monday ... 7 Sunday) ...
    quiet_weekdays: list[int] = Field(default_factory=list)
    #: ... nor on these dates (YYYY-MM-DD), e.g. public holidays.
    quiet_dates: list[str] = Field(default_factory=list)
    #: At most this many attempts per task, this many minutes apart.
    attempts: int = Field(default=3, ge=1, le=10)
    spacing_minutes: int = Field(default=60, ge=1, le=10080)
    #: A repair's follow-up call is due this many hours after its work is returned done.
    follow_up_after_hours: float = Field(default=24.0, ge=0, le=24 * 14)
    #: Calls placed at once by one agent.
    max_calls: int = Field(default=2, ge=1, le=100)
    #: How long the resident's phone rings before the attempt counts as no answer.
    ring_timeout_s: float = Field(default=40.0, gt=0, le=300)
    #: How long the agent waits for a key after the question (asked twice).
    key_wait_s: float = Field(default=8.0, gt=0, le=60)
    #: The longest spoken comment after the survey's key (it ends sooner on # or a pause).
    comment_s: float = Field(default=30.0, ge=5, le=300)
    #: A pause this long ends the comment.
    comment_silence_s: float = Field(default=4.0, ge=0.5, le=30)
    #: Missed and abandoned calls are called back by the agent (seed 001 篇2 3.1.4-3.1.5):
    #: within this many minutes of the call, in the hours above; it offers the usual menu.
    call_back: bool = False
    call_back_within_minutes: int = Field(default=30, ge=1, le=1440)
    #: How often the agent looks for due tasks.
    poll_s: float = Field(default=30.0, gt=0, le=3600)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        parse_hours(value)
        return value

    @field_validator("quiet_weekdays")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        bad = [day for day in value if not 1 <= day <= 7]
        if bad:
            raise ValueError(f"{bad}: ISO weekdays are 1 (Monday) to 7 (Sunday)")
        return value

    @field_validator("quiet_dates")
    @classmethod
    def _dates(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                date.fromisoformat(item)
            except ValueError:
                raise ValueError(f"{item!r} is not a date such as 2026-10-01") from None
        return value

    def plan(self, timezone: str) -> Plan:
        """The calling rules (recorder/outbound_rules.py) these settings make."""
        start, end = parse_hours(self.hours)
        hours = CallingHours(
            timezone,
            start,
            end,
            frozenset(self.quiet_weekdays),
            frozenset(date.fromisoformat(d) for d in self.quiet_dates),
        )
        return Plan(hours, Attempts(self.attempts, timedelta(minutes=self.spacing_minutes)))


class IvrSettings(Protocol):
    """The sections the agent and the call flow read (hotline.settings.Settings has them)."""

    @property
    def organization(self) -> OrganizationSettings: ...
    @property
    def paths(self) -> PathSettings: ...
    @property
    def sip(self) -> SipSettings: ...
    @property
    def ringing(self) -> RingingSettings: ...
    @property
    def agent(self) -> AgentSettings: ...
    @property
    def content(self) -> ContentSettings: ...
