"""The called number reaches its estate however the PBX writes it (issue 23): the DID or
To user as +86 10 8888 8888, 01088888888, 861088888888, 0086..., the subscriber number
alone, a mobile with or without +86; both sides normalised as a caller's number is
(recorder.residents.phone_key). What is kept: a number that is not the estate's (another
area code, another subscriber) reaches no estate, and the company answers it. The call
then rings its estate's duty roster, else the company's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from hotline.errors import ConfigError
from recorder import estates
from recorder.estates import EstateData
from recorder.models import Role
from recorder.staff import add_user, duty_roster

BJ, SH, MOBILE = "+86 10 8888 8888", "021-66666666", "13912345678"
PW = "pw-1234567890"


@pytest.mark.parametrize(
    ("called", "number", "match"),
    [
        ("+861088888888", "01088888888", 2),
        ("861088888888", "+86 10 8888 8888", 2),
        ("00861088888888", "010-88888888", 2),
        ("01088888888", "+861088888888", 2),
        ("88888888", "01088888888", 1),  # the PBX sent the subscriber number alone
        ("+861088888888", "88888888", 1),  # the estate's number written without its area code
        ("+8613912345678", "13912345678", 2),
        ("8613912345678", "+86 139 1234 5678", 2),
        ("1000", "1000", 2),  # an extension, not a telephone number: as written
        ("02188888888", "01088888888", 0),  # same subscriber, another city
        ("01088888889", "01088888888", 0),
        ("13912345679", "13912345678", 0),
        ("1001", "1000", 0),
        ("88888888", "88888888 ", 2),
    ],
)
def test_a_called_number_meets_an_estate_s_number(called: str, number: str, match: int) -> None:
    assert estates.reaches(called, number) == match


#: called number -> the estate it reaches (None: the company answers).
REACHES = {
    "+861088888888": "BJ",
    "01088888888": "BJ",
    "861088888888": "BJ",
    "88888888": "BJ",
    "+862166666666": "SH",
    "66666666": "SH",
    "+8613912345678": "MB",
    "8613912345678": "MB",
    "02088888888": None,  # Guangzhou's 88888888 is none of ours
    "99999": None,
}


def test_the_called_number_picks_its_estate_however_it_is_written(
    sessions: sessionmaker[Session],
) -> None:
    """One database (SQLite, PostgreSQL) for the whole table: a migrated database a case
    would cost a second."""
    with sessions.begin() as s:
        estates.save_estates(
            s,
            [
                EstateData(code="BJ", name="京华苑", numbers=[BJ]),
                EstateData(code="SH", name="沪景苑", numbers=[SH]),
                EstateData(code="MB", name="移动苑", numbers=[MOBILE]),
            ],
        )
        reached = {}
        for called in REACHES:
            estate = estates.estate_for(s, called)
            reached[called] = estate.code if estate is not None else None
        assert reached == REACHES
        assert estates.estate_for(s, None) is None
        # A subscriber number two estates share, in two cities: neither, the company's.
        estates.save_estates(s, [EstateData(code="SZ", name="深景苑", numbers=["075588888888"])])
        assert estates.estate_for(s, "88888888") is None
        sz = estates.estate_for(s, "+8675588888888")
        assert sz is not None and sz.code == "SZ"
        # The numbers are kept as they were written.
        assert estates.numbers_of(s, estates.by_code(s, "BJ").id) == [BJ]


def test_one_number_written_two_ways_for_two_estates_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "estates.toml"
    path.write_text(
        '[[estate]]\ncode = "A"\nname = "a"\nnumbers = ["+86 10 8888 8888"]\n\n'
        '[[estate]]\ncode = "B"\nname = "b"\nnumbers = ["01088888888"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="01088888888 reaches both A and B"):
        estates.load_estates(path)


def test_each_estate_rings_its_own_duty_roster_else_the_company_s(
    sessions: sessionmaker[Session],
) -> None:
    """The bridge rings the duty roster of the estate called (recorder.staff.duty_roster):
    its own staff on duty; an estate with none, the company's central desk (staff of no
    estate); a company call, everyone on duty. Staff off duty (no extension, not
    independent) are rung for none."""
    with sessions.begin() as s:
        bj, sh, mb = estates.save_estates(
            s,
            [
                EstateData(code="BJ", name="京华苑", numbers=[BJ]),
                EstateData(code="SH", name="沪景苑", numbers=[SH]),
                EstateData(code="MB", name="移动苑", numbers=[MOBILE]),
            ],
        )
        people = {
            name: add_user(s, name, name, f"9{extension}", Role.CLERK, PW, extension=extension)
            for name, extension in (("bj1", "801"), ("bj2", "802"), ("sh1", "803"), ("hq", "800"))
        }
        trainee = add_user(s, "bj3", "bj3", "9804", Role.CLERK, PW, False, "804")
        add_user(s, "nophone", "nophone", "9805", Role.CLERK, PW)  # no extension: off duty
        for name, code in (("bj1", "BJ"), ("bj2", "BJ"), ("sh1", "SH"), ("bj3", "BJ")):
            estates.assign(s, people.get(name, trainee), [code])
        s.flush()
        rung = {
            key: [u.username for u in duty_roster(s, estate_id)]
            for key, estate_id in (("BJ", bj.id), ("SH", sh.id), ("MB", mb.id), ("-", None))
        }
    assert rung == {
        "BJ": ["bj1", "bj2"],
        "SH": ["sh1"],
        "MB": ["hq"],  # no staff of its own: the central desk
        "-": ["bj1", "bj2", "sh1", "hq"],
    }
