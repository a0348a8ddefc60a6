"""What the composition root hands the phone agent (ivr/agent.py), moved out of it: the
`Script` it speaks (greeting, closing, the estates' greetings), the `FlowSetup` of the
call flow, and the `Clock` it keeps time by."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ivr.estates import EstateFor, EstateGreeting
from ivr.flow_config import FlowConfig
from ivr.flow_dial import Clerk
from ivr.flow_timers import Scheduler
from ivr.phone import Call
from ivr.schedule import Schedule
from ivr.script import ScriptContent


@dataclass(frozen=True)
class Script:
    greeting: bytes
    closing: bytes
    estates: EstateGreeting | None = None
    """The greeting of the estate a call reached (issue 23); None: the company's, always."""


@dataclass(frozen=True)
class FlowSetup:
    """What the agent needs to run the call flow (agent.mode = "flow"); see ivr/flow_runner.py."""

    config: FlowConfig
    content: ScriptContent
    schedule: Schedule
    scheduler: Scheduler
    roster: Callable[[str | None], list[Clerk]]
    """The duty clerks of the estate called (its code; None: the company's), read afresh
    for every call."""
    prompts: Callable[[str, str], bytes]
    """(name, text) -> 8 kHz 16-bit audio; cached, synthesised at start-up."""
    dial: Callable[[str], Call]
    uri_for: Callable[[str], str]
    estate_for: EstateFor | None = None
    """The called number's estate (ivr/estates.py); None: the company answers every call."""


class Clock:
    """Time for the agent; tests may pass another."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, deadline: float, stop: threading.Event) -> None:
        delay = deadline - time.monotonic()
        if delay > 0:
            stop.wait(delay)
