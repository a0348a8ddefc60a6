"""The figures the desk is judged on, per month (issue 20), each beside its target.

The seeds name them: 报修及时率 ≥ 98 % and 返修率 ≤ 5 % (seed 002, plan 三.3), phone
follow-up of repairs ≥ 50 % (seed 000 1.4.3.6.1), complaints handled 100 % (seed 002's
annual summary: 处理率100%), relay (转告) on time and missed calls called back within
the day (首问责任制, seed 001 篇3). Definitions, for a month [start, end):

- repair_timely: repair entries received in the month; timely when a work order was
  dispatched by the promised reply time (promised_reply_at, else the category's
  reply_within_minutes after receipt) and completed (done) within `repair_limit_hours`
  of receipt (the work order's department's own limit where one is set:
  repair_limit_hours_by_department). A repair never completed is not timely.
- rework: repairs whose work order was completed in the month; reworked when the same
  unit reported the same thing again (issue 20; seed 002 plan 三.3): a repair entry of
  the same unit received after the completion and within `rework_days` days of it (it
  may fall in the next month: it is looked for there), of the same kind (`urgency`:
  safety facility, leak or other, seed 000 1.4.3.6.2) and the same department
  (`dispatch_department`, where both entries name one): `rework_same`, configurable
  (empty: any repair of the unit).
- follow_up: the same completed repairs; followed up when a follow-up call reached the
  resident (FollowUp.reached).
- satisfaction: follow-ups that reached someone in the month and recorded an answer;
  satisfied ÷ answered.
- complaints_handled: complaints registered in the month; handled when closed (the
  mean hours to close are given beside it).
- relay_on_time: 转告 (category `message`) entries received in the month; on time when a
  person first acted on it (a status or handling change, or a follow-up call) within the
  category's reply_within_minutes.
- callback_same_day: missed or abandoned calls of the month with their call-back entry;
  called back the same local day when a person acted on the entry that day.

The database counts them (recorder/kpi_counts.py: one aggregate query per figure, grouped),
so a month of 100,000 calls takes well under a second (bench/kpi_report.py).
Each figure is counted for the whole desk and per category, department (the first work
order's, else the category's) and staff member (the entry's 首问负责人). A figure with
nothing to count is None, never 0 % or 100 %.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from recorder import kpi_counts

#: (key, higher is better) in the order the report shows them.
FIGURES = (
    ("repair_timely", True),
    ("rework", False),
    ("follow_up", True),
    ("satisfaction", True),
    ("complaints_handled", True),
    ("relay_on_time", True),
    ("callback_same_day", True),
)
#: (category, department, staff member) of an entry.
Group = tuple[str | None, str | None, str | None]
DIMENSIONS = ("category", "department", "staff")


@dataclass(frozen=True)
class Targets:
    """The seeds' numbers by default; None: no target."""

    repair_timely: float | None = 0.98
    rework: float | None = 0.05
    follow_up: float | None = 0.50
    satisfaction: float | None = None
    complaints_handled: float | None = 1.0
    relay_on_time: float | None = 1.0
    callback_same_day: float | None = 1.0
    repair_limit_hours: float = 72.0
    #: (department, hours) where a department's own limit differs from repair_limit_hours.
    repair_limit_hours_by_department: tuple[tuple[str, float], ...] = ()
    rework_days: int = 30
    #: What else a repair reported again shares to be "the same thing" (kpi_counts.REWORK_SAME).
    rework_same: tuple[str, ...] = kpi_counts.REWORK_SAME


@dataclass
class Figure:
    key: str
    counted: int = 0
    met: int = 0
    target: float | None = None
    higher_is_better: bool = True

    @property
    def value(self) -> float | None:
        return self.met / self.counted if self.counted else None

    @property
    def on_target(self) -> bool | None:
        if self.value is None or self.target is None:
            return None
        if self.higher_is_better:
            return self.value >= self.target - 1e-9
        return self.value <= self.target + 1e-9


@dataclass
class Report:
    """The month's figures: `desk` for the whole desk, `by[dimension][key]` per group."""

    start: datetime
    end: datetime
    desk: dict[str, Figure]
    by: dict[str, dict[str, dict[str, Figure]]]
    complaint_hours: float | None = None
    complaint_hours_by: dict[str, float] = field(default_factory=dict)


class _Counter:
    def __init__(self, targets: Targets) -> None:
        self._targets = targets
        self.desk = self._figures()
        self.by: dict[str, dict[str, dict[str, Figure]]] = {
            dimension: defaultdict(self._figures) for dimension in DIMENSIONS
        }
        self._counted_in: dict[Group, list[dict[str, Figure]]] = {}

    def _figures(self) -> dict[str, Figure]:
        return {
            key: Figure(key, target=getattr(self._targets, key), higher_is_better=higher)
            for key, higher in FIGURES
        }

    def add(self, key: str, counted: int, met: int, group: Group) -> None:
        counted_in = self._counted_in.get(group)
        if counted_in is None:
            counted_in = [self.desk]
            counted_in += [
                self.by[d][name] for d, name in zip(DIMENSIONS, group, strict=True) if name
            ]
            self._counted_in[group] = counted_in
        for figures in counted_in:
            figure = figures[key]
            figure.counted += counted
            figure.met += met


def monthly_kpis(
    session: Session,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    reply_minutes: Callable[[str], int],
    category_department: Callable[[str], str],
    staff_name: Callable[[int], str] | None = None,
    targets: Targets | None = None,
) -> Report:
    """The KPIs of the entries, work orders, follow-ups and complaints of [start, end).

    `reply_minutes(category)` and `category_department(category)` come from the category
    rules (config/rules/categories.toml); `staff_name` names a user id (else the id)."""
    targets = targets or Targets()
    counter = _Counter(targets)
    name = staff_name or str

    def add(key: str, rows: list[kpi_counts.Counted], met_column: int = 0) -> None:
        for category, department, staff, counted, *met in rows:
            group = (
                category,
                department or category_department(category),
                name(staff) if staff else None,
            )
            counter.add(key, int(counted), int(met[met_column] or 0), group)

    limit_s = targets.repair_limit_hours * 3600
    limits_s = {name: hours * 3600 for name, hours in targets.repair_limit_hours_by_department}
    reply_s = {key: reply_minutes(key) * 60.0 for key in ("repair", "message")}
    timely = kpi_counts.repair_timely(session, start, end, reply_s["repair"], limit_s, limits_s)
    add("repair_timely", timely)
    add("relay_on_time", kpi_counts.relay_on_time(session, start, end, reply_s["message"]))
    window_s = targets.rework_days * 86400.0
    done = kpi_counts.completed_repairs(session, start, end, window_s, targets.rework_same)
    add("rework", done, 0)
    add("follow_up", done, 1)
    add("satisfaction", kpi_counts.satisfaction(session, start, end))
    add("callback_same_day", kpi_counts.callbacks(session, start, end, zone))
    hours: list[float] = []
    per: dict[str, list[float]] = defaultdict(list)
    for category, first, staff, spent in kpi_counts.complaints(session, start, end):
        department = first or category_department(category)
        group = (category, department, name(staff) if staff else None)
        counter.add("complaints_handled", 1, int(spent is not None), group)
        if spent is not None:
            hours.append(float(spent))
            per[department].append(float(spent))
    by_department = {k: m for k, v in per.items() if (m := _mean(v)) is not None}
    return Report(start, end, counter.desk, counter.by, _mean(hours), by_department)


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) / len(items) if items else None
