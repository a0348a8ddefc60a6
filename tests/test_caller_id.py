"""The site's caller ID on the calls the agent places to residents (issue 22): the INVITE
text the adapter rewrites (ivr/sip_wire.py), and the settings that name it.

What the resident would notice: the site's name and number on their phone; the dialog is
unchanged (the From tag and host kept), and a bad setting stops start-up with its key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ivr.settings import SipSettings
from ivr.sip_wire import CallerId, with_caller_id

INVITE = (
    "INVITE sip:13800138000@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKabc;rport\r\n"
    "From: <sip:agent@127.0.0.1:5060>;tag=4f2a\r\n"
    "To: <sip:13800138000@127.0.0.1:5060>\r\n"
    "Content-Length: 4\r\n\r\nv=0\r\n"
)


def test_the_site_name_and_number_go_in_from_and_p_asserted_identity() -> None:
    shown = with_caller_id(INVITE, CallerId("幸福家园物业", "057188880000"))
    lines = shown.split("\r\n")
    assert lines[2] == 'From: "幸福家园物业" <sip:057188880000@127.0.0.1:5060>;tag=4f2a'
    assert lines[3] == 'P-Asserted-Identity: "幸福家园物业" <sip:057188880000@127.0.0.1:5060>'
    assert lines[4].startswith("To: <sip:13800138000@")  # the rest is untouched
    assert shown.endswith("\r\n\r\nv=0\r\n")


def test_registered_mode_keeps_the_account_in_from_and_asserts_the_site_number() -> None:
    """A registrar that authenticated `agent` may refuse a From naming another user:
    From keeps the account (the display name is the site's), the number is asserted."""
    shown = with_caller_id(INVITE, CallerId("幸福家园物业", "057188880000", keep_user=True))
    lines = shown.split("\r\n")
    assert lines[2] == 'From: "幸福家园物业" <sip:agent@127.0.0.1:5060>;tag=4f2a'
    assert lines[3] == 'P-Asserted-Identity: "幸福家园物业" <sip:057188880000@127.0.0.1:5060>'


def test_a_name_alone_keeps_the_account_and_asserts_nothing() -> None:
    shown = with_caller_id(INVITE, CallerId('物业"服务\\中心'))
    assert 'From: "物业\\"服务\\\\中心" <sip:agent@127.0.0.1:5060>;tag=4f2a\r\n' in shown
    assert "P-Asserted-Identity" not in shown


def test_no_caller_id_leaves_the_invite_as_the_library_made_it() -> None:
    assert with_caller_id(INVITE, CallerId()) == INVITE


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("caller_id_number", "0571-8888"),  # digits only, + allowed in front
        ("caller_id_number", "12"),
        ("caller_id_name", "物业\r\nP-Asserted-Identity: <sip:110@x>"),  # no header injection
    ],
)
def test_a_bad_caller_id_setting_is_refused_with_its_key(key: str, value: str) -> None:
    with pytest.raises(ValidationError, match=key):
        SipSettings(**{key: value})
    assert SipSettings(caller_id_number="+8657188880000").caller_id_number == "+8657188880000"
