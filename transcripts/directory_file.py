"""The resident directory as property ERPs export it (CSV or XLSX): a header row with
楼栋, 单元, 房号, 姓名, 电话, 身份, 备注 (and 重点 for the 重点业户 of seed 001 篇5 7), or
building, unit, room, name, phone, relation, notes, priority. Addresses are normalised as
the reception log writes units (transcripts.addresses.unit: 3栋2单元501, B座 -> B栋);
several numbers in one 电话 cell are split on 、 , / ; and spaces.

Every bad row is reported with its row number (as the spreadsheet numbers it) and why.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from recorder.directory import RELATIONS
from recorder.errors import HotlineError
from recorder.residents import Address, Change, PhoneKey, address_of, parse_address, phone_key
from transcripts import addresses, text

#: Header (lower case) -> field.
HEADERS = {
    "楼栋": "building",
    "楼号": "building",
    "栋号": "building",
    "building": "building",
    "单元": "unit",
    "unit": "unit",
    "房号": "room",
    "房间号": "room",
    "室号": "room",
    "room": "room",
    "姓名": "name",
    "业主姓名": "name",
    "name": "name",
    "电话": "phone",
    "联系电话": "phone",
    "手机": "phone",
    "phone": "phone",
    "身份": "relation",
    "relation": "relation",
    "备注": "notes",
    "notes": "notes",
    "重点": "priority",
    "重点业户": "priority",
    "priority": "priority",
}
REQUIRED = ("building", "room", "name")
#: English 身份 values.
RELATION_WORDS = {"owner": "业主", "tenant": "租户", "family": "家属"}
YES = {"是", "y", "yes", "1", "true", "重点", "√"}
NO = {"", "否", "n", "no", "0", "false"}
_SPLIT = re.compile(r"[、,，/;；]+")
_BARE_BUILDING = re.compile(r"[A-Z]?\d{1,3}|[A-Z]")


class DirectoryFileError(HotlineError):
    """The file cannot be read as a directory at all (format, header), or has bad rows."""

    exit_code = 65  # EX_DATAERR


@dataclass(frozen=True)
class BadRow:
    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass(frozen=True)
class Parsed:
    changes: list[tuple[int, Change]]
    bad: list[BadRow]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 501.0 from a spreadsheet's number cell
    return str(value).strip()


def read_table(path: Path) -> list[list[str]]:
    """The rows of the first sheet (XLSX) or of the CSV (UTF-8, or GBK as older ERPs write)."""
    if not path.is_file():
        raise DirectoryFileError(f"{path}: no such file")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not XLSX
            raise DirectoryFileError(f"{path}: not a readable XLSX file ({exc})") from None
        try:
            sheet = book.worksheets[0]
            return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        finally:
            book.close()
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            decoded = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise DirectoryFileError(f"{path}: neither UTF-8 nor GBK text")
    return [[_cell(v) for v in row] for row in csv.reader(decoded.splitlines())]


def columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for at, name in enumerate(header):
        key = HEADERS.get(name.strip().lower())
        if key is not None and key not in found:
            found[key] = at
    missing = [k for k in REQUIRED if k not in found]
    if missing:
        raise DirectoryFileError(
            f"header row lacks {', '.join(missing)} (楼栋, 房号, 姓名; or building, room, name); "
            f"it has: {', '.join(h for h in header if h) or 'nothing'}"
        )
    return found


def building(cell: str) -> str | None:
    """楼栋 as the log writes it: 3, 3栋, 三栋, 3号楼 -> 3栋; C, C座 -> C栋; 2期3栋."""
    said = cell.strip().upper()
    if _BARE_BUILDING.fullmatch(said):
        said += "栋"
    normal = addresses.unit(text.numeric(said))
    parts = parse_address(normal or "")
    return normal if parts is not None and parts.building == normal else None


def numbers(cell: str) -> list[str]:
    """The numbers of a 电话 cell: split on 、 , / ; and on spaces unless the spaces are
    inside one number (+86 138 0013 8000, 021 6234 5678)."""
    found: list[str] = []
    for said in _SPLIT.split(cell):
        piece = said.strip()
        if piece and phone_key(piece) is None and len(piece.split()) > 1:
            found += piece.split()
        elif piece:
            found.append(piece)
    return found


def row_change(values: dict[str, str]) -> Change | str:
    """One row's resident, or why the row is bad."""
    built = building(values["building"])
    if built is None:
        return f"楼栋 {values['building']!r} is not a building (3, 3栋, C座, 2期3栋)"
    unit_cell = text.numeric(values.get("unit", "")).strip()
    unit = re.fullmatch(r"(\d{1,2})?\s*(?:单元|门)?", unit_cell)
    if unit is None:
        return f"单元 {values.get('unit')!r} is not a unit number"
    room = re.fullmatch(r"(\d{3,4})\s*(?:室|号|房)?", values["room"])
    if room is None:
        return f"房号 {values['room']!r} is not a room number (501, 1201)"
    if not values["name"]:
        return "姓名 is empty"
    phones: list[PhoneKey] = []
    for said in numbers(values.get("phone", "")):
        key = phone_key(said)
        if key is None:
            return f"电话 {said!r} is not a phone number"
        if key not in phones:
            phones.append(key)
    relation = values.get("relation", "")
    relation = RELATION_WORDS.get(relation.lower(), relation)
    if relation and relation not in RELATIONS:
        return f"身份 {relation!r} is none of {'/'.join(RELATIONS)}"
    flag = values.get("priority", "").lower()
    if flag not in YES | NO:
        return f"重点 {values.get('priority')!r} is neither 是 nor 否"
    unit_no = str(int(unit.group(1))) if unit.group(1) else None
    return Change(
        Address(built, unit_no, room.group(1)),
        values["name"],
        phones,
        relation or None,
        values.get("notes") or None,
        flag in YES,
    )


def parse(path: Path) -> Parsed:
    """Every row of the file as a Change, or as a BadRow; blank rows are skipped."""
    table = read_table(path)
    header_at = next((i for i, row in enumerate(table) if any(row)), None)
    if header_at is None:
        raise DirectoryFileError(f"{path}: empty file")
    where = columns(table[header_at])
    changes: list[tuple[int, Change]] = []
    bad: list[BadRow] = []
    seen: dict[tuple[str, str], int] = {}
    for number, row in enumerate(table[header_at + 1 :], start=header_at + 2):
        if not any(row):
            continue
        values = {key: row[at] if at < len(row) else "" for key, at in where.items()}
        change = row_change(values)
        if isinstance(change, str):
            bad.append(BadRow(number, change))
            continue
        parts = change.address
        key = (address_of(parts.building or "", parts.unit_no, parts.room or ""), change.name)
        if key in seen:
            bad.append(BadRow(number, f"{key[1]} of {key[0]} again (row {seen[key]})"))
            continue
        seen[key] = number
        changes.append((number, change))
    return Parsed(changes, bad)
