"""Each fix the SIP adapter makes to rfcvoip, checked on its own."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from typing import Any

import pytest

from ivr import sip_wire
from ivr.sip import Endpoint, SipCall, SipPhone, packet_time_ms, unique_call_id
from ivr.sip.client import TAGS_KEPT
from ivr.sip.user_agent import _Phone
from tests.sip.conftest import udp_port
from tests.support.processes import wait_until


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


def _cancel(invite: bytes) -> bytes:
    """The CANCEL of an INVITE (RFC 3261 9.1): its Via, From, To, Call-ID and CSeq number."""
    head = invite.split(b"\r\n\r\n", 1)[0].decode()
    lines = head.split("\r\n")
    request_uri = lines[0].split(" ")[1]
    keep = [line for line in lines[1:] if line.split(":", 1)[0] in ("Via", "From", "To", "Call-ID")]
    return "\r\n".join(
        [
            f"CANCEL {request_uri} SIP/2.0",
            *keep,
            "CSeq: 1 CANCEL",
            "Max-Forwards: 70",
            "Content-Length: 0",
            "",
            "",
        ]
    ).encode()


def test_fix_37_a_second_cancel_of_a_cancelled_invite_gets_200_not_481() -> None:
    """Kamailio CANCELs a ring group's losing branch again on its next provisional
    (docs/ring-groups.md); the INVITE's transaction still exists, so RFC 3261 9.2 wants
    200 OK. What is kept: the call ends once, with 487 to its INVITE."""
    phone, port, sock, calls = _phone_and_socket(["127.0.0.0/8"])
    try:
        local = sock.getsockname()[1]
        invite = _invite(port, local, "127.0.0.1", "127.0.0.1", "twice-cancelled")
        sock.sendto(invite, ("127.0.0.1", port))
        assert "SIP/2.0 100 Trying" in _statuses(sock)
        sock.sendto(_cancel(invite), ("127.0.0.1", port))
        first = _statuses(sock)
        assert "SIP/2.0 200 OK" in first and "SIP/2.0 487 Request Terminated" in first, first
        sock.sendto(_cancel(invite), ("127.0.0.1", port))
        assert _statuses(sock) == ["SIP/2.0 200 OK"]
        assert calls == ["twice-cancelled"]
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


# Fixes 12-18: each against the adapter on loopback with a raw UDP socket as the peer.


def _answering_phone(
    *, hang_up_after: float | None = None, **options: Any
) -> tuple[SipPhone, int, socket.socket, list[SipCall]]:
    """A direct-mode phone that answers every call at once (and hangs up after a while)."""
    port = udp_port()
    calls: list[SipCall] = []

    def on_call(call: SipCall) -> None:
        calls.append(call)
        call.answer()
        if hang_up_after is not None:
            time.sleep(hang_up_after)
            call.hangup()

    phone = SipPhone(Endpoint("127.0.0.1", port), on_call, rtp_ports=(31200, 31240), **options)
    phone.start(timeout=2)
    time.sleep(1.2)  # rfcvoip starts its receive loop 1 s after start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return phone, port, sock, calls


def _offer(invite: bytes, media: str, direction: str = "sendrecv", version: int = 1) -> bytes:
    """The INVITE with its SDP's m= section (and direction, o= version) replaced."""
    head, body = invite.split(b"\r\n\r\n", 1)
    start = body.decode().split("m=audio", 1)[0].replace(" 1 1 IN", f" 1 {version} IN")
    sdp = (start + media + f"a={direction}\r\n").encode()
    head = re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % len(sdp), head)
    return head + b"\r\n\r\n" + sdp


def _messages(sock: socket.socket, quiet: float = 0.6) -> list[str]:
    sock.settimeout(quiet)
    out = []
    with contextlib.suppress(TimeoutError):
        while True:
            out.append(sock.recv(65535).decode("utf-8", "replace"))
    return out


def _finals(messages: list[str]) -> list[str]:
    return [m.split("\r\n", 1)[0] for m in messages if m.startswith("SIP/2.0")]


PCMU = "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"


OPUS = "m=audio 40000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n"


