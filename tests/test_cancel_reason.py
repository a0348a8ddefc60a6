"""The CANCEL's Reason header (RFC 3326) in the forms PBXs send: which mean "a clerk's
phone answered" (ivr/cancel_reason.py cites the sources) and which a caller giving up."""

from __future__ import annotations

import pytest

from ivr.cancel_reason import Reason, answered_elsewhere, parse, reason_headers, summary

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
