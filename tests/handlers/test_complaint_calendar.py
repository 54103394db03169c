"""The working calendar: official schedules, make-up workdays, overrides and the fallback."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from handlers.calendar import (
    Basis,
    CalendarError,
    DayKind,
    DaySource,
    FallbackRules,
    Period,
    WorkingCalendar,
    WorkingHours,
    official_years,
)

SH = ZoneInfo("Asia/Shanghai")
OFFICE = WorkingHours.parse(["09:00-12:00", "13:30-18:00"])
SEVEN_BY_TWELVE = WorkingHours.parse(["09:00-21:00"], "every_day")


def cal(**kwargs: Any) -> WorkingCalendar:
    return WorkingCalendar(OFFICE, "Asia/Shanghai", business_hours=SEVEN_BY_TWELVE, **kwargs)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


# 2025: 春节 1/28-2/4 with 1/26 (Sun) and 2/8 (Sat) worked; 国庆+中秋 10/1-10/8 with 9/28
# (Sun) and 10/11 (Sat) worked. 2026: 元旦 1/1-1/3 with 1/4 (Sun) worked; 春节 2/15-2/23 with
# 2/14 and 2/28 (Sat) worked; 国庆 10/1-10/7 with 9/20 (Sun) and 10/10 (Sat) worked.
@pytest.mark.parametrize(
    ("day", "kind"),
    [
        (date(2025, 1, 1), DayKind.HOLIDAY),
        (date(2025, 1, 24), DayKind.WORKDAY),
        (date(2025, 1, 25), DayKind.WEEKEND),
        (date(2025, 1, 26), DayKind.MAKEUP_WORKDAY),
        (date(2025, 1, 27), DayKind.WORKDAY),
        (date(2025, 1, 28), DayKind.HOLIDAY),
        (date(2025, 2, 1), DayKind.HOLIDAY),  # a Saturday inside the festival
        (date(2025, 2, 4), DayKind.HOLIDAY),
        (date(2025, 2, 5), DayKind.WORKDAY),
        (date(2025, 2, 8), DayKind.MAKEUP_WORKDAY),
        (date(2025, 2, 9), DayKind.WEEKEND),
        (date(2025, 9, 28), DayKind.MAKEUP_WORKDAY),
        (date(2025, 10, 6), DayKind.HOLIDAY),  # 中秋 inside the National Day break
        (date(2025, 10, 8), DayKind.HOLIDAY),
        (date(2025, 10, 9), DayKind.WORKDAY),
        (date(2025, 10, 11), DayKind.MAKEUP_WORKDAY),
        (date(2026, 1, 2), DayKind.HOLIDAY),
        (date(2026, 1, 4), DayKind.MAKEUP_WORKDAY),
        (date(2026, 2, 14), DayKind.MAKEUP_WORKDAY),
        (date(2026, 2, 16), DayKind.HOLIDAY),
        (date(2026, 2, 23), DayKind.HOLIDAY),
        (date(2026, 2, 24), DayKind.WORKDAY),
        (date(2026, 2, 28), DayKind.MAKEUP_WORKDAY),
        (date(2026, 9, 20), DayKind.MAKEUP_WORKDAY),
        (date(2026, 10, 7), DayKind.HOLIDAY),
        (date(2026, 10, 10), DayKind.MAKEUP_WORKDAY),
    ],
)
def test_official_schedule(day: date, kind: DayKind) -> None:
    info = cal().day(day)
    assert (info.kind, info.source, info.provisional) == (kind, DaySource.OFFICIAL, False)
    assert info.working == kind.is_working


def test_official_years_cover_2025_and_2026_but_not_2027() -> None:
    years = official_years()
    assert 2025 in years and 2026 in years and 2027 not in years


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        (date(2027, 1, 1), DayKind.HOLIDAY),  # Friday, fixed date
        (date(2027, 1, 4), DayKind.WORKDAY),
        (date(2027, 1, 9), DayKind.WEEKEND),
        (date(2027, 2, 8), DayKind.WORKDAY),  # lunar festivals are not guessed
        (date(2027, 4, 5), DayKind.HOLIDAY),  # 清明 solar term, a Monday
        (date(2027, 5, 3), DayKind.WORKDAY),
        (date(2027, 5, 2), DayKind.HOLIDAY),  # Sunday and a fixed holiday
        (date(2027, 10, 1), DayKind.HOLIDAY),
        (date(2027, 10, 4), DayKind.WORKDAY),
    ],
)
def test_fallback_is_provisional(day: date, kind: DayKind) -> None:
    info = cal().day(day)
    assert (info.kind, info.source, info.provisional) == (kind, DaySource.FALLBACK, True)


def test_fallback_never_raises_far_outside_any_table() -> None:
    for year in (1990, 2101, 2300):
        info = cal().day(date(year, 4, 5))
        assert info.provisional and info.source is DaySource.FALLBACK


def test_fallback_rules_come_from_the_caller() -> None:
    rules = FallbackRules(frozenset({(12, 25)}), qingming=False,
                          extra_holidays=frozenset({date(2027, 2, 8)}))
    calendar = cal(fallback=rules)
    assert calendar.day(date(2027, 12, 27)).kind is DayKind.WORKDAY
    assert calendar.day(date(2027, 2, 8)).kind is DayKind.HOLIDAY
    assert calendar.day(date(2027, 4, 5)).kind is DayKind.WORKDAY
    assert calendar.day(date(2027, 1, 1)).kind is DayKind.WORKDAY


def test_operator_override_wins_over_the_official_schedule() -> None:
    calendar = cal(overrides={date(2025, 3, 3): DayKind.HOLIDAY})
    info = calendar.day(date(2025, 3, 3))
    assert (info.kind, info.source) == (DayKind.HOLIDAY, DaySource.OVERRIDE)
    assert not info.provisional
    assert calendar.day(date(2025, 3, 4)).source is DaySource.OFFICIAL


def test_schedule_year_replaces_fallback_and_official_data() -> None:
    calendar = cal(
        overrides={date(2027, 2, 8): DayKind.HOLIDAY, date(2027, 2, 20): DayKind.MAKEUP_WORKDAY},
        schedule_years={2027, 2025},
    )
    assert calendar.day(date(2027, 2, 8)).kind is DayKind.HOLIDAY
    assert calendar.day(date(2027, 2, 20)).working
    plain = calendar.day(date(2027, 1, 1))  # not entered: the weekday rule, not provisional
    assert (plain.kind, plain.source, plain.provisional) == (
        DayKind.WORKDAY, DaySource.SCHEDULE, False)
    # 2025 is entered "in full" with no entries, so the official 春节 no longer applies.
    assert calendar.day(date(2025, 1, 28)).kind is DayKind.WORKDAY


def test_with_schedule_adds_entries() -> None:
    base = cal()
    later = base.with_schedule({date(2027, 1, 4): DayKind.HOLIDAY}, {2027})
    assert base.day(date(2027, 1, 4)).provisional
    info = later.day(date(2027, 1, 4))
    assert (info.kind, info.provisional) == (DayKind.HOLIDAY, False)


def test_use_chinese_calendar_off_falls_back() -> None:
    info = cal(use_chinese_calendar=False).day(date(2025, 1, 28))
    assert (info.kind, info.provisional) == (DayKind.WORKDAY, True)


def test_periods_parse_and_validate() -> None:
    assert Period.parse("09:00-12:00") == Period(540, 720)
    assert Period.parse("00:00-24:00") == Period(0, 1440)
    assert str(Period.parse("13:30-18:00")) == "13:30-18:00"
    for bad in ("9-12", "12:00-09:00", "09:00-24:30", "25:00-26:00", "09:60-10:00"):
        with pytest.raises(CalendarError):
            Period.parse(bad)
    with pytest.raises(CalendarError, match="overlap"):
        WorkingHours.parse(["09:00-12:00", "11:00-13:00"])
    with pytest.raises(CalendarError):
        WorkingHours(())
    assert str(WorkingHours.parse(["13:30-18:00", "09:00-12:00"])) == "09:00-12:00, 13:30-18:00"


def test_intervals_skip_lunch_nights_and_the_festival() -> None:
    found = []
    for interval in cal().intervals(at(2025, 1, 27, 10, 15)):
        found.append((interval.start.astimezone(SH), interval.end.astimezone(SH)))
        if len(found) == 4:
            break
    assert found == [
        (at(2025, 1, 27, 10, 15), at(2025, 1, 27, 12)),
        (at(2025, 1, 27, 13, 30), at(2025, 1, 27, 18)),
        (at(2025, 2, 5, 9), at(2025, 2, 5, 12)),
        (at(2025, 2, 5, 13, 30), at(2025, 2, 5, 18)),
    ]


def test_business_intervals_run_every_day() -> None:
    first = next(cal().intervals(at(2025, 1, 28, 22), Basis.BUSINESS))
    assert (first.start, first.end, first.provisional) == (
        at(2025, 1, 29, 9).astimezone(UTC), at(2025, 1, 29, 21).astimezone(UTC), False)


def test_interval_after_a_provisional_day_is_provisional() -> None:
    intervals = cal().intervals(at(2026, 12, 31, 17))
    last_2026 = next(intervals)
    first_2027 = next(intervals)
    assert not last_2026.provisional
    assert first_2027.provisional
    assert first_2027.start == at(2027, 1, 4, 9).astimezone(UTC)  # 1 Jan fallback holiday


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(CalendarError):
        next(cal().intervals(datetime(2025, 3, 3, 10)))


def test_no_working_time_at_all_is_an_error() -> None:
    start = date(2025, 3, 1)
    closed = {start + timedelta(days=i): DayKind.HOLIDAY for i in range(3700)}
    with pytest.raises(CalendarError, match="no working time"):
        next(cal(overrides=closed).intervals(at(2025, 3, 1, 9)))


def test_timezone_can_be_another_zone() -> None:
    calendar = WorkingCalendar(OFFICE, ZoneInfo("Europe/Berlin"), use_chinese_calendar=False)
    first = next(calendar.intervals(datetime(2025, 3, 3, 7, tzinfo=UTC)))
    assert first.start == datetime(2025, 3, 3, 8, tzinfo=UTC)  # 09:00 CET
