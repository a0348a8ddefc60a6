"""The web desk's edge against hostile values (issue 15): spreadsheet formulas in the
exports, playback audit whatever the Range header, out-of-range query values.

What is kept is stated per test: the text of every cell as the resident or caller
gave it; one audit row per playback; the pages answer 400 or a clamped page, never 500.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from admin.playback import WINDOW
from recorder.models import (
    ENTRY_FIELDS,
    AuditEvent,
    Call,
    Direction,
    Disposition,
    FieldSource,
    Recording,
)
from recorder.reception_log import new_entry
from tests.browser import desk
from tests.test_admin import Desk, both_fixture, build

__all__ = ["both_fixture"]

#: Fields a caller or resident fills, each with a payload a spreadsheet would run.
PAYLOADS = {
    "caller_number": "=0+1",  # what the agent stores for From: <sip:=0+1@...>
    "surname": "+1+1",
    "unit": '=0+HYPERLINK("http://evil.example/","详情")',
    "phone": "-2+3+cmd|' /C calc'!A0",
    "summary": "\t=1+1",
    "handling": "  @SUM(1+1)*cmd|' /C calc'!A0",
    "dispatch_department": "\r=1+1",
}
DAY = "date_from=2026-11-23&date_to=2026-11-23"


class Clock:
    """The desk's clock seam, moved on by the test."""

    def __init__(self) -> None:
        self.now = desk.NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(name="web")
def web_fixture(tmp_path: Path) -> Iterator[tuple[Desk, Clock]]:
    """SQLite, with a clock the test moves."""
    clock = Clock()
    gen = build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}")
    plain = next(gen)
    yield Desk(plain.app, desk.web(plain.app, CLOCK=clock), plain.seeded), clock
    gen.close()


def _hostile_entry(web: Desk, **changes: str) -> int:
    with web.app.sessions.begin() as session:
        call = Call(
            call_id="hostile@test",
            direction=Direction.INBOUND,
            caller_number=PAYLOADS["caller_number"],
            invite_at=desk.NOW - timedelta(minutes=5),
            disposition=Disposition.MISSED,
        )
        session.add(call)
        session.flush()
        entry = new_entry(
            session,
            {
                "call_pk": call.id,
                "received_at": desk.NOW - timedelta(minutes=5),
                **PAYLOADS,
                **changes,
            },
            FieldSource.AUTO,
        )
        session.flush()
        return entry.id


def test_csv_cells_that_look_like_formulas_are_inert_text(web: tuple[Desk, Clock]) -> None:
    """What is kept: every payload's text, after the apostrophe spreadsheets hide."""
    client = web[0]
    _hostile_entry(client)
    client.login("supervisor")
    body = client.client.get(f"/exports/log.csv?{DAY}").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body, newline="")))
    headers, hostile = rows[0], next(r for r in rows if "'=0+1" in r)
    cells = dict(zip(ENTRY_FIELDS, hostile, strict=True))
    for field, payload in PAYLOADS.items():
        assert cells[field] == "'" + payload, field
    for row in rows[1:]:
        for cell in row:
            assert cell.lstrip(" ")[:1] not in "=+-@\t\r\n" or cell == "", cell
    assert headers[1] == "来电号码"


