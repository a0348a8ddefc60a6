"""Each fix the SIP adapter makes to rfcvoip, checked on its own."""

from __future__ import annotations

import contextlib
import socket
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


def _invite(port: int, local_port: int, via_host: str, media_host: str, call_id: str) -> bytes:
    body = (
        f"v=0\r\no=- 1 1 IN IP4 {media_host}\r\ns=-\r\nc=IN IP4 {media_host}\r\nt=0 0\r\n"
        "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )
    return (
        f"INVITE sip:agent@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {via_host}:{local_port};rport;branch=z9hG4bK{call_id}\r\n"
        f"From: <sip:caller@127.0.0.1:{local_port}>;tag=1\r\n"
        f"To: <sip:agent@127.0.0.1:{port}>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
        f"Contact: <sip:caller@127.0.0.1:{local_port}>\r\nMax-Forwards: 70\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


def _statuses(sock: socket.socket, quiet: float = 0.5) -> list[str]:
    sock.settimeout(quiet)
    lines = []
    with contextlib.suppress(TimeoutError):
        while True:
            lines.append(sock.recv(65535).decode("utf-8", "replace").split("\r\n", 1)[0])
    return lines


def _phone_and_socket(trusted: list[str]) -> tuple[SipPhone, int, socket.socket, list[str]]:
    port = udp_port()
    calls: list[str] = []
    phone = SipPhone(
        Endpoint("127.0.0.1", port),
        lambda call: calls.append(call.call_id),
        rtp_ports=(31100, 31120),
        trusted=trusted,
    )
    phone.start(timeout=2)
    time.sleep(1.2)  # rfcvoip starts its receive loop 1 s after start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return phone, port, sock, calls


def test_fix_8_a_message_the_library_chokes_on_does_not_stop_the_receiver() -> None:
    """An INVITE without From made rfcvoip's receive thread die (PROTOS case 0000360):
    the agent stayed up but never heard another request. What is kept: the next call."""
    phone, port, sock, calls = _phone_and_socket(["127.0.0.0/8"])
    try:
        local = sock.getsockname()[1]
        broken = b"\r\n".join(
            line
            for line in _invite(port, local, "127.0.0.1", "127.0.0.1", "nofrom").split(b"\r\n")
            if not line.startswith(b"From:")
        )
        sock.sendto(broken, ("127.0.0.1", port))
        _statuses(sock, 0.3)
        sock.sendto(_invite(port, local, "127.0.0.1", "127.0.0.1", "good"), ("127.0.0.1", port))
        assert "SIP/2.0 100 Trying" in _statuses(sock)
        assert calls == ["good"]
    finally:
        phone.stop()
        sock.close()


def test_fix_9_trust_is_decided_by_the_packet_source_not_the_via_header() -> None:
    """A caller on 127.0.0.1 writing a trusted address into Via gets no call."""
    phone, port, sock, calls = _phone_and_socket(["10.0.0.0/8"])
    try:
        local = sock.getsockname()[1]
        sock.sendto(_invite(port, local, "10.1.2.3", "127.0.0.1", "spoof"), ("127.0.0.1", port))
        time.sleep(0.5)
        assert calls == []
    finally:
        phone.stop()
        sock.close()


def test_fix_10_an_unusable_media_address_is_refused_with_488() -> None:
    phone, port, sock, calls = _phone_and_socket(["127.0.0.0/8"])
    try:
        local = sock.getsockname()[1]
        sock.sendto(_invite(port, local, "127.0.0.1", "10.10.10.%00", "bad-c"), ("127.0.0.1", port))
        assert "SIP/2.0 488 Not Acceptable Here" in _statuses(sock)
        assert calls == []
    finally:
        phone.stop()
        sock.close()


def test_fix_11_a_contact_that_is_no_sip_uri_is_refused_with_400() -> None:
    """PROTOS case 0001513: the library would end such a call with a BYE that is no SIP."""
    phone, port, sock, calls = _phone_and_socket(["127.0.0.0/8"])
    try:
        local = sock.getsockname()[1]
        invite = _invite(port, local, "127.0.0.1", "127.0.0.1", "bad-contact").replace(
            b"Contact: <sip:", b"Contact: <<<<<<<<sip:"
        )
        sock.sendto(invite, ("127.0.0.1", port))
        assert "SIP/2.0 400 Bad Request" in _statuses(sock)
        assert calls == []
    finally:
        phone.stop()
        sock.close()
