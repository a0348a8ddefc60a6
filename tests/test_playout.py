"""Playout: received audio is taken a little behind the clock, so late packets are kept.

The fake buffer behaves like the SIP library's receive buffer: audio is
placed by frame number, a read past what arrived returns silence and moves
on, and a packet arriving behind the read cursor is thrown away.
"""

from __future__ import annotations

from ivr.playout import Playout

FRAME = 4
NEW_SOURCE_AT = 250


class TimelineBuffer:
    def __init__(self) -> None:
        self.frames: dict[int, bytes] = {}
        self.cursor = 0  # frame index of the next read
        self.dropped: list[int] = []

    def arrive(self, n: int) -> None:
        if n == NEW_SOURCE_AT:  # a new RTP source: the library starts its buffer afresh here
            self.frames.clear()
            self.cursor = n
        if n < self.cursor:
            self.dropped.append(n)
            return
        self.frames[n] = bytes([n % 250 + 1]) * FRAME

    def buffered(self) -> int:
        if not self.frames:
            return 0
        return max(0, (max(self.frames) + 1 - self.cursor) * FRAME)

    def read(self, size: int) -> bytes:
        out = b""
        for _ in range(size // FRAME):
            out += self.frames.pop(self.cursor, b"\x00" * FRAME)
            self.cursor += 1
        return out


def run(arrivals: dict[int, list[int]], ticks: int, **kw: int) -> tuple[bytes, TimelineBuffer]:
    """arrivals: tick -> frame numbers arriving just before that tick."""
    buf = TimelineBuffer()
    playout = Playout(buf.read, buf.buffered, FRAME, **kw)
    taken = b""
    for t in range(ticks):
        for n in arrivals.get(t, []):
            buf.arrive(n)
        taken += playout.tick()
    return taken + playout.drain(), buf


def frames_of(data: bytes) -> list[int]:
    return [data[i] - 1 if data[i] else -1 for i in range(0, len(data), FRAME)]


def test_steady_packets_are_taken_in_order_with_nothing_lost() -> None:
    taken, buf = run({t: [t] for t in range(50)}, 50)
    assert frames_of(taken) == list(range(50))
    assert buf.dropped == []


def test_a_receiving_thread_100_ms_late_loses_nothing() -> None:
    # Frames 10..14 arrive together five ticks late (a busy machine): all kept.
    arrivals = {t: [t] for t in range(50) if not 10 <= t < 15}
    arrivals[15] = [10, 11, 12, 13, 14, 15]
    taken, buf = run(arrivals, 50)
    assert frames_of(taken) == list(range(50))
    assert buf.dropped == []


def test_a_reordered_packet_lands_in_its_place() -> None:
    arrivals = {t: [t] for t in range(30)}
    arrivals[20], arrivals[21] = [21], [20]
    taken, _ = run(arrivals, 30)
    assert frames_of(taken) == list(range(30))


def test_a_lost_packet_is_silence_in_its_place_and_the_rest_keeps_time() -> None:
    arrivals = {t: [t] for t in range(30) if t != 7}
    taken, _ = run(arrivals, 30)
    assert frames_of(taken) == [-1 if n == 7 else n for n in range(30)]


def test_when_the_caller_stops_sending_silence_keeps_the_recording_on_the_clock() -> None:
    # Audio for 10 frames, then nothing for 100 ticks (hold, silence suppression).
    taken, _ = run({t: [t] for t in range(10)}, 110, max_lag=15)
    assert len(taken) == 110 * FRAME  # as long as the call
    assert frames_of(taken)[:10] == list(range(10))
    assert set(frames_of(taken)[10:]) == {-1}


def test_packets_later_than_the_lag_limit_give_way_to_silence() -> None:
    arrivals = {t: [t] for t in range(60) if not 10 <= t < 40}
    arrivals[40] = list(range(10, 41))  # 600 ms late: the oldest are past the limit
    taken, buf = run(arrivals, 60, max_lag=15)
    got = frames_of(taken)
    assert len(got) == 60
    assert got[:10] == list(range(10)) and got[-20:] == list(range(40, 60))
    assert buf.dropped  # too late to keep, said so by the buffer, not silently shifted


def test_drain_keeps_the_held_back_tail_when_the_caller_hangs_up() -> None:
    buf = TimelineBuffer()
    playout = Playout(buf.read, buf.buffered, FRAME)
    taken = b""
    for t in range(10):
        buf.arrive(t)
        taken += playout.tick()
    assert len(taken) < 10 * FRAME  # the hold is still buffered
    taken += playout.drain()
    assert frames_of(taken) == list(range(10))


def test_after_a_silent_start_late_packets_are_still_kept() -> None:
    """A caller who sends nothing for 5 s (menu, prompts), then speaks: the reader is
    behind the clock, and must still keep its hold rather than read at the edge,
    where every packet a little late would be replaced by silence (seen: 0.83)."""
    arrivals: dict[int, list[int]] = {}
    for t in range(250, 400):  # a new RTP source (SSRC) from tick 250: the speech
        if t % 10 == 5:
            continue  # every tenth packet comes one tick late
        arrivals.setdefault(t, []).append(t)
        if t % 10 == 4:
            arrivals.setdefault(t + 2, []).append(t + 1)
    taken, buf = run(arrivals, 420)
    got = [f for f in frames_of(taken) if f >= 0]
    assert got == [t % 250 for t in range(250, 400)] and buf.dropped == []