def test_monthly_csv_cells_are_inert_text(web: tuple[Desk, Clock]) -> None:
    """The monthly report groups by typed names (a department here): what is kept is the
    name's text after the hidden apostrophe; the counts stay numbers."""
    client = web[0]
    _hostile_entry(client, status="dispatched")
    client.login("supervisor")
    response = client.client.get(f"/supervision/monthly.csv?month={desk.TODAY:%Y-%m}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + PAYLOADS["dispatch_department"] in cells
    assert all(cell.lstrip(" ")[:1] not in "=+-@\t\r\n" or cell in ("", "-") for cell in cells), (
        cells
    )


def test_xlsx_cells_are_strings_never_formulas(web: tuple[Desk, Clock]) -> None:
    """What is kept: the visible text exactly; control characters XLSX cannot hold
    become U+FFFD instead of failing the whole export."""
    client = web[0]
    _hostile_entry(client, handling=PAYLOADS["handling"] + "\x1b[31m")
    client.login("supervisor")
    response = client.client.get(f"/exports/log.xlsx?{DAY}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(min_row=2))
    filled = [cell for row in rows for cell in row if cell.value is not None]
    # Never "f" (a formula): text, or a real date in the date columns (issue 21).
    assert filled and all(cell.data_type in ("s", "d", "n") for cell in filled)
    dates = {ENTRY_FIELDS.index(n) for n in ("received_at", "promised_reply_at", "follow_up_due")}
    assert all(
        c.data_type == "s"
        for row in rows
        for i, c in enumerate(row)
        if i not in dates and c.value is not None
    )
    hostile = next(row for row in rows if row[1].value == PAYLOADS["caller_number"])
    by_field = dict(zip(ENTRY_FIELDS, hostile, strict=True))
    for field, payload in PAYLOADS.items():
        expected = payload + "\N{REPLACEMENT CHARACTER}[31m" if field == "handling" else payload
        expected = expected.replace("\r", "\n")  # XML reads a CR as a line feed
        assert by_field[field].value == expected, field
        assert by_field[field].quotePrefix, field  # stays text when edited in Excel
    assert not by_field["category"].quotePrefix


def _audio(web: Desk, headers: dict[str, str] | None = None, method: str = "GET") -> int:
    path = f"/entries/recordings/{web.seeded.recording}/audio"
    return web.client.open(path, method=method, headers=headers or {}).status_code


def _audit_rows(web: Desk) -> list[tuple[str, str, int | None]]:
    with web.app.sessions() as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.target, AuditEvent.user_id).order_by(AuditEvent.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


_all_rows = _audit_rows


def _reads(web: Desk) -> list[tuple[str, str, int | None]]:
    """The audit rows of reads of the recording (not the views of its entry)."""
    return [row for row in _audit_rows(web) if row[0] != "view_entry"]


@pytest.mark.parametrize(
    "ranged",
    [None, "bytes=0-", "Bytes=0-", "bytes=00-", "bytes=0000-", "bytes= 0-", "bytes=1-",
     "bytes=1000-1999", "BYTES=-500"],
)  # fmt: skip
def test_every_read_of_the_audio_is_audited_whatever_the_range(
    web: tuple[Desk, Clock], ranged: str | None
) -> None:
    """Before: only no Range or `bytes=0-` was audited; `bytes=00-` took every byte."""
    client, _clock = web
    client.login("clerk")
    status = _audio(client, {"Range": ranged} if ranged else None)
    assert status == (200 if ranged is None else 206)
    target = f"recording:{client.seeded.recording}"
    assert _audit_rows(client) == [("playback", target, client.seeded.clerk)]


def test_one_playback_is_one_row_and_a_page_view_is_none(web: tuple[Desk, Clock]) -> None:
    client, clock = web
    client.login("clerk")
    target = f"recording:{client.seeded.recording}"
    page = client.client.get(f"/entries/{client.seeded.entry}").text
    assert 'preload="none"' in page and 'preload="metadata"' not in page
    # Showing the page reads no audio: it is a look at the entry (issue 21), not a playback.
    entry = f"entry:{client.seeded.entry}"
    assert _all_rows(client) == [("view_entry", entry, client.seeded.clerk)]

    # The waveform is drawn on every view: audited as such, never as a playback.
    assert client.client.get(f"/entries/recordings/{client.seeded.recording}/peaks.json").is_json
    assert _reads(client) == [("waveform", target, client.seeded.clerk)]
    # A browser plays in several ranged requests (start, seeks, resume): one playback.
    for ranged in ("bytes=0-", "bytes=30000-", "bytes=0-", "bytes=64000-"):
        assert _audio(client, {"Range": ranged}) == 206
    clock.now += WINDOW - timedelta(seconds=1)
    assert _audio(client) == 200
    assert [row[0] for row in _reads(client)] == ["waveform", "playback"]
    # HEAD and an unsatisfiable range send no audio: nothing audited.
    clock.now += WINDOW + timedelta(seconds=1)
    assert _audio(client, method="HEAD") == 200
    assert _audio(client, {"Range": "bytes=99999999-"}) == 416
    assert [row[0] for row in _reads(client)] == ["waveform", "playback"]
    # Later again: a new playback. Another user's listen is theirs.
    assert _audio(client, {"Range": "bytes=0-"}) == 206
    client.client.post("/logout", data={"csrf_token": client.token("/")})
    client.login("supervisor")
    assert _audio(client, {"Range": "bytes=0-"}) == 206
    users = [(row[0], row[2]) for row in _reads(client)]
    clerk, supervisor = client.seeded.clerk, client.seeded.supervisor
    assert users == [
        ("waveform", clerk),
        ("playback", clerk),
        ("playback", clerk),
        ("playback", supervisor),
    ]


def test_a_failed_read_is_not_a_playback(web: tuple[Desk, Clock]) -> None:
    client, _clock = web
    with client.app.sessions() as session:
        recording = session.get(Recording, client.seeded.recording)
        assert recording is not None
        Path(recording.path).unlink()
    client.login("clerk")
    assert _audio(client) >= 400
    assert (
        client.client.get(f"/entries/recordings/{client.seeded.recording}/peaks.json").status_code
        >= 400
    )
    assert client.client.get("/entries/recordings/999/audio").status_code == 404
    assert _audit_rows(client) == []


# (path, expected status): the six URLs that answered 500, then their neighbours.
OUT_OF_RANGE = [
    ("/audit/?page=99999999999999999999", 200),
    ("/complaints/?year=99999999999999999999", 400),
    ("/?staff=99999999999999999999", 400),
    ("/exports/daily?day=9999-12-31", 400),
    ("/?date_from=0001-01-01&date_to=9999-12-31", 200),
    ("/exports/log.csv?date_from=0001-01-01&date_to=0001-12-31", 400),
    ("/audit/?page=" + "9" * 5000, 200),
    ("/audit/?page=-3", 200),
    ("/?page=99999999999999999999&date_from=&date_to=", 200),
    ("/?page=99999999999999999999&q=漏水&date_from=&date_to=", 200),
    ("/?staff=-1", 400),
    ("/?staff=0", 400),
    ("/complaints/?year=0", 400),
    ("/complaints/?year=2026", 200),
    ("/exports/daily?day=0001-01-01", 400),
    ("/exports/log.xlsx?date_from=9999-12-01&date_to=9999-12-31", 400),
    ("/exports/log.csv?date_from=2026-01-01&date_to=2026-12-31", 200),
    ("/supervision/?day=9999-12-31", 400),
    ("/supervision/?day=0001-01-01&period=month", 400),
    ("/supervision/daily?day=0001-01-01", 400),
    ("/supervision/monthly?month=9999-12", 400),
    ("/supervision/monthly.csv?month=0001-01", 400),
    ("/supervision/monthly?month=2026-11", 200),
]


def test_out_of_range_query_values_get_400_or_a_clamped_page(both: Desk) -> None:
    """On SQLite and PostgreSQL (whose INTEGER refuses 2**31): never a 500."""
    both.login("admin")
    answers = {path: both.client.get(path).status_code for path, _ in OUT_OF_RANGE}
    assert answers == dict(OUT_OF_RANGE)
    # Clamped, not emptied: all time shows the seeded entry; a huge page is the last page.
    assert "3栋2单元501" in both.client.get("/?date_from=0001-01-01&date_to=9999-12-31").text
    assert "1 / 1" in both.client.get("/audit/?page=99999999999999999999").text


def test_the_audit_page_says_what_was_done(web: tuple[Desk, Clock]) -> None:
    """The action codes (playback, waveform) in the admin's language."""
    client, _clock = web
    client.login("admin")
    client.client.get(f"/entries/recordings/{client.seeded.recording}/peaks.json")
    assert _audio(client) == 200
    page = client.client.get("/audit/").text
    assert "播放录音" in page and "查看波形" in page
    assert client.post("/language", {"language": "zh-TW"}, page="/") == 302
    assert "播放錄音" in client.client.get("/audit/").text
