"""UDP datagrams and RTP packets read back from a tshark capture, for tests and benches.

The RTP header is parsed here from `udp.payload`, not taken from tshark's `rtp.*` fields:
tshark's RTP heuristic took streams sent to an odd port for RTCP, and the calls' ports are
whatever is free, so they cannot be named to it in advance (`-d udp.port==N,rtp`).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RTCP_TYPES = range(72, 77)
"""RTCP packet types 200-204 with the top bit masked off, where RTP has its payload type."""


@dataclass(frozen=True)
class Datagram:
    at: float
    """frame.time_epoch, s."""
    src: int
    dst: int
    payload: bytes


@dataclass(frozen=True)
class RtpPacket:
    at: float
    src: int
    dst: int
    seq: int
    timestamp: int
    payload_type: int
    marker: bool
    body: bytes
    """What follows the fixed header and the CSRC list (a header extension is not skipped)."""


def udp_datagrams(
    capture: Path,
    display_filter: str | None = None,
    *,
    payload: bool = True,
    tshark: str = "tshark",
    timeout: float | None = None,
) -> list[Datagram]:
    """Every UDP datagram in the capture (after `display_filter`), in capture order;
    `payload=False` leaves the payload out (empty), which keeps large captures quick."""
    fields = ["frame.time_epoch", "udp.srcport", "udp.dstport"]
    fields += ["udp.payload"] if payload else []
    argv = [tshark, "-r", str(capture), *(["-Y", display_filter] if display_filter else [])]
    out = subprocess.run(
        [*argv, "-T", "fields", *(arg for name in fields for arg in ("-e", name))],
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    ).stdout
    datagrams = []
    for line in out.splitlines():
        at, src, dst, data = [*line.split("\t"), "", "", ""][:4]
        datagrams.append(
            Datagram(float(at), int(src), int(dst), bytes.fromhex(data.replace(":", "")))
        )
    return datagrams


def rtp_packets(
    capture: Path,
    display_filter: str = "udp and not sip",
    *,
    skip_rtcp: bool = False,
    tshark: str = "tshark",
    timeout: float | None = None,
) -> list[RtpPacket]:
    """The datagrams that carry RTP version 2, in capture order; `skip_rtcp` also drops
    those whose second byte reads as an RTCP packet type (200-204)."""
    packets = []
    for d in udp_datagrams(capture, display_filter, tshark=tshark, timeout=timeout):
        raw = d.payload
        if len(raw) < 12 or raw[0] >> 6 != 2:
            continue  # not RTP version 2
        if skip_rtcp and raw[1] & 0x7F in RTCP_TYPES:
            continue
        packets.append(
            RtpPacket(
                at=d.at,
                src=d.src,
                dst=d.dst,
                seq=int.from_bytes(raw[2:4], "big"),
                timestamp=int.from_bytes(raw[4:8], "big"),
                payload_type=raw[1] & 0x7F,
                marker=bool(raw[1] >> 7),
                body=raw[12 + 4 * (raw[0] & 0x0F) :],
            )
        )
    return packets


def rtp_streams(packets: list[RtpPacket]) -> dict[tuple[int, int], np.ndarray]:
    """(source port, destination port) -> float rows of (time, seq, timestamp, pt, marker),
    in capture order."""
    rows: dict[tuple[int, int], list[list[float]]] = {}
    for p in packets:
        rows.setdefault((p.src, p.dst), []).append(
            [p.at, p.seq, p.timestamp, p.payload_type, int(p.marker)]
        )
    return {key: np.array(value) for key, value in rows.items()}
