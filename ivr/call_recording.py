"""The recordings of one call's media (moved out of ivr/call_media.py): how the agent opens
and closes them (`Recorders`), and the two-channel file of a bridged call (`StereoWriter`:
left the caller, right the clerk, sample-aligned)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from recorder.wav import WavWriter


@dataclass
class Recorders:
    """Opens and closes the call's recordings; the agent supplies how."""

    open: Callable[[int, str], WavWriter | None]
    """open(channels, label) -> writer, or None when it cannot (disk full: the call goes on)."""
    close: Callable[[WavWriter], None]
    failed: Callable[[str], None] = lambda _reason: None
    """failed(reason): a write failed mid-call: the alarm for the admin."""


@dataclass
class StereoWriter:
    writer: WavWriter
    left: bytearray = field(default_factory=bytearray)
    right: bytearray = field(default_factory=bytearray)
    swapped: bool = False  # the call's own side is the staff's (a desk call-back)

    def write(self, caller: bytes, clerk: bytes) -> None:
        if self.swapped:
            caller, clerk = clerk, caller
        self.left += caller
        self.right += clerk
        n = min(len(self.left), len(self.right)) // 2 * 2
        if n:
            both = np.empty(n, dtype="<i2")
            both[0::2] = np.frombuffer(bytes(self.left[:n]), dtype="<i2")
            both[1::2] = np.frombuffer(bytes(self.right[:n]), dtype="<i2")
            self.writer.write(both.tobytes())
            del self.left[:n], self.right[:n]

    def flush(self) -> None:
        n = max(len(self.left), len(self.right))
        self.write(b"\x00" * (n - len(self.left)), b"\x00" * (n - len(self.right)))
