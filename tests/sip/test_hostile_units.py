"""The pure rules behind issue 15's fixes (ivr/sdp_check.py, ivr/sip_gate.py,
ivr/sip_resolve.py, ivr/memory.py, ivr/sip_wire.py), each on its own. The real-peer
tests are test_hostile_media.py, test_no_dns.py and test_torture.py."""

from __future__ import annotations

import threading

from ivr import sdp_check, sip_gate, sip_wire
from ivr.memory import IdleTrim
from ivr.sip_resolve import CACHE_SIZE, Resolver
from tests.support.processes import wait_until

SDP = (
    "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    "a=ptime:20\r\n"
)


def test_an_offer_in_range_passes_and_each_field_out_of_range_is_named() -> None:
    assert sdp_check.problem(SDP) is None
    assert sdp_check.problem(SDP.replace("m=audio 49170", "m=audio 0")) is None  # refused stream
    cases = [  # (what is replaced, by what, the reason given)
        ("m=audio 49170", "m=audio 65536", "m= port '65536'"),
        ("m=audio 49170", "m=audio 49170/0", "m= port count '0'"),
        ("RTP/AVP 0 101", "RTP/AVP 0 128", "payload type '128'"),
        ("a=rtpmap:0 ", "a=rtpmap:999 ", "payload type '999'"),
        ("a=ptime:20", "a=ptime:abc", "ptime 'abc'"),
        ("c=IN IP4 192.0.2.1", "c=IN IP4 255.255.255.255", "c= address '255.255.255.255'"),
        ("c=IN IP4 192.0.2.1", "c=IN IP4 ::1", "c= address '::1'"),
    ]
    for old, new, reason in cases:
        assert sdp_check.problem(SDP.replace(old, new)) == reason, reason


def test_only_ip_addresses_and_real_ports_are_sendable() -> None:
    assert sdp_check.sendable(("127.0.0.1", 4000))
    assert not sdp_check.sendable(("127.0.0.1", 65536))
    assert not sdp_check.sendable(("127.0.0.1", 0))
    assert not sdp_check.sendable(("media.example.com", 4000))  # a name: never resolved there
    assert not sdp_check.sendable(("127.0.0.1", "4000"))


