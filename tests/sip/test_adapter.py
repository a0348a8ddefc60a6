"""Each fix the SIP adapter makes to rfcvoip, checked on its own."""

from __future__ import annotations

import time

from ivr.sip_adapter import Endpoint, SipPhone, _Phone, unique_call_id
from tests.sip.conftest import udp_port


def test_fix_1_the_application_sees_a_call_at_once() -> None:
    seen: list[float] = []

    class FakeCall:
        call_id = "x"
        phone = None
        state = None

    start = time.monotonic()
    _Phone._run_call_callback(
        lambda _c: seen.append(time.monotonic() - start), FakeCall(), delay=1.0
    )
    assert seen and seen[0] < 0.1  # the library would have slept 1 s


def test_fix_2_direct_mode_does_not_register() -> None:
    phone = SipPhone(Endpoint("127.0.0.1", udp_port()), lambda _c: None, rtp_ports=(31000, 31010))
    phone.start(timeout=2)  # would wait for a REGISTER answer from nobody
    phone.stop()
    assert phone.direct


def test_fix_5_call_ids_are_unique_across_restarts() -> None:
    local = Endpoint("127.0.0.1", 5062)
    ids = {unique_call_id(local) for _ in range(1000)}
    assert len(ids) == 1000 and all(i.endswith("@127.0.0.1:5062") for i in ids)
    first = SipPhone(local, lambda _c: None, rtp_ports=(31000, 31010))
    second = SipPhone(local, lambda _c: None, rtp_ports=(31000, 31010))
    assert first._phone.sip.gen_call_id() != second._phone.sip.gen_call_id()
