"""The working calendar: which days are working days, and when work happens on them.

Complaint deadlines are counted in working time, so every answer here says where it came from
and whether it is *provisional*. A day is judged, in this order:

1. the operator's entry for that date (``overrides``), then the weekday rule for any other date
   of a year whose full schedule the operator has entered (``schedule_years``);
2. ``chinese_calendar``, which carries the State Council's holiday notices, make-up workdays
   (调休) included, for the years it covers;
3. a fallback for any other year: Saturdays and Sundays off, plus the statutory fixed-date
   holidays, the Qingming solar term and any dates the policy lists. Lunar festivals (Spring
   Festival, Dragon Boat, Mid-Autumn) and make-up workdays cannot be known before the notice is
   published, so they are not guessed: those days count as ordinary days and every fallback
   answer is marked provisional. Counting a future festival as a working day makes a
   provisional deadline fall earlier than the real one, so the center is warned early, not late.

Nothing here raises for a year outside ``chinese_calendar``'s range.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Set
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo

import chinese_calendar

DEFAULT_TIMEZONE = "Asia/Shanghai"
# A schedule with no working time in ten years is a data error, not a long holiday.
_HORIZON_DAYS = 3660
_NONE: frozenset[int] = frozenset()
_PERIOD_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~]\s*(\d{1,2}):(\d{2})\s*$")


class CalendarError(ValueError):
    """The calendar cannot answer: bad hours, a naive datetime, or no working time at all."""


class DayKind(StrEnum):
    """What kind of day a date is."""

    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    MAKEUP_WORKDAY = "makeup_workday"  # 调休上班: a weekend day worked in lieu of a holiday

    @property
    def is_working(self) -> bool:
        return self in (DayKind.WORKDAY, DayKind.MAKEUP_WORKDAY)


class DaySource(StrEnum):
    """Where the kind of a day was taken from."""

    OVERRIDE = "override"  # the operator entered this date
    SCHEDULE = "schedule"  # weekday rule inside a year the operator entered in full
    OFFICIAL = "chinese_calendar"
    FALLBACK = "fallback"  # provisional


class DayRule(StrEnum):
    """Which days a set of hours applies to."""

    WORKING_DAYS = "working_days"  # follows the holiday calendar
    EVERY_DAY = "every_day"  # 7 days a week, holidays included (e.g. 7×12 human service)


class Basis(StrEnum):
    """Which hours a count runs in: SLA working hours or the line's business hours."""

    WORKING = "working"
    BUSINESS = "business"


@dataclass(frozen=True, order=True)
class Period:
    """One stretch of a day, ``start`` inclusive to ``end`` exclusive, in minutes after 00:00.

    ``end`` may be 1440 (24:00) so that a 7×24 line can be written ``00:00-24:00``.
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= 24 * 60:
            raise CalendarError(f"period {self.start}-{self.end} is not within one day")

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read ``"09:00-12:00"``; raise CalendarError for anything else."""
        match = _PERIOD_RE.match(text)
        if not match:
            raise CalendarError(f"{text!r} is not a period like 09:00-12:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if m1 > 59 or m2 > 59 or h1 > 23 or h2 > 24 or (h2 == 24 and m2):
            raise CalendarError(f"{text!r} has an impossible time of day")
        return cls(h1 * 60 + m1, h2 * 60 + m2)

    def __str__(self) -> str:
        (h1, m1), (h2, m2) = divmod(self.start, 60), divmod(self.end, 60)
        return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


@dataclass(frozen=True)
class WorkingHours:
    """The periods of a day that count, and which days they apply to."""

    periods: tuple[Period, ...]
    days: DayRule = DayRule.WORKING_DAYS

    def __post_init__(self) -> None:
        if not self.periods:
            raise CalendarError("working hours need at least one period")
        ordered = tuple(sorted(self.periods))
        for before, after in zip(ordered, ordered[1:], strict=False):
            if after.start < before.end:
                raise CalendarError(f"periods {before} and {after} overlap")
        object.__setattr__(self, "periods", ordered)

    @classmethod
    def parse(cls, periods: Iterable[str], days: str = "working_days") -> WorkingHours:
        """``WorkingHours.parse(["09:00-12:00", "13:30-18:00"], "working_days")``."""
        return cls(tuple(Period.parse(p) for p in periods), DayRule(days))

    def __str__(self) -> str:
        return ", ".join(str(p) for p in self.periods)


@dataclass(frozen=True)
class FallbackRules:
    """How to judge a day in a year nobody has published a schedule for (always provisional).

    The fixed dates default to the statutory holidays of the 2024 revision of
    全国年节及纪念日放假办法: New Year 1 Jan, Labour Day 1-2 May, National Day 1-3 Oct.
    """

    fixed_holidays: frozenset[tuple[int, int]] = frozenset(
        {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}
    )
    qingming: bool = True  # the Qingming solar term, which chinese_calendar computes to 2100
    extra_holidays: frozenset[date] = frozenset()  # estimated lunar festivals, if listed


@dataclass(frozen=True)
class DayInfo:
    """The answer for one date."""

    day: date
    kind: DayKind
    source: DaySource
    provisional: bool

    @property
    def working(self) -> bool:
        return self.kind.is_working


@dataclass(frozen=True)
class Interval:
    """A stretch of countable time in UTC; ``provisional`` if it relied on a provisional day."""

    start: datetime
    end: datetime
    provisional: bool


def official_years() -> range:
    """The years for which chinese_calendar carries the published holiday schedule."""
    years = [d.year for d in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


def _weekday_kind(day: date) -> DayKind:
    return DayKind.WEEKEND if day.weekday() >= 5 else DayKind.WORKDAY


def _qingming(year: int) -> date | None:
    try:
        terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 10))
    except NotImplementedError:
        return None
    return next((d for d, name in terms if name == "清明"), None)