@pytest.mark.parametrize(
    ("codecs", "offers"),
    [
        (
            ("PCMU", "PCMA"),
            {
                OPUS: None,
                "m=audio 40000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n": None,
                "m=audio 40000 RTP/AVP 3\r\na=rtpmap:3 GSM/8000\r\n": None,
                OPUS.replace("111\r\n", "111 8\r\n", 1) + "a=rtpmap:8 PCMA/8000\r\n": "PCMA",
            },
        ),
        (("PCMA",), {PCMU: None}),
    ],
)
def test_fix_12_only_the_configured_g711_laws_are_negotiated(
    codecs: tuple[str, ...], offers: dict[str, str | None]
) -> None:
    """rfcvoip answered an opus-only offer with opus (and chose opus over PCMA):
    the 8 kHz recorder cannot take it. What is kept: 488 and no call."""
    phone, port, sock, calls = _answering_phone(codecs=codecs)
    try:
        local = sock.getsockname()[1]
        for n, (media, answered) in enumerate(offers.items()):
            invite = _offer(_invite(port, local, "127.0.0.1", "127.0.0.1", f"codec-{n}"), media)
            sock.sendto(invite, ("127.0.0.1", port))
            finals = _finals([m for m in _messages(sock) if f"codec-{n}" in m])
            if answered is None:
                assert "SIP/2.0 488 Not Acceptable Here" in finals, media
            else:
                assert "SIP/2.0 200 OK" in finals and calls[-1].codec() == answered
        assert len(calls) == len([a for a in offers.values() if a])
    finally:
        phone.stop()
        sock.close()


