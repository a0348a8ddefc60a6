"""Query-string values checked where they enter: out of range is a 400 or is clamped,
never a 500 from a date or an integer the database or `datetime` cannot hold.
"""

from __future__ import annotations

from datetime import date

from flask import abort, request

#: Days the desk accepts. Call records start long after MIN_DAY; MAX_DAY leaves a year
#: of room for "the day after" and "the end of the month" (date.max + 1 day overflows).
MIN_DAY = date(1900, 1, 1)
MAX_DAY = date(9998, 12, 31)
#: A page number beyond every page is clamped to this, then to the last page.
MAX_PAGE = 1_000_000
#: The largest id a 32-bit INTEGER column holds (PostgreSQL refuses bigger ones).
MAX_ID = 2**31 - 1


def in_range(day: date) -> bool:
    return MIN_DAY <= day <= MAX_DAY


def parse_day(value: str) -> date:
    """An ISO date the desk can compute with; ValueError for anything else."""
    day = date.fromisoformat(value)
    if not in_range(day):
        raise ValueError(f"{value}: outside {MIN_DAY}..{MAX_DAY}")
    return day


def day_arg(name: str, default: date) -> date:
    """The query argument `name` as a day (`default` when absent or empty), else 400."""
    raw = request.args.get(name) or ""
    if not raw:
        return default
    try:
        return parse_day(raw)
    except ValueError:
        abort(400)


def page_number(raw: str | None) -> int:
    """Page 1 for anything that is not a number; at most MAX_PAGE."""
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return 1
    # Not int() of a huge string: Python refuses more than 4300 digits (ValueError).
    return MAX_PAGE if len(raw) > 7 else min(max(1, int(raw)), MAX_PAGE)


def year_arg(name: str, default: int) -> int:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not (
        MIN_DAY.year <= int(raw) <= MAX_DAY.year
    ):
        abort(400)
    return int(raw)


def id_or_none(raw: str | None) -> int | None:
    """A row id (None when absent); ValueError when it cannot be an id at all."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not 0 < int(raw) <= MAX_ID:
        raise ValueError(f"{raw!r} is not an id")
    return int(raw)
