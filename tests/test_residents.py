"""The resident directory (业主档案, issue 19): import from CSV and XLSX as property ERPs
export them, bad rows reported by number, re-import history, export, the estate's layout."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recorder import residents
from recorder.directory import DirectoryRevision, Household, Resident
from transcripts.directory_file import DirectoryFileError, parse

HEADER = ["楼栋", "单元", "房号", "姓名", "电话", "身份", "备注", "重点"]
ROWS = [
    ["3", "2", "501", "王建国", "13812345678、021-62345678", "业主", "", ""],
    ["C座", "1", "1201", "李梅", "13900001111 / 62345679", "租户", "独居老人", "是"],
    ["三栋", "二单元", "502", "张三", "1381234", "家属", "", ""],  # row 4: a short number
    ["3", "2", "501", "王建国", "13812345678", "业主", "", ""],  # row 5: row 2 again
    ["", "", "", "", "", "", "", ""],  # blank: skipped, not an error
    ["B", "", "302", "赵六", "13700001111;13700002222,13700003333", "owner", "", "否"],
    ["3", "2", "五零一", "孙七", "", "", "", ""],  # row 8: 房号 in words
    ["3", "2", "502", "周八", "13600001111", "房东", "", ""],  # row 9: 身份 unknown
]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def xlsx_rows() -> list[list[object]]:
    # Spreadsheets hold room and unit numbers as numbers; a 电话 cell may be a number too.
    typed: list[list[object]] = [HEADER]
    for row in ROWS:
        typed.append(
            [int(c) if c.isdigit() and i in (1, 2) else c for i, c in enumerate(row)]  # type: ignore[misc]
        )
    typed[6][4] = "13700001111;13700002222,13700003333"
    return typed


@pytest.mark.parametrize("kind", ["csv", "csv-gbk", "xlsx"])
def test_every_bad_row_is_reported_by_number_and_the_good_ones_normalised(
    tmp_path: Path, kind: str
) -> None:
    if kind == "xlsx":
        path = write_xlsx(tmp_path / "业主档案.xlsx", xlsx_rows())
    else:
        encoding = "gb18030" if kind == "csv-gbk" else "utf-8-sig"
        path = write_csv(tmp_path / "业主档案.csv", [HEADER, *ROWS], encoding)
    parsed = parse(path)
    assert [(b.row, b.reason) for b in parsed.bad] == [
        (4, "电话 '1381234' is not a phone number"),
        (5, "王建国 of 3栋2单元501 again (row 2)"),
        (8, "房号 '五零一' is not a room number (501, 1201)"),
        (9, "身份 '房东' is none of 业主/租户/家属"),
    ]
    got = {
        residents.address_of(c.address.building or "", c.address.unit_no, c.address.room or ""): (
            c.name,
            [p.shown for p in c.phones],
            c.relation,
            c.priority,
        )
        for _, c in parsed.changes
    }
    assert got == {
        "3栋2单元501": ("王建国", ["13812345678", "02162345678"], "业主", False),
        "C栋1单元1201": (
            "李梅",
            ["13900001111", "62345679"],
            "租户",
            True,
        ),  # B座 -> B栋 as the log
        "B栋302": ("赵六", ["13700001111", "13700002222", "13700003333"], "业主", False),
    }


def test_english_headers_are_read_and_a_file_without_the_needed_columns_is_refused(
    tmp_path: Path,
) -> None:
    english = write_csv(
        tmp_path / "en.csv",
        [
            ["Building", "Unit", "Room", "Name", "Phone", "Relation", "Notes"],
            ["12", "", "1502", "Ann Lee", "+86 138 0013 8000", "tenant", "pets"],
        ],
    )
    ((_, change),) = parse(english).changes
    assert (change.address.building, change.address.room, change.relation, change.notes) == (
        "12栋",
        "1502",
        "租户",
        "pets",
    )
    with pytest.raises(DirectoryFileError, match="header row lacks room, name"):
        parse(write_csv(tmp_path / "bad.csv", [["楼栋", "电话"], ["3", "13800138000"]]))
    with pytest.raises(DirectoryFileError, match="not a readable XLSX"):
        parse(write_csv(tmp_path / "fake.xlsx", [HEADER]))


def hotline(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    environ["HOME"] = str(cwd)
    return subprocess.run(
        [sys.executable, "-m", "hotline", "--data-dir", str(cwd / "data"), *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_imports_nothing_from_a_file_with_bad_rows_unless_told(tmp_path: Path) -> None:
    assert hotline(tmp_path, "db", "upgrade").returncode == 0
    path = write_csv(tmp_path / "erp.csv", [HEADER, *ROWS])
    refused = hotline(tmp_path, "residents", "import", str(path))
    assert refused.returncode == 65
    assert "erp.csv: row 4: 电话 '1381234' is not a phone number" in refused.stderr
    assert "4 bad row(s), nothing imported" in refused.stderr
    exported = hotline(tmp_path, "residents", "export")
    assert exported.stdout.strip().splitlines() == [",".join(HEADER)]  # nothing was kept

    done = hotline(tmp_path, "residents", "import", "--skip-bad-rows", str(path))
    assert done.returncode == 0, done.stderr
    assert "3 resident(s) imported: 3 added, 0 updated, 0 unchanged; 4 bad row(s)" in done.stdout
    rows = list(csv.reader(io.StringIO(hotline(tmp_path, "residents", "export").stdout)))
    assert rows[1:] == [
        ["3栋", "2", "501", "王建国", "13812345678、02162345678", "业主", "", ""],
        ["B栋", "", "302", "赵六", "13700001111、13700002222、13700003333", "业主", "", ""],
        ["C栋", "1", "1201", "李梅", "13900001111、62345679", "租户", "独居老人", "是"],
    ]
    # The export reads back as the same directory: nothing changes on its re-import.
    out = tmp_path / "export.xlsx"
    assert hotline(tmp_path, "residents", "export", "-o", str(out)).returncode == 0
    again = hotline(tmp_path, "residents", "import", str(out))
    assert "3 resident(s) imported: 0 added, 0 updated, 3 unchanged" in again.stdout


def test_a_re_import_updates_and_keeps_the_history_of_every_field(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    first = write_csv(tmp_path / "a.csv", [HEADER, ROWS[0], ROWS[1]])
    changed = [*ROWS[0]]
    changed[4], changed[7] = "13812345678", "是"  # the landline dropped; now 重点
    second = write_csv(tmp_path / "b.csv", [HEADER, changed, ROWS[1]])
    for path in (first, second):
        with sessions.begin() as s:
            outcomes = [residents.save(s, c, f"import {path.name}") for _, c in parse(path).changes]
    assert outcomes == ["updated", "unchanged"]
    with sessions() as s:
        wang = s.scalars(select(Resident).where(Resident.name == "王建国")).one()
        assert wang.priority and [p.number for p in wang.phones] == ["+8613812345678"]
        history = [
            (r.origin, r.field, r.old_value, r.new_value)
            for r in residents.history(s, wang.household_id)
        ]
        assert history[-2:] == [
            ("import b.csv", "priority", None, "是"),
            ("import b.csv", "phones", "13812345678、02162345678", "13812345678"),
        ]
        assert ("import a.csv", "name", None, "王建国") in history
        assert s.scalar(select(DirectoryRevision.changed_at)) is not None
        assert len(s.scalars(select(Household)).all()) == 2


def test_the_layout_knows_the_estates_buildings_units_and_floors(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    rows = [HEADER, ROWS[0], ROWS[1], ["3", "2", "1802", "钱九", "", "", "", ""]]
    with sqlite_sessions.begin() as s:
        for _, change in parse(write_csv(tmp_path / "l.csv", rows)).changes:
            residents.save(s, change, "test")
    with sqlite_sessions() as s:
        estate = residents.layout(s)
    assert estate.knows("3栋2单元1101") and estate.knows("3栋") and estate.knows("C栋1单元301")
    assert estate.knows("601室")  # a room said alone: nothing to check it against
    assert not estate.knows("9栋1单元501")  # no 9栋
    assert not estate.knows("3栋5单元501")  # 3栋 has no 5单元
    assert not estate.knows("3栋2单元2401")  # above its top floor
    assert not estate.knows("3栋2单元505")  # two doors a floor
    assert residents.Layout().knows("9栋1单元501")  # no directory: every address is possible


@pytest.mark.parametrize(
    ("raw", "number", "local"),
    [
        ("13812345678", "+8613812345678", "13812345678"),
        ("+86 138-1234-5678", "+8613812345678", "13812345678"),
        ("021-62345678", "+862162345678", "62345678"),
        ("62345678", "62345678", "62345678"),
        ("0755 8888 1234", "+8675588881234", "88881234"),
    ],
)
def test_numbers_are_normalised_for_lookup(raw: str, number: str, local: str) -> None:
    assert residents.phone_key(raw) == residents.PhoneKey(number, local)


@pytest.mark.parametrize("raw", ["sipp", "123", "", None, "1381234"])
def test_what_is_not_a_number_is_none(raw: str | None) -> None:
    assert residents.phone_key(raw) is None
