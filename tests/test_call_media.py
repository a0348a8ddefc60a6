"""CallMedia on its own: the flow's actions become audio, keys and reports.

The fake call shipped beside the Call protocol (ivr.phone_fake) stands in for
rfcvoip here (the real one is in tests/sip/test_flow_calls.py); the loop runs on
its real 20 ms clock, so the audio here is kept short.
"""

from __future__ import annotations

import threading
import wave
from pathlib import Path

import numpy as np

from ivr.call_media import CallMedia, tone
from ivr.call_recording import Recorders
from ivr.flow_events import Digit, Event, FarEndAnswered, HungUp, PromptFinished, Silence
from ivr.phone_fake import FakeCall
from recorder.wav import WavWriter

FRAME = 320


def speech(seconds: float, level: float = 6000) -> bytes:
    rng = np.random.default_rng(7)
    return (rng.standard_normal(int(8000 * seconds)) * level).astype("<i2").tobytes()


class Harness:
    def __init__(self, tmp_path: Path, call: FakeCall, dial: FakeCall | None = None) -> None:
        self.events: list[Event] = []
        self.done = threading.Event()
        self.files: list[tuple[int, str, Path]] = []
        self.closed: list[Path] = []

        def open_recording(channels: int, label: str) -> WavWriter:
            path = tmp_path / f"{len(self.files)}-{label}.wav"
            self.files.append((channels, label, path))
            return WavWriter(path, channels=channels)

        def close(writer: WavWriter) -> None:
            self.closed.append(writer.close().path)

        self.media = CallMedia(
            call,  # type: ignore[arg-type]
            prompts=lambda _name, text: tone(len(text) / 100, level=3000),
            dial=lambda _uri: dial,  # type: ignore[arg-type,return-value]
            recorders=Recorders(open_recording, close),
            stopping=threading.Event(),
        )
        self.media.mono = open_recording(1, "caller")
        self.media.attach(self.feed)
        self.react: dict[type, object] = {}

    def feed(self, event: Event) -> None:
        self.events.append(event)
        action = self.react.get(type(event))
        if callable(action):
            action(event)

    def run(self, timeout: float = 10) -> None:
        thread = threading.Thread(target=self.media.run, args=(self.done,))
        thread.start()
        thread.join(timeout)
        assert not thread.is_alive(), "the media loop did not end"


def test_a_prompt_is_sent_whole_then_reported_finished(tmp_path: Path) -> None:
    call = FakeCall()
    h = Harness(tmp_path, call)
    h.react[PromptFinished] = lambda _e: h.media.hangup("done")
    h.media.play("greeting", "x" * 30, barge_in=False)  # 0.3 s of tone
    h.run()
    assert PromptFinished("greeting") in h.events
    assert bytes(call.sent[: len(tone(0.3, level=3000))]) == tone(0.3, level=3000)
    assert call.hung_up  # hangup waits for the prompt, then BYE


def test_keys_reach_the_flow_in_order_and_stop_playing_cuts_the_prompt(tmp_path: Path) -> None:
    call = FakeCall()
    h = Harness(tmp_path, call)
    h.media.play("menu", "x" * 500, barge_in=True)  # 5 s: cut short below

    def on_key(event: Event) -> None:
        assert isinstance(event, Digit)
        if event.digit == "#":
            h.media.stop_playing()
            h.media.hangup("done")

    h.react[Digit] = on_key
    threading.Timer(0.2, lambda: setattr(call, "keys", "1#")).start()
    h.run()
    assert [e.digit for e in h.events if isinstance(e, Digit)] == ["1", "#"]
    assert PromptFinished("menu") not in h.events
    assert len(call.sent) < 8000 * 2  # well under the 5 s prompt


def test_silence_while_taking_a_message_is_reported_and_the_message_recorded(
    tmp_path: Path,
) -> None:
    said = speech(0.5)
    call = FakeCall(incoming=said)  # half a second of speech, then nothing
    h = Harness(tmp_path, call)
    h.react[Silence] = lambda _e: h.media.hangup("silence")
    h.media.start_recording(max_s=30, silence_s=0.5, stop_digit="#")
    h.run()
    (silence,) = [e for e in h.events if isinstance(e, Silence)]
    assert silence.seconds >= 0.5
    with wave.open(str(h.closed[0])) as wav:
        recorded = wav.readframes(wav.getnframes())
    assert recorded.startswith(said)  # every byte the caller sent, in order


def test_the_caller_hanging_up_is_reported_once(tmp_path: Path) -> None:
    call = FakeCall()
    h = Harness(tmp_path, call)
    h.react[HungUp] = lambda _e: h.done.set()
    h.media.play("greeting", "x" * 300, barge_in=False)
    threading.Timer(0.2, lambda: setattr(call, "ended", True)).start()
    h.run()
    assert [e for e in h.events if isinstance(e, HungUp)] == [HungUp("caller")]
    assert not call.hung_up  # nobody to send a BYE to


def test_a_bridged_clerk_is_whispered_to_then_both_sides_recorded_in_two_channels(
    tmp_path: Path,
) -> None:
    caller_said, clerk_said = speech(0.6, 5000), speech(0.6, 9000)[::-1]
    call = FakeCall()
    clerk = FakeCall("leg-1")
    clerk.answered = False
    h = Harness(tmp_path, call, dial=clerk)

    def answered(_event: Event) -> None:
        h.media.bridge("clerk-1")
        # Phones keep sending while nobody speaks: silence after the words.
        call.incoming += caller_said + bytes(8000)
        clerk.incoming += clerk_said + bytes(8000)
        threading.Timer(1.0, lambda: setattr(clerk, "ended", True)).start()

    h.react[FarEndAnswered] = answered
    h.react[HungUp] = lambda _e: h.media.hangup("clerk left")
    h.media.dial("clerk-1", "sip:8002@127.0.0.1", "x" * 20, timeout_s=20)
    threading.Timer(0.1, lambda: setattr(clerk, "answered", True)).start()
    h.run()
    assert FarEndAnswered("clerk-1") in h.events and HungUp("clerk") in h.events
    whisper = tone(0.2, level=3000)
    assert bytes(clerk.sent).startswith(whisper)  # the whisper, to the clerk only
    assert caller_said in bytes(clerk.sent)  # the caller's words reach the clerk
    assert clerk_said in bytes(call.sent)  # and the clerk's the caller
    ((_channels, label, path),) = [f for f in h.files if f[0] == 2]
    assert label == "caller,staff" and path in h.closed
    with wave.open(str(path)) as wav:
        both = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    left, right = both[0::2].tobytes(), both[1::2].tobytes()
    assert left.startswith(caller_said) and right.startswith(clerk_said)  # sample-aligned
