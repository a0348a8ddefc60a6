"""How long the call flow takes from a DTMF key to its actions, and calls per second.

Only the flow and its runner (ivr/flow.py, ivr/flow_runner.py) with a media
that does nothing: the time the real agent adds to detect an RFC 2833 event
is measured on the agent itself. Run by hand:

    .venv/bin/python bench/flow_dtmf.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time

from hotline.content import Content, load_content
from hotline.settings import Settings
from ivr.flow import CallFlow
from ivr.flow_config import FlowConfig, load_flow
from ivr.flow_dial import Clerk
from ivr.flow_events import Answered, Digit, PromptFinished
from ivr.flow_runner import FlowRunner
from ivr.flow_timers import ManualScheduler

#: What each figure must beat: one RTP packet (20 ms) per key, and the
#: agent's default call limit (sip.max_calls = 20) set up within a second.
BASELINE_KEY_MS = 20.0
BASELINE_CALLS_PER_S = 20.0


class NullMedia:
    """Finishes every prompt at once and does nothing else."""

    runner: FlowRunner

    def play(self, prompt_name: str, text: str, barge_in: bool) -> None:
        self.runner.feed(PromptFinished(prompt_name))

    def stop_playing(self) -> None: ...
    def beep(self) -> None: ...
    def start_recording(self, max_s: float, silence_s: float, stop_digit: str) -> None: ...
    def stop_recording(self) -> None: ...
    def dial(self, leg: str, uri: str, whisper_text: str, timeout_s: float) -> None: ...
    def drop_leg(self, leg: str) -> None: ...
    def bridge(self, leg: str) -> None: ...
    def hangup(self, cause: str) -> None: ...


def one_call(
    flow: FlowConfig, content: Content, roster: list[Clerk], digit: str
) -> tuple[int, int]:
    """Nanoseconds for the menu key and for the stop key of one message call."""
    media = NullMedia()
    runner = FlowRunner(CallFlow(flow, content, roster), media, ManualScheduler())
    media.runner = runner
    runner.feed(Answered())
    start = time.perf_counter_ns()
    runner.feed(Digit(digit))
    menu_ns = time.perf_counter_ns() - start
    start = time.perf_counter_ns()
    runner.feed(Digit("#"))
    stop_ns = time.perf_counter_ns() - start
    assert runner.done.is_set()
    return menu_ns, stop_ns


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    settings = Settings()
    content = load_content(settings)
    flow = load_flow(settings, content)
    roster = [Clerk("8101", 1), Clerk("8102", 2)]
    keys_ms: list[float] = []
    started = time.perf_counter()
    for n in range(args.calls):
        menu_ns, stop_ns = one_call(flow, content, roster, "123"[n % 3])
        keys_ms += [menu_ns / 1e6, stop_ns / 1e6]
    per_s = args.calls / (time.perf_counter() - started)
    rows = [
        ("key -> actions p50 (ms)", statistics.median(keys_ms), f"< {BASELINE_KEY_MS}"),
        ("key -> actions p99 (ms)", percentile(keys_ms, 99), f"< {BASELINE_KEY_MS}"),
        ("key -> actions max (ms)", max(keys_ms), f"< {BASELINE_KEY_MS}"),
        ("whole calls per second", per_s, f"> {BASELINE_CALLS_PER_S}"),
    ]
    print(f"{'metric':<28}{'measured':>12}{'baseline':>12}")
    for name, value, baseline in rows:
        print(f"{name:<28}{value:>12.3f}{baseline:>12}")


if __name__ == "__main__":
    main()
