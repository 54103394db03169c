"""The operator's calendar entries in the database: a year's holidays and make-up workdays.

Entered with ``ivr calendar set-year`` once the State Council publishes a year's schedule;
they win over ``chinese_calendar`` and over the policy file's own ``[calendar.years.*]``.
Until a year is entered (and ``chinese_calendar`` does not cover it), its days are judged by
the fallback rules and every deadline relying on them is marked provisional.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from handlers.calendar import DayInfo, DayKind, WorkingCalendar
from handlers.models import CalendarDay, CalendarYear
from handlers.policy import Policy


class ScheduleError(ValueError):
    """A year's schedule that cannot be entered as given; the message says why."""


def load_calendar(session: Session, policy: Policy) -> WorkingCalendar:
    """The policy's calendar with every entered year over it."""
    overrides = {row.day: DayKind(row.kind) for row in session.scalars(select(CalendarDay))}
    years = set(session.scalars(select(CalendarYear.year)))
    return policy.calendar.calendar(overrides, years)


@dataclass(frozen=True)
class YearSchedule:
    """A year as the operator gives it: its days off and its worked weekend days."""

    year: int
    holidays: tuple[date, ...]
    workdays: tuple[date, ...]

    def __post_init__(self) -> None:
        if not 1900 < self.year < 2200:
            raise ScheduleError(f"{self.year} is not a year this calendar can hold")
        for day in (*self.holidays, *self.workdays):
            if day.year != self.year:
                raise ScheduleError(f"{day.isoformat()} is not in {self.year}")
        both = sorted(set(self.holidays) & set(self.workdays))
        if both:
            listed = ", ".join(d.isoformat() for d in both)
            raise ScheduleError(f"listed both as holiday and as workday: {listed}")

    def kinds(self) -> dict[date, DayKind]:
        kinds = {day: DayKind.HOLIDAY for day in self.holidays}
        for day in self.workdays:
            kinds[day] = DayKind.MAKEUP_WORKDAY if day.weekday() >= 5 else DayKind.WORKDAY
        return kinds


def parse_days(texts: Iterable[str]) -> tuple[date, ...]:
    """``["2027-02-05..2027-02-11", "2027-04-05"]`` into dates; ranges include both ends."""
    days: list[date] = []
    for text in texts:
        for part in text.replace(",", " ").split():
            first, sep, last = part.partition("..")
            try:
                start = date.fromisoformat(first)
                end = date.fromisoformat(last) if sep else start
            except ValueError:
                raise ScheduleError(
                    f"{part!r} is not a date like 2027-02-05 or a range like "
                    "2027-02-05..2027-02-11"
                ) from None
            if end < start:
                raise ScheduleError(f"the range {part!r} ends before it starts")
            days.extend(start + timedelta(days=n) for n in range((end - start).days + 1))
    return tuple(sorted(set(days)))


def set_year(session: Session, schedule: YearSchedule, *, by: str, source: str,
             now: datetime) -> None:
    """Replace whatever was entered for the year with ``schedule`` (one transaction)."""
    session.execute(delete(CalendarDay).where(CalendarDay.year == schedule.year))
    session.execute(delete(CalendarYear).where(CalendarYear.year == schedule.year))
    session.flush()
    for day, kind in sorted(schedule.kinds().items()):
        session.add(CalendarDay(day=day, year=schedule.year, kind=kind))
    session.add(CalendarYear(year=schedule.year, entered_by=by[:64], entered_at=now,
                             source=source[:256]))
    session.flush()


def entered_year(session: Session, year: int) -> CalendarYear | None:
    return session.get(CalendarYear, year)


def year_days(calendar: WorkingCalendar, year: int) -> list[DayInfo]:
    """Every date of ``year`` as the calendar judges it."""
    day, days = date(year, 1, 1), []
    while day.year == year:
        days.append(calendar.day(day))
        day += timedelta(days=1)
    return days
