"""Deadline arithmetic: every unit across nights, lunch, weekends, festivals and 调休 days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers.calendar import CalendarError, DayKind, WorkingCalendar, WorkingHours
from handlers.sla import (
    ClockError,
    Deadline,
    Duration,
    SlaClock,
    Unit,
    budget,
    counted_between,
    deadline,
)

SH = ZoneInfo("Asia/Shanghai")
OFFICE = WorkingHours.parse(["09:00-12:00", "13:30-18:00"])  # 7.5 working hours a day
CAL = WorkingCalendar(
    OFFICE, "Asia/Shanghai", business_hours=WorkingHours.parse(["09:00-21:00"], "every_day")
)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def due(start: datetime, amount: float, unit: str, calendar: WorkingCalendar = CAL) -> Deadline:
    return deadline(start, Duration(amount, Unit(unit)), calendar)


@pytest.mark.parametrize(
    ("start", "amount", "unit", "expected"),
    [
        # Elapsed time ignores nights and holidays.
        (at(2025, 1, 27, 22, 30), 90, "minutes", at(2025, 1, 28, 0, 0)),
        (at(2025, 1, 27, 20), 48, "hours", at(2025, 1, 29, 20)),
        (at(2025, 9, 30, 15), 72, "hours", at(2025, 10, 3, 15)),
        (at(2025, 1, 31, 8, 15), 1.5, "hours", at(2025, 1, 31, 9, 45)),
        # Calendar days keep the time of day.
        (at(2025, 1, 27, 16, 20), 3, "calendar_days", at(2025, 1, 30, 16, 20)),
        (at(2025, 2, 28, 10), 1, "calendar_days", at(2025, 3, 1, 10)),
        (at(2025, 2, 28, 10), 0, "calendar_days", at(2025, 2, 28, 10)),
    ],
)
def test_elapsed_units(start: datetime, amount: float, unit: str, expected: datetime) -> None:
    assert due(start, amount, unit) == Deadline(expected, False)


@pytest.mark.parametrize(
    ("start", "amount", "unit", "expected"),
    [
        # Across the lunch break: 11:00-12:00 then 13:30-14:30.
        (at(2025, 3, 3, 11), 2, "working_hours", at(2025, 3, 3, 14, 30)),
        # Ends exactly when the afternoon period ends: due 18:00, not 09:00 next morning.
        (at(2025, 3, 3, 16, 30), 1.5, "working_hours", at(2025, 3, 3, 18)),
        # Ends exactly at noon.
        (at(2025, 3, 3, 9), 3, "working_hours", at(2025, 3, 3, 12)),
        # Starts before opening, at lunch, after close.
        (at(2025, 3, 3, 7), 1, "working_hours", at(2025, 3, 3, 10)),
        (at(2025, 3, 3, 12, 30), 1, "working_hours", at(2025, 3, 3, 14, 30)),
        (at(2025, 3, 3, 19), 1, "working_hours", at(2025, 3, 4, 10)),
        # Friday afternoon into Monday.
        (at(2025, 3, 7, 17), 2, "working_hours", at(2025, 3, 10, 10)),
        # Saturday start counts from Monday 09:00.
        (at(2025, 3, 8, 10), 8, "working_hours", at(2025, 3, 11, 9, 30)),
        # One hour before the 2025 春节 break, then 1 h on 5 Feb.
        (at(2025, 1, 27, 17), 2, "working_hours", at(2025, 2, 5, 10)),
        # Friday 7 Feb 2025 into the make-up Saturday 8 Feb.
        (at(2025, 2, 7, 17), 2, "working_hours", at(2025, 2, 8, 10)),
        # Sunday 26 Jan 2025 is a make-up workday.
        (at(2025, 1, 25, 12), 1, "working_hours", at(2025, 1, 26, 10)),
        # Minutes in working time: 15 before lunch, 15 after.
        (at(2025, 3, 3, 11, 45), 30, "working_minutes", at(2025, 3, 3, 13, 45)),
        # A whole week of working time: 5 × 7.5 h from Monday 09:00 ends Friday 18:00.
        (at(2025, 3, 3, 9), 37.5, "working_hours", at(2025, 3, 7, 18)),
        # Zero working time at night means the next opening.
        (at(2025, 3, 3, 23), 0, "working_hours", at(2025, 3, 4, 9)),
        (at(2025, 3, 3, 10), 0, "working_minutes", at(2025, 3, 3, 10)),
    ],
)
def test_working_hours(start: datetime, amount: float, unit: str, expected: datetime) -> None:
    assert due(start, amount, unit) == Deadline(expected, False)


@pytest.mark.parametrize(
    ("start", "amount", "unit", "expected"),
    [
        # 7×12 service hours run through the festival.
        (at(2025, 1, 28, 20, 30), 1, "business_hours", at(2025, 1, 29, 9, 30)),
        (at(2025, 3, 3, 10), 30, "business_minutes", at(2025, 3, 3, 10, 30)),
        (at(2025, 3, 3, 20, 45), 30, "business_minutes", at(2025, 3, 4, 9, 15)),
        # Registered by the next opening.
        (at(2025, 3, 3, 23, 10), 0, "business_minutes", at(2025, 3, 4, 9)),
        (at(2025, 3, 4, 2), 2, "business_hours", at(2025, 3, 4, 11)),
    ],
)
def test_business_hours(start: datetime, amount: float, unit: str, expected: datetime) -> None:
    assert due(start, amount, unit) == Deadline(expected, False)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Monday → close of Tuesday; the start day is not counted.
        (at(2025, 3, 3, 10), 1, date(2025, 3, 4)),
        (at(2025, 3, 3, 7), 1, date(2025, 3, 4)),
        (at(2025, 3, 3, 20), 1, date(2025, 3, 4)),
        (at(2025, 3, 7, 10), 1, date(2025, 3, 10)),  # Friday → Monday
        (at(2025, 3, 8, 10), 1, date(2025, 3, 10)),  # Saturday → Monday
        (at(2025, 3, 9, 23), 1, date(2025, 3, 10)),  # Sunday → Monday
        (at(2025, 3, 3, 10), 5, date(2025, 3, 10)),
        # 2025 春节: 28 Jan-4 Feb off, 26 Jan (Sun) and 8 Feb (Sat) worked.
        (at(2025, 1, 24, 10), 1, date(2025, 1, 26)),
        (at(2025, 1, 24, 10), 2, date(2025, 1, 27)),
        (at(2025, 1, 24, 10), 3, date(2025, 2, 5)),
        (at(2025, 1, 27, 10), 1, date(2025, 2, 5)),
        (at(2025, 1, 30, 10), 1, date(2025, 2, 5)),
        (at(2025, 2, 5, 10), 3, date(2025, 2, 8)),
        (at(2025, 2, 5, 10), 4, date(2025, 2, 10)),
        # 26 Jan, 27 Jan, 5, 6, 7, 8 (Sat), 10-14, 17-20 Feb: the 15th is 20 Feb.
        (at(2025, 1, 24, 10), 15, date(2025, 2, 20)),
        # 2025 国庆+中秋: 1-8 Oct off, 28 Sep (Sun) and 11 Oct (Sat) worked.
        (at(2025, 9, 26, 10), 1, date(2025, 9, 28)),
        (at(2025, 9, 26, 10), 2, date(2025, 9, 29)),
        (at(2025, 9, 30, 10), 1, date(2025, 10, 9)),
        (at(2025, 9, 30, 10), 3, date(2025, 10, 11)),
        (at(2025, 9, 30, 10), 4, date(2025, 10, 13)),
        # 2026 元旦: 1-3 Jan off, 4 Jan (Sun) worked.
        (at(2025, 12, 31, 10), 1, date(2026, 1, 4)),
        # 2026 春节: 15-23 Feb off, 14 Feb and 28 Feb (Sat) worked.
        (at(2026, 2, 13, 10), 1, date(2026, 2, 14)),
        (at(2026, 2, 13, 10), 2, date(2026, 2, 24)),
        (at(2026, 2, 13, 10), 5, date(2026, 2, 27)),
        (at(2026, 2, 13, 10), 6, date(2026, 2, 28)),
        (at(2026, 2, 13, 10), 7, date(2026, 3, 2)),
        # 12345 style: 15 working days from 10 Feb 2026: 11-14 (4), 24-28 (9), 2-6 Mar (14), 9 Mar.
        (at(2026, 2, 10, 10), 15, date(2026, 3, 9)),
        # 2026 中秋 25-27 Sep and 国庆 1-7 Oct; 20 Sep (Sun) and 10 Oct (Sat) worked.
        (at(2026, 9, 18, 10), 1, date(2026, 9, 20)),
        (at(2026, 9, 24, 10), 1, date(2026, 9, 28)),
        (at(2026, 9, 30, 10), 1, date(2026, 10, 8)),
        (at(2026, 9, 30, 10), 3, date(2026, 10, 10)),
        # Zero: close of the same working day, or of the next one.
        (at(2025, 3, 3, 10), 0, date(2025, 3, 3)),
        (at(2025, 3, 3, 17, 59), 0, date(2025, 3, 3)),
        (at(2025, 3, 3, 18), 0, date(2025, 3, 4)),
        (at(2025, 3, 8, 10), 0, date(2025, 3, 10)),
        (at(2025, 1, 26, 10), 0, date(2025, 1, 26)),
    ],
)
def test_working_days(start: datetime, days: int, expected: date) -> None:
    assert due(start, days, "working_days") == Deadline(at(*expected.timetuple()[:3], 18), False)


def test_utc_input_gives_local_result() -> None:
    start = datetime(2025, 3, 3, 1, tzinfo=UTC)  # 09:00 in Shanghai
    result = due(start, 2, "working_hours")
    assert result.at == at(2025, 3, 3, 11)
    assert result.at.tzinfo == SH


def test_late_december_into_an_uncovered_year_is_provisional() -> None:
    # 2026: 22-25 and 28-31 Dec = 8 days. 2027 by the fallback: 1 Jan off, then
    # 4-8 Jan (13) and 11, 12 Jan: the 15th working day is 12 Jan 2027.
    start = at(2026, 12, 21, 10)
    guess = due(start, 15, "working_days")
    assert guess == Deadline(at(2027, 1, 12, 18), True)
    # The operator enters the real 2027 schedule: say 1, 4 and 5 Jan off.
    entered = CAL.with_schedule(
        {date(2027, 1, 1): DayKind.HOLIDAY, date(2027, 1, 4): DayKind.HOLIDAY,
         date(2027, 1, 5): DayKind.HOLIDAY},
        {2027},
    )
    assert due(start, 15, "working_days", entered) == Deadline(at(2027, 1, 14, 18), False)


def test_provisional_only_when_an_uncovered_day_is_used() -> None:
    assert not due(at(2026, 12, 30, 10), 1, "working_days").provisional
    assert due(at(2026, 12, 31, 10), 1, "working_days") == Deadline(at(2027, 1, 4, 18), True)
    assert due(at(2026, 12, 31, 17), 2, "working_hours") == Deadline(at(2027, 1, 4, 10), True)
    assert not due(at(2026, 12, 31, 20), 24, "hours").provisional
    assert not due(at(2026, 12, 31, 20), 30, "business_minutes").provisional


def test_far_future_never_raises() -> None:
    result = due(at(2150, 6, 1, 10), 3, "working_days")  # Monday 1 June 2150
    assert result == Deadline(at(2150, 6, 4, 18), True)


def test_naive_start_is_refused() -> None:
    with pytest.raises(CalendarError):
        due(datetime(2025, 3, 3, 10), 1, "hours")


@pytest.mark.parametrize(
    ("amount", "unit"),
    [(-1, "hours"), (1.5, "working_days"), (2.5, "calendar_days"), (float("nan"), "minutes"),
     (True, "hours"), ("3", "hours")],
)
def test_bad_durations(amount: object, unit: str) -> None:
    with pytest.raises(ValueError):
        Duration(amount, Unit(unit))  # type: ignore[arg-type]


def test_unknown_unit() -> None:
    with pytest.raises(ValueError):
        Duration(1, "weeks")  # type: ignore[arg-type]


def test_counted_between_and_budget() -> None:
    monday = at(2025, 3, 3, 10)
    # 10-12 and 13:30-18 on Monday = 6.5 h; Tuesday 9-10 = 1 h.
    assert counted_between(monday, at(2025, 3, 4, 10), Unit.WORKING_HOURS.basis, CAL).amount == (
        timedelta(hours=7.5))
    assert counted_between(monday, at(2025, 3, 4, 10), None, CAL).amount == timedelta(hours=24)
    assert counted_between(monday, monday - timedelta(hours=1), None, CAL).amount == timedelta(0)
    # One working day from Monday 10:00 runs to Tuesday 18:00: 6.5 + 7.5 h.
    assert budget(monday, Duration(1, Unit.WORKING_DAYS), CAL).amount == timedelta(hours=14)


# ─── SlaClock ────────────────────────────────────────────────────────────────


def test_clock_without_pause_matches_deadline() -> None:
    clock = SlaClock(at(2025, 1, 27, 10), Duration(1, Unit.WORKING_DAYS))
    assert clock.deadline(CAL) == Deadline(at(2025, 2, 5, 18), False)


def test_pause_in_hours_moves_deadline_by_the_pause() -> None:
    clock = SlaClock(at(2025, 3, 3, 10), Duration(48, Unit.HOURS))
    clock = clock.pause(at(2025, 3, 3, 12), "等待客户补充订单号")
    assert clock.paused and clock.deadline(CAL) is None
    assert not clock.is_overdue(at(2025, 3, 9), CAL)
    clock = clock.resume(at(2025, 3, 3, 17))
    assert clock.deadline(CAL) == Deadline(at(2025, 3, 5, 15), False)


def test_pause_in_working_days_moves_by_the_working_time_it_covered() -> None:
    # Due Tuesday 18:00; paused Monday 11:00-15:00 = 1 h + 1.5 h of working time,
    # so due 2.5 working hours after Tuesday 18:00: Wednesday 11:30.
    clock = SlaClock(at(2025, 3, 3, 10), Duration(1, Unit.WORKING_DAYS))
    clock = clock.pause(at(2025, 3, 3, 11)).resume(at(2025, 3, 3, 15))
    assert clock.deadline(CAL) == Deadline(at(2025, 3, 5, 11, 30), False)
    status = clock.status(at(2025, 3, 4, 10), CAL)
    # Counted: Monday 10-11 and 15-18, Tuesday 9-10 = 5 h of the 14 h allowed.
    assert status.elapsed == timedelta(hours=5)
    assert status.remaining == timedelta(hours=9)
    assert not status.overdue and not status.paused


def test_pause_over_night_and_weekend_in_working_hours() -> None:
    # 8 working hours from Friday 16:00; paused Friday 17:00 to Monday 10:00 (2 working hours
    # lost: Friday 17-18 and Monday 9-10). Counted: Fri 16-17 (1), Mon 10-12 (2), 13:30-18 (4.5)
    # = 7.5, then 0.5 on Tuesday: due Tuesday 09:30.
    clock = SlaClock(at(2025, 3, 7, 16), Duration(8, Unit.WORKING_HOURS))
    clock = clock.pause(at(2025, 3, 7, 17)).resume(at(2025, 3, 10, 10))
    assert clock.deadline(CAL) == Deadline(at(2025, 3, 11, 9, 30), False)


def test_two_pauses_and_an_open_one() -> None:
    clock = SlaClock(at(2025, 3, 3, 9), Duration(4, Unit.WORKING_HOURS))
    clock = clock.pause(at(2025, 3, 3, 10)).resume(at(2025, 3, 3, 11))
    clock = clock.pause(at(2025, 3, 3, 14)).resume(at(2025, 3, 3, 15))
    # Counted 9-10, 11-12, 13:30-14, 15-16:30 = 4 h.
    assert clock.deadline(CAL) == Deadline(at(2025, 3, 3, 16, 30), False)
    paused = clock.pause(at(2025, 3, 3, 16))
    assert paused.deadline(CAL) is None
    assert paused.remaining(at(2025, 3, 4, 12), CAL).amount == timedelta(minutes=30)
    assert paused.resume(at(2025, 3, 4, 9)).deadline(CAL) == Deadline(at(2025, 3, 4, 9, 30))


def test_pause_after_the_deadline_does_not_undo_the_breach() -> None:
    clock = SlaClock(at(2025, 3, 3, 10), Duration(2, Unit.HOURS))
    late = clock.pause(at(2025, 3, 3, 13))
    assert late.deadline(CAL) == Deadline(at(2025, 3, 3, 12), False)
    assert late.is_overdue(at(2025, 3, 3, 14), CAL)


def test_restart_counts_the_whole_period_again() -> None:
    # 核实: the period is recomputed once the missing material arrives.
    clock = SlaClock(at(2025, 3, 3, 10), Duration(1, Unit.WORKING_DAYS))
    clock = clock.pause(at(2025, 3, 3, 11)).resume(at(2025, 3, 6, 16), restart=True)
    assert clock.started_at == at(2025, 3, 6, 16) and clock.pauses == ()
    assert clock.deadline(CAL) == Deadline(at(2025, 3, 7, 18), False)


def test_overdue_is_strictly_after_the_deadline() -> None:
    clock = SlaClock(at(2025, 3, 3, 10), Duration(30, Unit.MINUTES))
    assert not clock.is_overdue(at(2025, 3, 3, 10, 30), CAL)
    assert clock.is_overdue(at(2025, 3, 3, 10, 30) + timedelta(microseconds=1), CAL)


def test_remaining_goes_negative_and_status_reports_overdue() -> None:
    clock = SlaClock(at(2025, 3, 3, 10), Duration(2, Unit.WORKING_HOURS))
    status = clock.status(at(2025, 3, 3, 15), CAL)
    # Counted 10-12 and 13:30-15 = 3.5 h of 2 h.
    assert status.deadline == at(2025, 3, 3, 12)
    assert status.elapsed == timedelta(hours=3.5)
    assert status.remaining == timedelta(hours=-1.5)
    assert status.overdue and not status.provisional


def test_elapsed_after_close_stops_counting() -> None:
    clock = SlaClock(at(2025, 3, 3, 17), Duration(1, Unit.WORKING_DAYS))
    assert clock.elapsed(at(2025, 3, 3, 23), CAL).amount == timedelta(hours=1)
    assert clock.elapsed(at(2025, 3, 3, 12), CAL).amount == timedelta(0)


def test_extension_adds_in_the_clock_unit() -> None:
    clock = SlaClock(at(2025, 9, 30, 10), Duration(1, Unit.WORKING_DAYS))
    extended = clock.extend(2, at(2025, 10, 9, 9), "需第三方检测")
    assert extended.effective_duration == Duration(3, Unit.WORKING_DAYS)
    assert extended.deadline(CAL) == Deadline(at(2025, 10, 11, 18), False)
    with pytest.raises(ValueError):
        clock.extend(0.5, at(2025, 10, 9, 9))


def test_status_is_provisional_across_an_uncovered_year() -> None:
    clock = SlaClock(at(2026, 12, 30, 10), Duration(3, Unit.WORKING_DAYS))
    status = clock.status(at(2026, 12, 31, 10), CAL)
    assert status.deadline == at(2027, 1, 5, 18) and status.provisional


@pytest.mark.parametrize(
    "operation",
    [
        lambda c: c.resume(at(2025, 3, 3, 12)),
        lambda c: c.pause(at(2025, 3, 3, 9)),
        lambda c: c.pause(at(2025, 3, 3, 11)).pause(at(2025, 3, 3, 12)),
        lambda c: c.pause(at(2025, 3, 3, 11)).resume(at(2025, 3, 3, 10, 30)),
        lambda c: c.pause(at(2025, 3, 3, 11)).resume(at(2025, 3, 3, 12)).pause(at(2025, 3, 3, 11)),
    ],
)
def test_clock_misuse(operation: object) -> None:
    clock = SlaClock(at(2025, 3, 3, 10), Duration(4, Unit.HOURS))
    with pytest.raises(ClockError):
        operation(clock)  # type: ignore[operator]


def test_clock_needs_an_aware_start() -> None:
    with pytest.raises(ClockError):
        SlaClock(datetime(2025, 3, 3, 10), Duration(4, Unit.HOURS))
