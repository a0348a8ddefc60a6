"""The CANCEL's Reason header (RFC 3326) in the forms PBXs send: which mean "a clerk's
phone answered" (ivr/cancel_reason.py cites the sources) and which a caller giving up."""

from __future__ import annotations

import pytest

from ivr.cancel_reason import (
    Reason,
    answered_elsewhere,
    answerer,
    header_fields,
    parse,
    reason_headers,
    summary,
)

CANCEL = (
    b"CANCEL sip:agent@127.0.0.1:5062 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
    b"Call-ID: 1-2@127.0.0.1\r\n"
    b"CSeq: 1 CANCEL\r\n"
    b'Reason: SIP;cause=200;text="Call completed elsewhere"\r\n'
    b"reason : Q.850;cause=26\r\n"
    b"Content-Length: 0\r\n\r\n"
    b"Reason: not a header, a body line\r\n"
)


def test_every_reason_header_of_a_raw_cancel_is_read_in_order_and_not_the_body() -> None:
    assert reason_headers(CANCEL) == (
        'SIP;cause=200;text="Call completed elsewhere"',
        "Q.850;cause=26",
    )
    assert reason_headers(b"CANCEL sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n") == ()
    folded = b"CANCEL sip:a@b SIP/2.0\r\nReason: SIP\r\n ;cause=200\r\n\r\n"
    assert reason_headers(folded) == ("SIP ;cause=200",)


@pytest.mark.parametrize(
    ("who", "headers"),
    [
        ("Kamailio tm, branch ringing", ['SIP;cause=200;text="Call completed elsewhere"']),
        ("Kamailio 5.6.3, late branch (measured)", ["SIP;cause=200"]),
        (
            "Asterisk res_pjsip_rfc3326",
            ['SIP;cause=200;text="Call completed elsewhere"', "Q.850;cause=26"],
        ),
        (
            "Asterisk, suppress_q850_reason_headers",
            ['SIP;cause=200;text="Call completed elsewhere"'],
        ),
        ("a Q.850-only PBX", ['Q.850;cause=26;text="NON_SELECTED_USER_CLEARING"']),
        ("one header, two values", ['Q.850;cause=16, SIP;cause=200;text="a, b; c"']),
        ("odd case and spaces", ["sip ; CAUSE = 200"]),
    ],
)
def test_answered_elsewhere_in_each_form(who: str, headers: list[str]) -> None:
    assert answered_elsewhere(headers), who


@pytest.mark.parametrize(
    ("who", "headers"),
    [
        ("a caller giving up: no Reason", []),
        ("normal clearing", ["Q.850;cause=16"]),
        ("FreeSWITCH ignore_completed_elsewhere", ['SIP;cause=502;text="LOSE_RACE"']),
        ("request terminated", ["SIP;cause=487"]),
        ("cause 200 under another protocol", ["Q.850;cause=200"]),
        ("cause 26 under SIP", ["SIP;cause=26"]),
        ("a text only", ['SIP;text="Call completed elsewhere"']),
        ("garbage", [";;;", "", '"unterminated']),
    ],
)
def test_anything_else_is_not_answered_elsewhere(who: str, headers: list[str]) -> None:
    assert not answered_elsewhere(headers), who


def test_the_values_are_parsed_with_their_text_and_kept_as_written() -> None:
    headers = ['Q.850;cause=16, SIP;cause=200;text="a, b; \\"c\\""']
    assert parse(headers) == [
        Reason("Q.850", 16, None),
        Reason("SIP", 200, 'a, b; "c"'),
    ]
    # The call record keeps the headers as they came, cut to the column's room.
    assert summary(["SIP;cause=200", "Q.850;cause=26"]) == "SIP;cause=200; Q.850;cause=26"
    assert len(summary(["x" * 300], 90)) == 90 and summary([]) == ""


