"""A simulated call for flow tests: the real flow and runner, a FakeMedia, manual time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hotline.content import Content
from ivr.flow import CallContext, CallFlow
from ivr.flow_config import FlowConfig
from ivr.flow_dial import Clerk
from ivr.flow_events import Answered, Event
from ivr.flow_fake import FakeMedia
from ivr.flow_runner import FlowRunner
from ivr.flow_timers import ManualScheduler

CLERKS = (Clerk("8101", 1, "王芳"), Clerk("8102", 2, "李强"), Clerk("8103", 3, "张敏"))


class SimulatedCall:
    """One call through the real flow and runner; the test plays caller and clerks."""

    def __init__(
        self,
        flow: FlowConfig,
        content: Content,
        roster: Sequence[Clerk] = CLERKS,
        context: CallContext | None = None,
        auto_finish: bool = True,
        on_stage: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        # The simulated agent has a VAD unless the test says otherwise.
        self.machine = CallFlow(flow, content, roster, context or CallContext(vad=True))
        self.media = FakeMedia(auto_finish=auto_finish)
        self.clock = ManualScheduler()
        self.runner = FlowRunner(
            self.machine,
            self.media,
            self.clock,
            uri_for=lambda ext: f"sip:{ext}@127.0.0.1:5060",
            on_stage=on_stage,
        )
        self.media.runner = self.runner

    def answer(self) -> SimulatedCall:
        self.feed(Answered())
        return self

    def feed(self, event: Event) -> None:
        self.runner.feed(event)

    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @property
    def outcome(self) -> dict[str, Any]:
        return self.runner.outcome

    @property
    def done(self) -> bool:
        return self.runner.done.is_set()

    def kinds(self) -> list[str]:
        return [entry[0] for entry in self.media.log]
