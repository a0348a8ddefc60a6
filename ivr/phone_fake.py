"""Fakes of `ivr.phone.Phone` and `ivr.phone.Call` for unit tests: audio in from a
buffer, audio out into one, keys pressed by the test, no socket."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from ivr.phone import FRAME_BYTES
from recorder.calls import RtpStats


class FakeCall:
    """A call that is answered and carries what the test puts in `incoming` and `keys`;
    what the agent sends collects in `sent`."""

    def __init__(self, call_id: str = "c1", incoming: bytes = b"") -> None:
        self.call_id = call_id
        self.caller: str | None = "13800138000"
        self.called: str | None = "agent"
        self.sent = bytearray()
        self.incoming = bytearray(incoming)
        self.keys = ""
        self.ended = False
        self.answered = True
        self.hung_up = False
        self.denied = False
        self.live = False
        self.final_status: int | None = None
        self.media_fault: str | None = None
        self.cancel_reasons: tuple[str, ...] = ()
        self._plays: deque[list[int | bytes]] = deque()  # [id, audio] being played
        self._played_to = time.monotonic()
        self._finished: list[int] = []
        self._ids = 0
        self.cancel_headers: tuple[tuple[str, str], ...] = ()

    def answer(self) -> bool:
        self.answered = True
        return not self.ended

    def deny(self) -> None:
        self.denied = self.ended = True

    def write(self, pcm16: bytes) -> None:
        self._advance()
        self.sent += pcm16

    def play(self, pcm16: bytes) -> int:
        """As a media plane would: the prompt goes into `sent` as the real clock passes
        (16,000 bytes a second), after what is queued."""
        self._advance()
        if not self._plays:
            self._played_to = time.monotonic()
        self._ids += 1
        self._plays.append([self._ids, pcm16])
        return self._ids

    def stop_play(self) -> None:
        self._advance()
        self._plays.clear()

    def finished_plays(self) -> list[int]:
        self._advance()
        done, self._finished = self._finished, []
        return done

    def _advance(self) -> None:
        now = time.monotonic()
        budget = int((now - self._played_to) * 16000) // 2 * 2
        self._played_to = now
        while self._plays and budget > 0:
            play_id, audio = self._plays[0]
            assert isinstance(audio, bytes) and isinstance(play_id, int)
            taken = audio[:budget]
            self.sent += taken
            budget -= len(taken)
            if len(taken) == len(audio):
                self._plays.popleft()
                self._finished.append(play_id)
            else:
                self._plays[0][1] = audio[len(taken) :]

    def buffered(self) -> int:
        return len(self.incoming)

    def read(self, size: int = FRAME_BYTES) -> bytes:
        data = bytes(self.incoming[:size]).ljust(size, b"\x00")
        del self.incoming[:size]
        return data

    def dtmf_digits(self) -> str:
        keys, self.keys = self.keys, ""
        return keys

    def send_dtmf(self, digits: str) -> bool:
        return True

    def hangup(self) -> None:
        self._advance()
        self.hung_up = True

    def live_audio(self) -> None:
        self.live = True

    def cancel_or_hangup(self) -> None:
        self.ended = True

    def codec(self) -> str | None:
        return "PCMU"

    def rtp_stats(self) -> RtpStats | None:
        return None


class FakePhone:
    """Dials by handing out the calls the test prepared for each URI (a fresh
    `FakeCall` otherwise); `ring(call)` hands an incoming call to the callback."""

    def __init__(self, on_call: Callable[[FakeCall], object] = lambda _call: None) -> None:
        self.on_call = on_call
        self.prepared: dict[str, FakeCall] = {}
        self.dialled: list[str] = []
        self.running = False

    def start(self, timeout: float = 10.0) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def call(self, uri: str) -> FakeCall:
        self.dialled.append(uri)
        return self.prepared.get(uri) or FakeCall(f"out-{len(self.dialled)}")

    def ring(self, call: FakeCall) -> None:
        self.on_call(call)