class WorkingCalendar:
    """Working days and hours of one call center, in its time zone.

    ``overrides`` maps dates to the kind the operator entered; ``schedule_years`` are the years
    for which those entries are the complete schedule (every other date of such a year follows
    the weekday rule). ``business_hours`` are the hours the line is staffed, used by the
    ``business_*`` units; without them those units count in working hours. Day answers are
    cached, so build one calendar per policy and per change of the operator's entries.
    """

    def __init__(
        self,
        working_hours: WorkingHours,
        timezone: ZoneInfo | str = DEFAULT_TIMEZONE,
        overrides: Mapping[date, DayKind] | None = None,
        schedule_years: Set[int] | None = None,
        *,
        business_hours: WorkingHours | None = None,
        fallback: FallbackRules | None = None,
        use_chinese_calendar: bool = True,
    ) -> None:
        self.working_hours = working_hours
        self.business_hours = business_hours
        self.tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        self.overrides: Mapping[date, DayKind] = MappingProxyType(
            {d: DayKind(k) for d, k in (overrides or {}).items()}
        )
        self.schedule_years = frozenset(schedule_years or ())
        self.fallback = fallback or FallbackRules()
        self.use_chinese_calendar = use_chinese_calendar
        self._cache: dict[date, DayInfo] = {}

    def with_schedule(
        self, overrides: Mapping[date, DayKind], schedule_years: Set[int] = _NONE
    ) -> WorkingCalendar:
        """A copy with more operator entries (these win over the ones already held)."""
        return WorkingCalendar(
            self.working_hours,
            self.tz,
            {**self.overrides, **overrides},
            self.schedule_years | set(schedule_years),
            business_hours=self.business_hours,
            fallback=self.fallback,
            use_chinese_calendar=self.use_chinese_calendar,
        )

    def hours(self, basis: Basis) -> WorkingHours:
        if basis is Basis.BUSINESS and self.business_hours is not None:
            return self.business_hours
        return self.working_hours

    def day(self, day: date) -> DayInfo:
        """The kind of ``day`` and where that came from; never raises for an uncovered year."""
        cached = self._cache.get(day)
        if cached is None:
            cached = self._cache[day] = self._judge(day)
        return cached

    def _judge(self, day: date) -> DayInfo:
        if day in self.overrides:
            return DayInfo(day, self.overrides[day], DaySource.OVERRIDE, False)
        if day.year in self.schedule_years:
            return DayInfo(day, _weekday_kind(day), DaySource.SCHEDULE, False)
        if self.use_chinese_calendar:
            try:
                is_holiday, name = chinese_calendar.get_holiday_detail(day)
            except NotImplementedError:
                pass
            else:
                weekend = day.weekday() >= 5
                if is_holiday:
                    kind = DayKind.HOLIDAY if name or not weekend else DayKind.WEEKEND
                else:
                    kind = DayKind.MAKEUP_WORKDAY if weekend else DayKind.WORKDAY
                return DayInfo(day, kind, DaySource.OFFICIAL, False)
        return DayInfo(day, self._fallback_kind(day), DaySource.FALLBACK, True)

    def _fallback_kind(self, day: date) -> DayKind:
        rules = self.fallback
        if (day.month, day.day) in rules.fixed_holidays or day in rules.extra_holidays:
            return DayKind.HOLIDAY
        if rules.qingming and day.month == 4 and day == _qingming(day.year):
            return DayKind.HOLIDAY
        return _weekday_kind(day)

    def local(self, moment: datetime) -> datetime:
        """``moment`` in the center's zone; naive datetimes are refused, never assumed."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise CalendarError(f"{moment!r} has no time zone")
        return moment.astimezone(self.tz)

    def at(self, day: date, minute: int) -> datetime:
        """The local wall-clock instant ``minute`` minutes after midnight of ``day``."""
        return datetime(day.year, day.month, day.day, tzinfo=self.tz) + timedelta(minutes=minute)

    def counts(self, day: date, basis: Basis) -> tuple[bool, bool]:
        """Whether ``day`` has countable hours on ``basis``, and whether that is provisional."""
        if self.hours(basis).days is DayRule.EVERY_DAY:
            return True, False
        info = self.day(day)
        return info.working, info.provisional

    def close_of(self, day: date, basis: Basis = Basis.WORKING) -> datetime:
        """When the last period of ``day`` ends (the close of business that day)."""
        return self.at(day, self.hours(basis).periods[-1].end)

    def intervals(self, start: datetime, basis: Basis = Basis.WORKING) -> Iterator[Interval]:
        """Countable stretches from ``start`` on, in order, the first one clipped at ``start``.

        An interval carries ``provisional`` when its own day, or a non-working day skipped
        just before it, was judged provisionally.
        """
        start_utc = self.local(start).astimezone(UTC)
        periods = self.hours(basis).periods
        day = self.local(start).date()
        carried = False
        for _ in range(_HORIZON_DAYS):
            working, provisional = self.counts(day, basis)
            if not working:
                carried = carried or provisional
            else:
                for period in periods:
                    end = self.at(day, period.end).astimezone(UTC)
                    if end <= start_utc:
                        continue
                    begin = max(self.at(day, period.start).astimezone(UTC), start_utc)
                    yield Interval(begin, end, carried or provisional)
                    carried = False
            day += timedelta(days=1)
        raise CalendarError(f"no {basis} time within {_HORIZON_DAYS} days of {start.isoformat()}")
