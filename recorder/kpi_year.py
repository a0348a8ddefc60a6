"""The year's KPIs (issue 20; the annual summary of seed 001 篇3, seed 002 plan 三.3): the
figures of recorder/kpi.py for each month of a year, and the year's total.

The total is the sum of the months: each figure's counted and met added month by month
(every item is counted in the one month its definition puts it in: received, completed,
registered, followed up or called in), so the year's share is met ÷ counted over the
year, never a mean of monthly shares. The mean hours to close a complaint are weighted by
the complaints closed in each month.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from recorder.kpi import FIGURES, Figure, Report


@dataclass
class YearReport:
    year: int
    months: list[Report]
    total: Report


def yearly_kpis(
    year: int,
    bounds: list[tuple[datetime, datetime]],
    month: Callable[[datetime, datetime], Report],
) -> YearReport:
    """`month(start, end)` (recorder.kpi.monthly_kpis with the desk's rules) for each
    month's bounds, in order, and their total."""
    months = [month(start, end) for start, end in bounds]
    return YearReport(year, months, year_total(months))


def year_total(months: list[Report]) -> Report:
    """The months' figures added up; the total covers the first's start to the last's end."""
    if not months:
        raise ValueError("a year's total needs its months' reports")
    desk = _figures_like(months[0].desk)
    by: dict[str, dict[str, dict[str, Figure]]] = {}
    for report in months:
        _add(desk, report.desk)
        for dimension, groups in report.by.items():
            into = by.setdefault(dimension, {})
            for key, figures in groups.items():
                _add(into.setdefault(key, _figures_like(figures)), figures)
    hours, hours_by = _complaint_hours(months)
    return Report(months[0].start, months[-1].end, desk, by, hours, hours_by)


def _figures_like(figures: dict[str, Figure]) -> dict[str, Figure]:
    return {
        key: Figure(key, target=figures[key].target, higher_is_better=higher)
        for key, higher in FIGURES
    }


def _add(total: dict[str, Figure], month: dict[str, Figure]) -> None:
    for key, figure in month.items():
        total[key].counted += figure.counted
        total[key].met += figure.met


def _complaint_hours(months: list[Report]) -> tuple[float | None, dict[str, float]]:
    """Means weighted by the complaints closed (complaints_handled.met) in each month."""
    spent, closed = 0.0, 0
    spent_by: dict[str, float] = defaultdict(float)
    closed_by: dict[str, int] = defaultdict(int)
    for report in months:
        if report.complaint_hours is not None:
            count = report.desk["complaints_handled"].met
            spent += report.complaint_hours * count
            closed += count
        departments = report.by.get("department", {})
        for department, mean in report.complaint_hours_by.items():
            figures = departments.get(department)
            count = figures["complaints_handled"].met if figures else 0
            spent_by[department] += mean * count
            closed_by[department] += count
    overall = spent / closed if closed else None
    return overall, {k: spent_by[k] / n for k, n in closed_by.items() if n}
