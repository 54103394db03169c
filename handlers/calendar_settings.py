"""The ``[calendar]`` table of a policy file: read, checked, and turned into a calendar.

Kept apart from ``handlers.calendar`` so that the calendar itself knows nothing of files;
``read_settings`` raises ``SettingError`` with the key path below ``calendar`` so that the
policy reader can name the line.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.numbers import is_ascii_number
from handlers.calendar import (
    CalendarError,
    DayKind,
    DayRule,
    FallbackRules,
    WorkingCalendar,
    WorkingHours,
)

_NONE: frozenset[int] = frozenset()


@dataclass(frozen=True)
class CalendarSettings:
    """The ``[calendar]`` part of a policy; ``calendar()`` turns it into a WorkingCalendar."""

    timezone: str
    working_hours: WorkingHours
    business_hours: WorkingHours
    use_chinese_calendar: bool = True
    fallback: FallbackRules = field(default_factory=FallbackRules)
    overrides: Mapping[date, DayKind] = field(default_factory=dict)  # from [calendar.years.*]
    schedule_years: frozenset[int] = frozenset()

    def calendar(
        self, overrides: Mapping[date, DayKind] | None = None, schedule_years: Set[int] = _NONE
    ) -> WorkingCalendar:
        """The working calendar, with the operator's database entries over the file's own."""
        return WorkingCalendar(
            self.working_hours,
            self.timezone,
            {**self.overrides, **(overrides or {})},
            set(self.schedule_years) | set(schedule_years),
            business_hours=self.business_hours,
            fallback=self.fallback,
            use_chinese_calendar=self.use_chinese_calendar,
        )


_SETTINGS = ("timezone", "holidays", "working_hours", "business_hours", "fallback", "years")


class SettingError(CalendarError):
    """A bad ``[calendar]`` value; ``path`` is its key path below ``calendar``."""

    def __init__(self, path: tuple[str | int, ...], problem: str, hint: str | None = None):
        super().__init__(problem)
        self.path, self.problem, self.hint = path, problem, hint


def _typed(table: Mapping[str, Any], path: tuple[str | int, ...], kind: type, what: str) -> Any:
    node: Any = table
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int):
            node = node[part]
        else:
            raise SettingError(path, "missing; it is required")
    if not isinstance(node, kind):
        raise SettingError(path, f"expected {what}, found {type(node).__name__} {node!r}")
    if isinstance(node, list):
        for i, item in enumerate(node):
            _typed(table, (*path, i), str, "a string")
    return node


def _known(table: Mapping[str, Any], path: tuple[str, ...], keys: tuple[str, ...]) -> None:
    for key in _typed(table, path, dict, "a table") if path else table:
        if key not in keys:
            raise SettingError((*path, key), f"unknown key; expected one of {', '.join(keys)}")


def _dates(table: Mapping[str, Any], path: tuple[str, ...], year: int | None) -> list[date]:
    result = []
    for i, text in enumerate(_typed(table, path, list, "a list of dates")):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            problem = f'expected a date like "2027-02-06", found {text!r}'
            raise SettingError((*path, i), problem, text) from None
        if year is not None and day.year != year:
            raise SettingError((*path, i), f"expected a date in {year}, found {text!r}", text)
        result.append(day)
    return result


def read_settings(table: Mapping[str, Any]) -> CalendarSettings:
    """Check and read a ``[calendar]`` table as parsed from TOML (see default_policy.toml)."""
    _known(table, (), _SETTINGS)
    zone = _typed(table, ("timezone",), str, "a time zone name")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        problem = f"expected a zone such as Asia/Shanghai, found {zone!r}"
        raise SettingError(("timezone",), problem) from None
    source = _typed(table, ("holidays",), str, "a holiday source")
    if source not in ("chinese_calendar", "fallback"):
        problem = f'expected "chinese_calendar" or "fallback", found {source!r}'
        raise SettingError(("holidays",), problem)
    hours = {}
    for key in ("working_hours", "business_hours"):
        _known(table, (key,), ("periods", "days"))
        periods = _typed(table, (key, "periods"), list, "a list of periods")
        days = _typed(table, (key, "days"), str, "a day rule")
        if days not in tuple(DayRule):
            problem = f'expected "working_days" or "every_day", found {days!r}'
            raise SettingError((key, "days"), problem)
        try:
            hours[key] = WorkingHours.parse(periods, days)
        except CalendarError as exc:
            problem = f'expected periods like "09:00-12:00" ({exc})'
            raise SettingError((key, "periods"), problem) from None
    _known(table, ("fallback",), ("fixed_holidays", "qingming", "extra_holidays"))
    fixed = set()
    for i, text in enumerate(_typed(table, ("fallback", "fixed_holidays"), list, "a list")):
        try:  # 2000 is a leap year, so 02-29 is accepted
            day = date.fromisoformat(f"2000-{text}") if len(text) == 5 else None
        except ValueError:
            day = None
        if day is None:
            problem = f'expected a month-day like "10-01", found {text!r}'
            raise SettingError(("fallback", "fixed_holidays", i), problem, text)
        fixed.add((day.month, day.day))
    qingming = _typed(table, ("fallback", "qingming"), bool, "true or false")
    extra = frozenset(_dates(table, ("fallback", "extra_holidays"), None))
    overrides: dict[date, DayKind] = {}
    years = table.get("years", {})
    for year in _typed(table, ("years",), dict, "a table") if "years" in table else ():
        _known(table, ("years", year), ("holidays", "workdays"))
        if not (is_ascii_number(year) and len(year) == 4):
            raise SettingError(("years", year), f"expected a year like 2027, found {year!r}")
        for day in _dates(table, ("years", year, "workdays"), int(year)):
            overrides[day] = DayKind.MAKEUP_WORKDAY if day.weekday() >= 5 else DayKind.WORKDAY
        for day in _dates(table, ("years", year, "holidays"), int(year)):
            overrides[day] = DayKind.HOLIDAY
    return CalendarSettings(
        zone, hours["working_hours"], hours["business_hours"], source == "chinese_calendar",
        FallbackRules(frozenset(fixed), qingming, extra), overrides, frozenset(map(int, years)),
    )