def _options(port: int, local: int) -> bytes:
    return (
        f"OPTIONS sip:agent@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{local};rport;branch=z9hG4bKopt\r\n"
        f"From: <sip:probe@127.0.0.1:{local}>;tag=9\r\nTo: <sip:agent@127.0.0.1:{port}>\r\n"
        "Call-ID: options-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def test_fix_12_13_options_name_what_the_agent_does() -> None:
    """OPTIONS: Allow without SUBSCRIBE/NOTIFY (answered 501 and 481), SDP with G.711 only."""
    phone, port, sock, _calls = _answering_phone()
    try:
        sock.sendto(_options(port, sock.getsockname()[1]), ("127.0.0.1", port))
        (ok,) = _messages(sock)
        assert ok.startswith("SIP/2.0 200 OK")
        assert "\r\nAllow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n" in ok
        assert "\r\nm=audio 0 RTP/AVP 0 8 101\r\n" in ok and "opus" not in ok
    finally:
        phone.stop()
        sock.close()


def _to_tag(message: str) -> str:
    match = re.search(r"^To: .*;tag=([^;\s]+)", message, re.MULTILINE)
    assert match, message
    return match.group(1)


def test_fix_14_a_call_taken_off_hold_sends_again() -> None:
    """Hold (a=sendonly) then unhold (a=sendrecv): rfcvoip kept answering a=recvonly, so
    the agent never spoke again. The answer's o= version goes up with each change."""
    phone, port, sock, calls = _answering_phone()
    try:
        local = sock.getsockname()[1]
        invite = _invite(port, local, "127.0.0.1", "127.0.0.1", "hold")
        sock.sendto(invite, ("127.0.0.1", port))
        ok = next(m for m in _messages(sock) if m.startswith("SIP/2.0 200"))
        answers = [ok]
        for cseq, direction in ((2, "sendonly"), (3, "sendrecv")):
            again = _offer(invite, PCMU, direction, version=cseq)
            again = again.replace(b"CSeq: 1 INVITE", b"CSeq: %d INVITE" % cseq)
            again = again.replace(
                f"To: <sip:agent@127.0.0.1:{port}>".encode(),
                f"To: <sip:agent@127.0.0.1:{port}>;tag={_to_tag(ok)}".encode(),
            )
            sock.sendto(again, ("127.0.0.1", port))
            answers.append(
                next(m for m in _messages(sock) if f"CSeq: {cseq} INVITE" in m and "200 OK" in m)
            )
        directions = [re.findall(r"a=(sendrecv|recvonly|sendonly|inactive)", a) for a in answers]
        assert directions == [["sendrecv"], ["recvonly"], ["sendrecv"]]
        versions = [int(re.findall(r"o=\S+ \d+ (\d+) IN", a)[0]) for a in answers]
        assert versions[1] == versions[0] + 1 and versions[2] == versions[1] + 1
        assert calls[0].answered
    finally:
        phone.stop()
        sock.close()


def test_fix_15_16_record_route_is_kept_and_the_bye_is_routed_and_resent() -> None:
    """A proxy that record-routes: 180 and 200 copy Record-Route; the agent's BYE goes to
    the proxy with Route (same order) and is sent again until the proxy answers it."""
    phone, port, sock, _calls = _answering_phone(hang_up_after=0.3)
    proxy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    proxy.bind(("127.0.0.1", 0))
    try:
        local, hop = sock.getsockname()[1], proxy.getsockname()[1]
        routes = f"<sip:127.0.0.1:{hop};lr;ftag=1>, <sip:127.0.0.2;lr>"
        invite = _invite(port, local, "127.0.0.1", "127.0.0.1", "rr").replace(
            b"Max-Forwards: 70\r\n", f"Max-Forwards: 70\r\nRecord-Route: {routes}\r\n".encode()
        )
        sock.sendto(invite, ("127.0.0.1", port))
        responses = {m.split("\r\n", 1)[0]: m for m in _messages(sock, 0.4)}
        for status in ("SIP/2.0 180 Ringing", "SIP/2.0 200 OK"):
            assert (
                f"Record-Route: <sip:127.0.0.1:{hop};lr;ftag=1>\r\n"
                "Record-Route: <sip:127.0.0.2;lr>\r\n"
            ) in responses[status]
        proxy.settimeout(3)
        first = proxy.recv(65535).decode()
        started = time.monotonic()
        second = proxy.recv(65535).decode()
        assert 0.3 < time.monotonic() - started < 1.5  # resent after T1 = 0.5 s
        assert first == second and first.startswith(f"BYE sip:caller@127.0.0.1:{local} SIP/2.0")
        assert f"Route: <sip:127.0.0.1:{hop};lr;ftag=1>\r\nRoute: <sip:127.0.0.2;lr>\r\n" in first
        head = first.split("\r\n\r\n", 1)[0]
        via = next(line for line in head.split("\r\n") if line.startswith("Via:"))
        ok = "\r\n".join(
            ["SIP/2.0 200 OK", via]
            + [line for line in head.split("\r\n") if line.split(":")[0] in ("From", "To")]
            + [line for line in head.split("\r\n") if line.split(":")[0] in ("Call-ID", "CSeq")]
            + ["Content-Length: 0", "", ""]
        )
        proxy.sendto(ok.encode(), ("127.0.0.1", port))
        proxy.settimeout(2.5)
        with pytest.raises(TimeoutError):  # answered: not sent a third time
            proxy.recv(65535)
    finally:
        phone.stop()
        sock.close()
        proxy.close()


def _padded(invite: bytes, size: int) -> bytes:
    lines = "".join(f"a=x-pad:{i:06d}{'z' * 40}\r\n" for i in range(size // 56))
    return _offer(invite, PCMU + lines)


def test_fix_17_large_and_broken_requests_are_answered_not_dropped() -> None:
    """rfcvoip read 8 KB of a datagram and dropped what it could not parse, unanswered.
    What is kept: a 9 KB INVITE is a call; 60 KB gets 513; a body shorter than its
    Content-Length and an empty line inside the headers get 400; the next call is answered."""
    phone, port, sock, calls = _answering_phone()
    try:
        local = sock.getsockname()[1]

        def send(invite: bytes) -> list[str]:
            sock.sendto(invite, ("127.0.0.1", port))
            call_id = re.search(rb"Call-ID: (\S+)", invite)
            assert call_id
            mine = f"Call-ID: {call_id.group(1).decode()}\r\n"
            return _finals([m for m in _messages(sock) if mine in m])

        def invite(call_id: str) -> bytes:
            return _invite(port, local, "127.0.0.1", "127.0.0.1", call_id)

        assert "SIP/2.0 200 OK" in send(_padded(invite("nine-kb"), 9000))
        assert send(_padded(invite("sixty-kb"), 60000)) == ["SIP/2.0 513 Message Too Large"]
        short = re.sub(rb"Content-Length: \d+", b"Content-Length: 102400", invite("short"))
        assert send(short) == ["SIP/2.0 400 Bad Content-Length"]  # the reason in the phrase
        blank = invite("blank").replace(b"Max-Forwards: 70\r\n", b"Max-Forwards: 70\r\n\r\n")
        assert send(blank)[-1] == "SIP/2.0 400 Bad Request"
        assert "SIP/2.0 200 OK" in send(invite("next"))
        assert [c.call_id for c in calls] == ["nine-kb", "next"]
    finally:
        phone.stop()
        sock.close()


@pytest.mark.parametrize(
    ("expires", "delay"), [(10, 5.0), (20, 10.0), (60, 30.0), (300, 270.0), (1, 1.0)]
)
def test_fix_18_refresh_before_the_granted_expiry(expires: int, delay: float) -> None:
    assert sip_wire.refresh_delay(expires) == delay


def test_fix_18_the_granted_expiry_is_read_from_this_agents_contact() -> None:
    ok = (
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5062\r\n"
        b"Contact: <sip:agent@127.0.0.9:5062>;expires=3600, "
        b'<sip:agent@127.0.0.1:5062;transport=UDP>;expires=10;+sip.instance="<urn:x>"\r\n'
        b"Expires: 120\r\nContent-Length: 0\r\n\r\n"
    )
    assert sip_wire.granted_expires(ok, "127.0.0.1:5062", 300) == 10
    assert sip_wire.granted_expires(ok, "127.0.0.2:5062", 300) == 120
    assert [sip_wire.retry_delay(n) for n in (1, 2, 3, 6, 9)] == [1, 2, 4, 32, 32]


def test_fix_18_registration_follows_the_registrar_and_survives_its_absence() -> None:
    """A fake registrar (a UDP socket) grants 2 s: the agent registers again every second.
    Then it answers nothing for 4 s: rfcvoip stopped the phone after three failures; the
    agent keeps trying and is registered again as soon as the registrar answers."""
    registrar = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    registrar.bind(("127.0.0.1", 0))
    registrar.settimeout(0.1)
    answering, done = threading.Event(), threading.Event()
    answering.set()
    registers: list[float] = []

    def serve() -> None:
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                data, peer = registrar.recvfrom(65535)
                if data.startswith(b"REGISTER") and answering.is_set():
                    registers.append(time.monotonic())
                    registrar.sendto(_register_ok(data.decode()), peer)

    server = threading.Thread(target=serve)
    server.start()
    phone = SipPhone(
        Endpoint("127.0.0.1", udp_port()),
        lambda _c: None,
        registrar=Endpoint(*registrar.getsockname()),
        rtp_ports=(31300, 31310),
    )
    try:
        phone.start(timeout=3)
        time.sleep(3.5)
        assert len(registers) >= 4  # granted 2 s: again every second, not after 115 s
        answering.clear()  # the registrar is away (restarting)
        time.sleep(4)
        registers.clear()
        answering.set()
        wait_until(lambda: bool(registers), 5, "a REGISTER after the registrar came back")
        assert str(phone._phone.get_status()).endswith("REGISTERED")
    finally:
        phone.stop()
        done.set()
        server.join()
        registrar.close()


def _register_ok(request: str) -> bytes:
    lines = request.split("\r\n")
    keep = [ln for ln in lines if ln.split(":")[0] in ("Via", "From", "Call-ID", "CSeq")]
    to = next(ln for ln in lines if ln.startswith("To:"))
    contact = next(ln for ln in lines if ln.startswith("Contact:")).split(";+sip", 1)[0]
    return (
        "\r\n".join(
            ["SIP/2.0 200 OK", *keep, f"{to};tag=reg", f"{contact};expires=2", "Content-Length: 0"]
        ).encode()
        + b"\r\n\r\n"
    )


# Fix 24: the final status of an INVITE the agent sent (a clerk's phone rung by the flow).


def _reply(invite: str, status: str, body: str = "", contact: int = 0) -> bytes:
    """A response to `invite` as a phone would send it (its Via, From, Call-ID, CSeq)."""
    lines = invite.split("\r\n\r\n", 1)[0].split("\r\n")
    copied = [ln for ln in lines if ln.split(":")[0] in ("Via", "From", "Call-ID", "CSeq")]
    to = next(ln for ln in lines if ln.startswith("To:"))
    head = [f"SIP/2.0 {status}", *copied, f"{to};tag=clerk"]
    if body:
        head += [f"Contact: <sip:clerk@127.0.0.1:{contact}>", "Content-Type: application/sdp"]
    return ("\r\n".join([*head, f"Content-Length: {len(body)}", "", ""]) + body).encode()


def _clerk_phone() -> tuple[SipPhone, socket.socket]:
    """A direct-mode agent whose calls go to a raw UDP socket playing a clerk's phone."""
    clerk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    clerk.bind(("127.0.0.1", 0))
    clerk.settimeout(5)
    phone = SipPhone(
        Endpoint("127.0.0.1", udp_port()),
        lambda _c: None,
        rtp_ports=(31400, 31420),
        peer=Endpoint(*clerk.getsockname()),
    )
    phone.start(timeout=2)
    time.sleep(1.2)  # rfcvoip starts its receive loop 1 s after start()
    return phone, clerk


def _dial(phone: SipPhone) -> tuple[list[SipCall], threading.Thread]:
    """phone.call() waits for the first answer beyond 100: in a thread of its own."""
    placed: list[SipCall] = []
    dialling = threading.Thread(target=lambda: placed.append(phone.call("8003")))
    dialling.start()
    return placed, dialling


@pytest.mark.parametrize(
    ("status", "ring_first"),
    [
        ("486 Busy Here", True),  # the final answer reaches the library's receive loop
        ("603 Decline", False),  # ... or arrives while call() still waits for the first one
    ],
)
def test_fix_24_the_final_status_of_the_agents_invite_is_kept(
    status: str, ring_first: bool
) -> None:
    """rfcvoip ends the call on a 486 or 603 and forgets the status: a busy clerk looked
    like one who never answered. What is kept: the status on the SipCall, after the end,
    and the library's ACK to it."""
    phone, clerk = _clerk_phone()
    try:
        placed, dialling = _dial(phone)
        invite, peer = clerk.recvfrom(65535)
        clerk.sendto(_reply(invite.decode(), "100 Trying"), peer)
        if ring_first:
            clerk.sendto(_reply(invite.decode(), "180 Ringing"), peer)
            dialling.join(5)
            assert placed and placed[0].final_status is None  # ringing: nothing final yet
            time.sleep(0.3)
        clerk.sendto(_reply(invite.decode(), status), peer)
        ack = clerk.recv(65535).decode()
        dialling.join(5)
        (call,) = placed
        wait_until(lambda: call.ended, 5, "the refused call to end")
        assert ack.startswith("ACK ") and "CSeq: 1 ACK" in ack
        assert call.final_status == int(status[:3])
    finally:
        phone.stop()
        clerk.close()


def test_fix_24_an_answered_call_has_no_final_status() -> None:
    phone, clerk = _clerk_phone()
    try:
        placed, dialling = _dial(phone)
        invite, peer = clerk.recvfrom(65535)
        sdp = (
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio 40002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
        )
        ok = _reply(invite.decode(), "200 OK", sdp, contact=clerk.getsockname()[1])
        clerk.sendto(ok, peer)
        assert clerk.recv(65535).startswith(b"ACK ")
        dialling.join(5)
        (call,) = placed
        wait_until(lambda: call.answered, 5, "the answer")
        assert call.final_status is None
        call.hangup()
        assert clerk.recv(65535).startswith(b"BYE ")
        assert call.final_status is None  # the BYE's 200 is not the INVITE's
    finally:
        phone.stop()
        clerk.close()


@pytest.mark.parametrize(
    ("attributes", "ptime"),
    [
        ({"ptime": "30"}, 30),
        ({"ptime": " 10 "}, 10),
        ({"ptime": "60"}, 60),
        ({}, 20),
        ({"ptime": "25"}, 20),  # not whole 10 ms
        ({"ptime": "200"}, 20),  # more than a jitter buffer wants
        ({"ptime": "abc"}, 20),
        ({"ptime": True}, 20),  # a bare a=ptime
    ],
)
def test_fix_27_the_packet_time_is_the_one_the_far_end_asks_for(
    attributes: dict[str, Any], ptime: int
) -> None:
    assert packet_time_ms({"attributes": attributes}) == ptime
    assert packet_time_ms(None) == 20


def test_fix_29_a_call_the_agent_placed_follows_the_route_set_of_its_2xx() -> None:
    """A clerk's phone behind two record-routing proxies (the one nearest the clerk first
    in its 200 OK). The agent's ACK and BYE go to the proxy nearest the agent with the
    routes reversed, the Request-URI being the clerk's Contact (RFC 3261 12.1.2, loose
    routing). What is kept: the call answered, then ended by the agent's BYE."""
    phone, clerk = _clerk_phone()
    proxy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    proxy.bind(("127.0.0.1", 0))
    proxy.settimeout(5)
    try:
        hop = proxy.getsockname()[1]
        near_clerk, near_agent = "<sip:127.0.0.2;lr>", f"<sip:127.0.0.1:{hop};lr;ftag=a1>"
        placed, dialling = _dial(phone)
        invite, peer = clerk.recvfrom(65535)
        sdp = (
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio 40004 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
        )
        contact = clerk.getsockname()[1]
        ok = _reply(invite.decode(), "200 OK", sdp, contact=contact).replace(
            b"Content-Type:", f"Record-Route: {near_clerk}, {near_agent}\r\nContent-Type:".encode()
        )
        clerk.sendto(ok, peer)
        ack = proxy.recv(65535).decode()
        dialling.join(5)
        (call,) = placed
        wait_until(lambda: call.answered, 5, "the answer")
        call.hangup()
        bye = proxy.recv(65535).decode()
        for request, method in ((ack, "ACK"), (bye, "BYE")):
            assert request.startswith(f"{method} sip:clerk@127.0.0.1:{contact} SIP/2.0\r\n")
            assert f"Route: {near_agent}\r\nRoute: {near_clerk}\r\n" in request
        clerk.settimeout(0.5)
        with pytest.raises(TimeoutError):  # nothing in the dialog went round the proxies
            clerk.recv(65535)
    finally:
        phone.stop()
        clerk.close()
        proxy.close()


def test_fix_30_an_ended_calls_tag_is_dropped_after_64_t1(monkeypatch: pytest.MonkeyPatch) -> None:
    """rfcvoip keeps every call's dialog tag for as long as it runs (3000 calls: 3000
    tags). What is kept: an ended call's tag for 32 s, for a retransmitted BYE or 200;
    the registration's tag always."""
    phone = SipPhone(Endpoint("127.0.0.1", udp_port()), lambda _c: None, rtp_ports=(31500, 31510))
    tags, given = phone._phone.sip.tagLibrary, phone._phone.sip.tags
    tags.update({"old": "t1", "new": "t2", "x": "t3"})
    for tag in ("t1", "t2", "t3"):
        given.append(tag)
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    phone._fixes.forget("old")
    clock[0] += 20
    phone._fixes.forget("new")
    assert {"old", "new", "register"} <= set(tags)  # 20 s: a BYE may still come again
    clock[0] += 13
    phone._fixes.forget("x")
    assert "old" not in tags and {"new", "x", "register"} <= set(tags)
    assert "t1" not in given and "t2" in given and tags["register"] in given


def test_fix_30_the_tags_given_out_are_bounded() -> None:
    phone = SipPhone(Endpoint("127.0.0.1", udp_port()), lambda _c: None, rtp_ports=(31500, 31510))
    sip = phone._phone.sip
    made = [sip.gen_tag() for _ in range(TAGS_KEPT + 100)]
    assert len(set(made)) == len(made)
    assert len(sip.tags) == TAGS_KEPT and made[-1] in sip.tags and made[0] not in sip.tags
