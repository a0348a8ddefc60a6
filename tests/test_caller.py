"""Caller recognition (issue 19): the pipeline fills the entry from the resident directory
for known, unknown and shared numbers, with no speech model and with one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recorder import residents
from recorder.calls import DatabaseCallLog
from recorder.models import Call, Disposition, JobState, LogEntry, Urgency
from tests.test_pipeline import T0, FakeEngine, answered_call, pipeline
from tests.test_residents import HEADER, hotline, write_csv
from transcripts.directory_file import parse

DIRECTORY = [
    HEADER,
    ["3", "2", "501", "王建国", "13800138000、021-62345678", "业主", "", ""],
    ["3", "2", "601", "欧阳娜", "13911112222", "业主", "", ""],
    # One landline shared by two households (a family in two flats): none is chosen.
    ["C座", "1", "1201", "李梅", "62340000", "租户", "独居老人", "是"],
    ["C座", "1", "1202", "李强", "021-62340000", "家属", "", ""],
    ["5", "", "302", "赵奶奶", "13700001111", "业主", "独居老人，心脏病", "是"],
]


@pytest.fixture
def directory(sqlite_sessions: sessionmaker[Session], tmp_path: Path) -> sessionmaker[Session]:
    with sqlite_sessions.begin() as s:
        for _, change in parse(write_csv(tmp_path / "erp.csv", DIRECTORY)).changes:
            residents.save(s, change, "import erp.csv")
    return sqlite_sessions


def call_from(sessions: sessionmaker[Session], tmp_path: Path, number: str) -> LogEntry:
    """An answered call from `number`, through the pipeline with no speech model."""
    answered_call(sessions, tmp_path)
    with sessions.begin() as s:
        s.scalars(select(Call)).one().caller_number = number
    assert pipeline(sessions, None).process_call("c1").state is JobState.WAITING
    with sessions() as s:
        return s.scalars(select(LogEntry)).one()


def test_a_known_number_fills_surname_unit_and_phone_without_a_model(
    directory: sessionmaker[Session], tmp_path: Path
) -> None:
    entry = call_from(directory, tmp_path, "13800138000")
    assert (entry.surname, entry.unit, entry.phone, entry.unit_source) == (
        "王",
        "3栋2单元501",
        "13800138000",
        "directory",
    )
    assert entry.households is None and entry.urgency is Urgency.NORMAL
    assert entry.needs_review  # the words are still to come: a clerk looks
    # The words arrive with a model: the directory's unit stays; the neighbour's is the subject.
    later = pipeline(
        directory, FakeEngine({"mono": "我 家 天花板 漏水 了 是 楼上 六 零 一 渗 下来 的"})
    )
    assert later.process_call("c1").state is JobState.DONE
    with directory() as s:
        entry = s.scalars(select(LogEntry)).one()
        assert (entry.unit, entry.unit_source, entry.subject_unit) == (
            "3栋2单元501",
            "directory",
            "601室",
        )


def test_a_landline_without_its_area_code_is_the_same_household(
    directory: sessionmaker[Session], tmp_path: Path
) -> None:
    entry = call_from(directory, tmp_path, "62345678")
    assert (entry.surname, entry.unit, entry.phone) == ("王", "3栋2单元501", "62345678")


def test_an_unknown_number_leaves_the_unit_to_speech(
    directory: sessionmaker[Session], tmp_path: Path
) -> None:
    entry = call_from(directory, tmp_path, "13500000000")
    assert (entry.surname, entry.unit, entry.unit_source, entry.households) == (
        None,
        None,
        None,
        None,
    )


def test_a_shared_number_lists_the_households_and_chooses_none(
    directory: sessionmaker[Session], tmp_path: Path
) -> None:
    entry = call_from(directory, tmp_path, "02162340000")
    assert (entry.surname, entry.unit, entry.unit_source) == (None, None, None)
    assert entry.households == [
        {"address": "C栋1单元1201", "names": ["李梅"], "priority": True},
        {"address": "C栋1单元1202", "names": ["李强"], "priority": False},
    ]
    assert entry.urgency is Urgency.NORMAL  # nobody chosen: no priority raise either
    assert entry.needs_review


def test_a_priority_resident_is_raised_one_level_and_a_unit_the_estate_lacks_is_flagged(
    directory: sessionmaker[Session], tmp_path: Path
) -> None:
    answered_call(directory, tmp_path)
    with directory.begin() as s:
        s.scalars(select(Call)).one().caller_number = "13700001111"
    said = "我 住 九 栋 一 单元 五 零 一 我 家 卫生间 漏水 了"
    pipeline(directory, FakeEngine({"mono": said})).process_call("c1")
    with directory() as s:
        entry = s.scalars(select(LogEntry)).one()
    # 赵奶奶 (独居老人, 重点): a leak raised to safety; her home from the directory, and
    # the 9栋 said (no such building) kept for a clerk, not as the call's subject.
    assert (entry.surname, entry.unit, entry.urgency) == ("赵", "5栋302", Urgency.SAFETY)
    assert (entry.subject_unit, entry.unverified_unit) == (None, "9栋1单元501")


def test_an_unknown_caller_saying_a_unit_the_estate_lacks_gets_no_unit(
    directory: sessionmaker[Session], tmp_path: Path
) -> None:
    answered_call(directory, tmp_path)  # from 13800138000; make it a stranger
    with directory.begin() as s:
        s.scalars(select(Call)).one().caller_number = "13500000000"
    said = "我 是 三 栋 八 单元 五 零 一 的 我 姓 钱 门口 路灯 坏 了"
    pipeline(directory, FakeEngine({"mono": said})).process_call("c1")
    with directory() as s:
        entry = s.scalars(select(LogEntry)).one()
    assert (entry.surname, entry.unit, entry.unit_source) == ("钱", None, None)
    assert (entry.unverified_unit, entry.needs_review) == ("3栋8单元501", True)


def test_a_missed_call_from_a_known_number_says_whom_to_call_back(
    directory: sessionmaker[Session],
) -> None:
    log = DatabaseCallLog(directory)
    log.call_started("m1", "13911112222", "8001", T0)
    log.call_ended("m1", T0, Disposition.MISSED, "caller CANCEL", "ringing")
    pipeline(directory, None).process_call("m1")
    with directory() as s:
        entry = s.scalars(select(LogEntry)).one()
    assert (entry.surname, entry.unit, entry.unit_source) == ("欧阳", "3栋2单元601", "directory")


def test_classify_caller_answers_the_same_on_the_command_line(tmp_path: Path) -> None:
    assert hotline(tmp_path, "db", "upgrade").returncode == 0
    path = write_csv(tmp_path / "erp.csv", DIRECTORY)
    assert hotline(tmp_path, "residents", "import", str(path)).returncode == 0
    said = "我家厨房漏水了，是楼上601渗下来的"
    known = json.loads(
        hotline(tmp_path, "classify", "--caller", "13700001111", "--json", said).stdout
    )
    assert known == {
        "category": "repair",
        "category_label": "报修",
        "urgency": "safety",  # a leak, raised: 赵奶奶 is 重点
        "surname": "赵",
        "unit": "5栋302",
        "phone": "13700001111",
        "summary": said,
        "unit_source": "directory",
        "households": [{"address": "5栋302", "names": ["赵奶奶"], "priority": True}],
        "subject_unit": "601室",
    }
    shared = json.loads(
        hotline(tmp_path, "classify", "--caller", "62340000", "--json", "我住3栋2单元501").stdout
    )
    assert (shared["unit"], shared["unit_source"], len(shared["households"])) == (
        "3栋2单元501",
        "speech",
        2,
    )