def _request(start: str = "OPTIONS sip:agent@127.0.0.1 SIP/2.0", *extra: str) -> bytes:
    lines = [
        start,
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx",
        "From: <sip:a@127.0.0.1>;tag=1",
        "To: <sip:agent@127.0.0.1>",
        "Call-ID: unit-1",
        "CSeq: 1 OPTIONS",
        *extra,
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode()


def test_the_gate_names_the_status_rfc_4475_asks_for() -> None:
    assert sip_gate.check(_request()).kind == "pass"
    verdicts = {
        "version": sip_gate.check(_request("OPTIONS sip:agent@127.0.0.1 SIP/7.0")),
        "spacing": sip_gate.check(_request("OPTIONS  sip:agent@127.0.0.1 SIP/2.0")),
        "scheme": sip_gate.check(_request("OPTIONS soap.beep://x SIP/2.0")),
        "require": sip_gate.check(_request(*["OPTIONS sip:a@b SIP/2.0", "Require: foo"])),
        "nul": sip_gate.check(_request(*["OPTIONS sip:a@b SIP/2.0", "Subject: a\x00b"])),
    }
    got = {name: (v.kind, v.code) for name, v in verdicts.items()}
    assert got == {
        "version": ("refuse", 505),
        "spacing": ("refuse", 400),
        "scheme": ("refuse", 416),
        "require": ("refuse", 420),
        "nul": ("refuse", 400),
    }
    assert verdicts["require"].headers == ("Unsupported: foo",)
    mismatch = _request().replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE")
    assert sip_gate.check(mismatch).phrase == "CSeq Method Does Not Match"
    assert sip_gate.check(b"SIP/2.0 4294967301 big\r\nCSeq: 1 INVITE\r\n\r\n").kind == "drop"


def test_a_reply_never_echoes_a_control_octet_and_caps_what_it_copies() -> None:
    raw = _request().replace(b"Call-ID: unit-1", b"Call-ID: \x1b[2Jx" + b"y" * 5000)
    reply = sip_gate.reply(raw, 400, "Bad Request")
    assert reply is not None and b"\x1b" not in reply
    assert max(len(line) for line in reply.split(b"\r\n")) <= sip_gate.MAX_ECHO + 20
    quoted = b'To: "BEL:\\\x07" <sip:a@b>\r\n'
    assert sip_gate.without_control(b"SIP/2.0 200 OK\r\n" + quoted + b"\r\n") == (
        b'SIP/2.0 200 OK\r\nTo: "BEL:" <sip:a@b>\r\n\r\n'
    )
    assert sip_gate.reply(b"ACK sip:a@b SIP/2.0\r\n\r\n", 400, "x") is None


def test_the_resolver_never_looks_up_on_the_callers_thread() -> None:
    callers: list[threading.Thread] = []
    release = threading.Event()

    def lookup(name: str) -> str | None:
        callers.append(threading.current_thread())
        release.wait(5)
        return "192.0.2.7" if name == "pbx.example.com" else None

    resolver = Resolver(lookup)
    resolver.start()
    try:
        assert resolver.address("10.1.2.3") == "10.1.2.3"
        assert resolver.address("pbx.example.com") is None  # not known yet: no wait
        release.set()
        assert resolver.resolve("pbx.example.com", 5.0) == "192.0.2.7"
        assert resolver.address("PBX.example.com.") == "192.0.2.7"  # cached
        assert resolver.resolve("nowhere.example.com", 5.0) is None
        assert threading.current_thread() not in callers
        for n in range(CACHE_SIZE + 10):
            resolver.resolve(f"h{n}.example.com", 5.0)
        assert len(resolver._cache) == CACHE_SIZE
    finally:
        resolver.stop()


def test_uri_targets_and_refused_streams_in_the_answer() -> None:
    assert sip_wire.uri_host_port("<sip:b@ss1.example.com:5070;lr>") == ("ss1.example.com", 5070)
    assert sip_wire.uri_host_port("sip:b@x.example.com;maddr=192.0.2.9") == ("192.0.2.9", 5060)
    assert sip_wire.uri_host_port("sip:b@192.0.2.1:70000")[0] is None
    answer = "SIP/2.0 200 OK\r\nContent-Length: 1\r\n\r\nv=0\r\nm=audio 4000 RTP/AVP 0\r\n"
    refused = sip_wire.with_refused_streams(answer, [(0, "m=video 0 RTP/AVP 96")])
    body = refused.partition("\r\n\r\n")[2]
    assert [line for line in body.split("\r\n") if line.startswith("m=")] == [
        "m=video 0 RTP/AVP 96",
        "m=audio 4000 RTP/AVP 0",
    ]
    assert f"Content-Length: {len(body.encode())}" in refused


def test_memory_is_given_back_only_after_the_phone_stays_idle() -> None:
    trimmed = threading.Event()
    waiting = IdleTrim(idle_s=30.0, trim=trimmed.set)
    waiting.idle()
    waiting.busy()  # a call came in before the 30 s: the trim is called off
    waiting.stop()
    assert waiting.trims == 0
    flowing = IdleTrim(idle_s=0.01, trim=trimmed.set, quiet=lambda: False)
    flowing.idle()  # media still flowing when the time comes: no trim
    wait_until(lambda: flowing.skipped == 1, 5, "the trim to look")
    flowing.stop()
    quiet = IdleTrim(idle_s=0.01, trim=trimmed.set)
    quiet.idle()
    assert trimmed.wait(5)
    assert quiet.trims == 1 and flowing.trims == 0
    quiet.stop()
