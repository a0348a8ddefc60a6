"""RFC 3550 receive statistics (ivr/rtp_stats.py) on made-up packet sequences.

Each case feeds (sequence, timestamp, arrival) triples as a 20 ms G.711 stream
would carry them and checks the triple the call log keeps for the call.
"""

from __future__ import annotations

import pytest

from ivr.rtp_stats import ReceiveStats, header
from recorder.calls import RtpStats

STEP = 160  # timestamp units per 20 ms packet at 8 kHz
SSRC = 0x1234ABCD


def _feed(
    stats: ReceiveStats,
    seqs: list[int],
    first_seq: int = 1000,
    first_ts: int = 5000,
    arrivals: list[float] | None = None,
    ssrc: int = SSRC,
) -> None:
    """Packet n of the list carries sequence seqs[n], its own timestamp, and arrives on time
    (or at arrivals[n])."""
    for n, seq in enumerate(seqs):
        offset = seq - first_seq
        timestamp = (first_ts + offset * STEP) % (1 << 32)
        arrival = arrivals[n] if arrivals else 100.0 + 0.020 * offset
        stats.packet(ssrc, seq % (1 << 16), timestamp, arrival, audio=True)


def test_nothing_received_is_no_figure() -> None:
    assert ReceiveStats().result() is None


def test_a_steady_stream_has_no_loss_and_no_jitter() -> None:
    stats = ReceiveStats()
    _feed(stats, list(range(1000, 1500)))
    assert stats.result() == RtpStats(packets_received=500, packets_lost=0, jitter_ms=0.0)


@pytest.mark.parametrize(
    ("seqs", "received", "lost"),
    [
        # One packet lost in the middle.
        ([*range(1000, 1050), *range(1051, 1100)], 99, 1),
        # Sequence numbers wrap at 65535 -> 0: nothing lost.
        (list(range(65500, 65600)), 100, 0),
        # A loss right at the wrap: 65535 never arrives.
        ([*range(65500, 65535), *range(65536, 65600)], 99, 1),
        # Reordered: 1011 comes after 1012, nothing lost in the end.
        ([*range(1000, 1011), 1012, 1011, *range(1013, 1050)], 50, 0),
        # Reordered across the wrap.
        ([*range(65530, 65535), 65536, 65535, *range(65537, 65540)], 10, 0),
        # Duplicates are not received twice and hide no loss: 1020 doubled, 1030 lost.
        ([*range(1000, 1021), 1020, *range(1021, 1030), *range(1031, 1040)], 39, 1),
        # A late duplicate, after the stream went on.
        ([*range(1000, 1030), 1005, *range(1030, 1040)], 40, 0),
        # The last packets lost are not known to be lost (RFC 3550 counts to the highest).
        (list(range(1000, 1040)), 40, 0),
    ],
)
def test_received_and_lost_follow_rfc_3550_a3(seqs: list[int], received: int, lost: int) -> None:
    stats = ReceiveStats()
    _feed(stats, seqs, first_seq=seqs[0])
    result = stats.result()
    assert result is not None
    assert (result.packets_received, result.packets_lost) == (received, lost)
    assert result.jitter_ms < 1.0  # arrivals on time (a late one moves J by a little)


def test_a_sender_that_restarts_its_sequence_keeps_what_was_counted() -> None:
    """A jump of more than MAX_DROPOUT is taken as a restart once the next packet follows
    it (RFC 3550 A.1); the packet that announced it is not counted, nothing is lost."""
    stats = ReceiveStats()
    _feed(stats, list(range(1000, 1050)))
    _feed(stats, list(range(40000, 40050)), first_seq=40000, first_ts=90000)
    result = stats.result()
    assert result is not None
    assert (result.packets_received, result.packets_lost) == (99, 0)


def test_a_single_stray_jump_is_ignored() -> None:
    stats = ReceiveStats()
    _feed(stats, [*range(1000, 1020), 30000, *range(1020, 1040)])
    result = stats.result()
    assert result is not None
    assert (result.packets_received, result.packets_lost) == (40, 0)


def test_jitter_of_a_constant_delay_is_zero() -> None:
    stats = ReceiveStats()
    arrivals = [100.5 + 0.020 * n for n in range(200)]  # every packet 500 ms late, alike
    _feed(stats, list(range(1000, 1200)), arrivals=arrivals)
    result = stats.result()
    assert result is not None and result.jitter_ms == 0.0


def test_jitter_of_alternating_arrivals_converges_to_the_rfc_3550_figure() -> None:
    """Packets alternately 0 and 4 ms late: |D| = 4 ms for every pair, so J -> 4 ms."""
    stats = ReceiveStats()
    arrivals = [100.0 + 0.020 * n + (0.004 if n % 2 else 0.0) for n in range(400)]
    _feed(stats, list(range(1000, 1400)), arrivals=arrivals)
    result = stats.result()
    assert result is not None and result.jitter_ms == pytest.approx(4.0, abs=0.01)


def test_jitter_follows_a8_step_by_step() -> None:
    """J += (|D| - J) / 16, in timestamp units, reported in ms."""
    stats = ReceiveStats()
    arrivals = [0.000, 0.020, 0.050, 0.060]  # transit differences: 0, +80, -80 samples
    _feed(stats, [1, 2, 3, 4], first_seq=1, arrivals=arrivals)
    expected = 0.0
    for d in (0, 80, 80):
        expected += (d - expected) / 16
    result = stats.result()
    assert result is not None and result.jitter_ms == pytest.approx(expected / 8, abs=1e-3)


def test_timestamps_that_wrap_do_not_look_like_jitter() -> None:
    stats = ReceiveStats()
    _feed(stats, list(range(1000, 1100)), first_ts=(1 << 32) - 50 * STEP)
    result = stats.result()
    assert result is not None and result.jitter_ms == 0.0


def test_key_presses_count_as_packets_but_not_for_jitter() -> None:
    """RFC 4733 packets repeat the press's start timestamp: no jitter from them."""
    stats = ReceiveStats()
    for n in range(50):
        stats.packet(SSRC, n, 8000 + n * STEP, 10.0 + 0.02 * n, audio=True)
    for n in range(50, 62):
        stats.packet(SSRC, n, 8000 + 50 * STEP, 10.0 + 0.02 * n, audio=False)
    assert stats.result() == RtpStats(62, 0, 0.0)


def test_a_second_source_adds_its_packets() -> None:
    """A new SSRC (the far end switched media servers): counted beside the first."""
    stats = ReceiveStats()
    _feed(stats, [*range(0, 10), *range(11, 20)], first_seq=0)
    _feed(stats, list(range(500, 530)), first_seq=500, ssrc=7)
    assert stats.result() == RtpStats(49, 1, 0.0)


@pytest.mark.parametrize(
    ("packet", "parsed"),
    [
        (
            bytes([0x80, 0x00, 0x12, 0x34, 0, 0, 0x01, 0x40, 0, 0, 0, 9]) + b"\xff" * 160,
            (0, 0x1234, 320, 9),
        ),
        (
            bytes([0x80, 0xE5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4]),
            (101, 0xFFFF, 0xFFFFFFFF, 0x01020304),
        ),
        (bytes([0x40, 0x00]) + bytes(10), None),  # version 1
        (bytes(11), None),  # too short
    ],
)
def test_header(packet: bytes, parsed: tuple[int, int, int, int] | None) -> None:
    assert header(packet) == parsed