# Who answered elsewhere (issue 20). Kamailio 5.6.3's CANCEL to the losing branch as
# measured on the ring-group bed (docs/ring-groups.md): the Reason alone, no one named.
KAMAILIO_CANCEL = (
    b"CANCEL sip:agent@127.0.0.1:5062 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKd8a1.6e9c2f1b.0\r\n"
    b"From: <sip:caller@127.0.0.1>;tag=1234\r\n"
    b"To: <sip:desk@127.0.0.1>\r\n"
    b"Call-ID: 5c1a-ring@127.0.0.1\r\n"
    b"CSeq: 1 CANCEL\r\n"
    b"Max-Forwards: 70\r\n"
    b'Reason: SIP;cause=200;text="Call completed elsewhere"\r\n'
    b"User-Agent: kamailio (5.6.3 (x86_64/linux))\r\n"
    b"Content-Length: 0\r\n\r\n"
)
# Asterisk's res_pjsip_rfc3326 on a Dial() loser: two Reason headers, no one named.
ASTERISK_CANCEL = (
    b"CANCEL sip:agent@127.0.0.1:5062 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bKPj0c1f\r\n"
    b"From: <sip:8000@127.0.0.1>;tag=9a1b\r\n"
    b"To: <sip:agent@127.0.0.1>\r\n"
    b"Call-ID: 3f2e-ast\r\n"
    b"CSeq: 4711 CANCEL\r\n"
    b'Reason: SIP;cause=200;text="Call completed elsewhere"\r\n'
    b"Reason: Q.850;cause=26\r\n"
    b"Max-Forwards: 70\r\n"
    b"User-Agent: Asterisk PBX 20.5.0\r\n"
    b"Content-Length:  0\r\n\r\n"
)
# FreeSWITCH (mod_sofia nua_cancel sends the channel's sip_bye_h_* variables as headers):
# a dialplan with sip_bye_h_X-Answered-By set to the winner's name-addr.
FREESWITCH_CANCEL = (
    b"CANCEL sip:agent@127.0.0.1:5062 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5080;rport;branch=z9hG4bKQ2m\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: <sip:0000000000@127.0.0.1>;tag=Ng7\r\n"
    b"To: <sip:agent@127.0.0.1:5062>\r\n"
    b"Call-ID: 8d0c-fs\r\n"
    b"CSeq: 13 CANCEL\r\n"
    b'Reason: SIP;cause=200;text="Call completed elsewhere"\r\n'
    b'X-Answered-By: "\xe5\xbc\xa0\xe4\xb8\x89" <sip:8002@127.0.0.1>\r\n'
    b"Content-Length: 0\r\n\r\n"
)


def test_the_headers_of_a_real_cancel_are_read_as_fields() -> None:
    fields = header_fields(ASTERISK_CANCEL)
    assert fields[0] == ("Via", "SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bKPj0c1f")
    assert ("Reason", "Q.850;cause=26") in fields and ("Content-Length", "0") in fields
    assert not any(name.startswith("CANCEL") for name, _value in fields)  # the start line


@pytest.mark.parametrize("raw", [KAMAILIO_CANCEL, ASTERISK_CANCEL])
def test_kamailio_and_asterisk_name_nobody_so_it_was_a_colleague(raw: bytes) -> None:
    assert answered_elsewhere(reason_headers(raw))
    assert answerer(header_fields(raw), ["X-Answered-By"]) is None


def test_a_header_the_site_names_gives_who_answered() -> None:
    fields = header_fields(FREESWITCH_CANCEL)
    assert answerer(fields, ["X-Answered-By"]) == "张三 (8002)"
    assert answerer(fields, ["x-answered-by"]) == "张三 (8002)"  # names are case-blind
    assert answerer(fields, ["X-Other"]) is None  # a header the site did not name: nobody
    bare = [("X-Answered-By", "8003")]
    assert answerer(bare, ["X-Answered-By"]) == "8003"
    assert answerer([("X-Answered-By", "<sip:8004@pbx;transport=udp>")], ["X-Answered-By"]) == (
        "8004"
    )
    assert answerer([("X-Answered-By", "  ")], ["X-Answered-By"]) is None  # empty: nobody


def test_a_reason_text_ending_by_someone_names_them_only_for_answered_elsewhere() -> None:
    # FreeSWITCH's sip_reason variable replaces the Reason wholesale.
    said = [("Reason", 'SIP;cause=200;text="Call completed elsewhere by 8002"')]
    assert answerer(said, []) == "8002"
    q850 = [("Reason", 'Q.850;cause=26;text="answered by sip:8005@pbx"')]
    assert answerer(q850, []) == "8005"
    # A caller's normal clearing says nothing about who answered, whatever its text.
    assert answerer([("Reason", 'Q.850;cause=16;text="cleared by 8002"')], []) is None
    # The site's header wins over the text.
    both = [*said, ("X-Answered-By", "8009")]
    assert answerer(both, ["X-Answered-By"]) == "8009"
