"""SLA clocks: when a deadline falls, how much of it is used, and whether it has passed.

Units and how they count (all instants are timezone-aware; results are in the center's zone):

- ``minutes``, ``hours``: elapsed time, nights and holidays included.
- ``calendar_days``: the same local time of day N days later.
- ``working_minutes``, ``working_hours``: only time inside the working hours of working days.
- ``business_minutes``, ``business_hours``: only time inside the line's business hours (e.g.
  09:00-21:00 every day), for promises made to callers such as the acknowledgment.
- ``working_days``: the close of business of the Nth working day after the day of the start;
  the start day itself is not counted (as 民法典 §201 counts periods), so a complaint taken on
  Monday with one working day is due Tuesday at close, and one taken on Saturday is due Monday
  at close. Zero working days means the close of the same working day, or of the next working
  day when the start is on a non-working day or after the close.

For counted units a start outside counted time begins counting at the next counted instant, and
a count that ends exactly at the end of a period falls due at that end, not at the next opening.
Every result says whether it relied on a provisional calendar day.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from handlers.calendar import Basis, WorkingCalendar


class Unit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    CALENDAR_DAYS = "calendar_days"
    WORKING_MINUTES = "working_minutes"
    WORKING_HOURS = "working_hours"
    WORKING_DAYS = "working_days"
    BUSINESS_MINUTES = "business_minutes"
    BUSINESS_HOURS = "business_hours"

    @property
    def basis(self) -> Basis | None:
        """The hours this unit counts in, or None for elapsed (wall-clock) time."""
        if self.name.startswith("WORKING"):
            return Basis.WORKING
        if self.name.startswith("BUSINESS"):
            return Basis.BUSINESS
        return None

    @property
    def whole(self) -> bool:
        """Day units take whole numbers only."""
        return self in (Unit.CALENDAR_DAYS, Unit.WORKING_DAYS)


_STEP = {
    Unit.MINUTES: timedelta(minutes=1),
    Unit.HOURS: timedelta(hours=1),
    Unit.WORKING_MINUTES: timedelta(minutes=1),
    Unit.WORKING_HOURS: timedelta(hours=1),
    Unit.BUSINESS_MINUTES: timedelta(minutes=1),
    Unit.BUSINESS_HOURS: timedelta(hours=1),
}


class ClockError(ValueError):
    """A clock operation that makes no sense (resume while running, pause before start...)."""


@dataclass(frozen=True)
class Duration:
    """An amount of a unit, e.g. ``Duration(15, Unit.WORKING_DAYS)``."""

    amount: int | float
    unit: Unit

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit", Unit(self.unit))
        if isinstance(self.amount, bool) or not isinstance(self.amount, int | float):
            raise ValueError(f"amount must be a number, not {self.amount!r}")
        if not math.isfinite(self.amount) or self.amount < 0:
            raise ValueError(f"amount must be a finite number >= 0, not {self.amount!r}")
        if self.unit.whole and self.amount != int(self.amount):
            raise ValueError(f"{self.unit} need a whole number, not {self.amount!r}")

    def plus(self, amount: int | float) -> Duration:
        return Duration(self.amount + amount, self.unit)

    def __str__(self) -> str:
        return f"{self.amount:g} {self.unit}"


@dataclass(frozen=True)
class Deadline:
    """When something is due; ``provisional`` if a provisional calendar day was relied on."""

    at: datetime
    provisional: bool = False


@dataclass(frozen=True)
class Span:
    """An amount of counted time, and whether it relied on a provisional day."""

    amount: timedelta
    provisional: bool = False


def _pieces(
    start: datetime, basis: Basis | None, calendar: WorkingCalendar
) -> Iterator[tuple[datetime, datetime | None, bool]]:
    """Counted stretches from ``start`` (UTC); an end of None means the stretch never ends."""
    if basis is None:
        yield calendar.local(start).astimezone(UTC), None, False
        return
    for interval in calendar.intervals(start, basis):
        yield interval.start, interval.end, interval.provisional


def _minus_pauses(
    start: datetime, end: datetime | None, pauses: tuple[tuple[datetime, datetime | None], ...]
) -> Iterator[tuple[datetime, datetime | None]]:
    """``[start, end)`` with the paused stretches cut out (pauses sorted, UTC)."""
    cursor: datetime | None = start
    for p_start, p_end in pauses:
        if cursor is None or (end is not None and p_start >= end):
            break
        if p_end is not None and p_end <= cursor:
            continue
        if p_start > cursor:
            yield cursor, p_start
        cursor = None if p_end is None else max(cursor, p_end)
    if cursor is not None and (end is None or cursor < end):
        yield cursor, end


def _advance(
    start: datetime,
    budget: timedelta,
    basis: Basis | None,
    calendar: WorkingCalendar,
    pauses: tuple[tuple[datetime, datetime | None], ...] = (),
) -> Deadline | None:
    """The first instant at which ``budget`` of counted, unpaused time has run from ``start``.

    None when an open pause stops the count before the budget is used.
    """
    remaining = budget
    provisional = False
    for a, b, prov in _pieces(start, basis, calendar):
        provisional = provisional or prov
        for x, y in _minus_pauses(a, b, pauses):
            if y is None or y - x >= remaining:
                return Deadline(calendar.local(x + remaining), provisional)
            remaining -= y - x
        if pauses and pauses[-1][1] is None and (b is None or b > pauses[-1][0]):
            return None
    raise AssertionError("counted time never ends")  # pragma: no cover - intervals are endless


def counted_between(
    start: datetime,
    end: datetime,
    basis: Basis | None,
    calendar: WorkingCalendar,
    pauses: tuple[tuple[datetime, datetime | None], ...] = (),
) -> Span:
    """Counted time in ``[start, end)`` on ``basis`` (None: elapsed time), pauses left out."""
    end_utc = calendar.local(end).astimezone(UTC)
    total = timedelta(0)
    provisional = False
    if end_utc <= calendar.local(start).astimezone(UTC):
        return Span(total, False)
    for a, b, prov in _pieces(start, basis, calendar):
        if a >= end_utc:
            break
        provisional = provisional or prov
        stop = end_utc if b is None else min(b, end_utc)
        for x, y in _minus_pauses(a, stop, pauses):
            total += (y or stop) - x
        if b is None or b >= end_utc:
            break
    return Span(total, provisional)


def _working_days(start: datetime, days: int, calendar: WorkingCalendar) -> Deadline:
    local = calendar.local(start)
    day = local.date()
    provisional = False
    if days == 0:
        while True:
            working, prov = calendar.counts(day, Basis.WORKING)
            provisional = provisional or prov
            if working and calendar.close_of(day) > local:
                return Deadline(calendar.close_of(day), provisional)
            day += timedelta(days=1)
    found = 0
    while found < days:
        day += timedelta(days=1)
        working, prov = calendar.counts(day, Basis.WORKING)
        provisional = provisional or prov
        found += working
    return Deadline(calendar.close_of(day), provisional)


def deadline(start: datetime, duration: Duration, calendar: WorkingCalendar) -> Deadline:
    """When ``duration`` from ``start`` runs out, in the calendar's zone."""
    unit = duration.unit
    if unit is Unit.WORKING_DAYS:
        return _working_days(start, int(duration.amount), calendar)
    if unit is Unit.CALENDAR_DAYS:
        local = calendar.local(start)
        wall = local.replace(tzinfo=None) + timedelta(days=int(duration.amount))
        at = wall.replace(tzinfo=calendar.tz)
        # Round trip through UTC so that a wall time skipped by a DST change becomes real.
        return Deadline(at.astimezone(UTC).astimezone(calendar.tz), False)
    result = _advance(start, _STEP[unit] * duration.amount, unit.basis, calendar)
    assert result is not None
    return result


def budget(start: datetime, duration: Duration, calendar: WorkingCalendar) -> Span:
    """``duration`` from ``start`` as counted time, the measure a clock's pauses are cut from.

    For day units this is the counted time from ``start`` to the plain deadline, so a pause
    moves the deadline by exactly the counted time it covered.
    """
    if duration.unit in _STEP:
        return Span(_STEP[duration.unit] * duration.amount, False)
    plain = deadline(start, duration, calendar)
    counted = counted_between(start, plain.at, duration.unit.basis, calendar)
    return Span(counted.amount, plain.provisional or counted.provisional)


@dataclass(frozen=True)
class Pause:
    """The clock stood still from ``started_at`` to ``ended_at`` (None: still paused)."""

    started_at: datetime
    ended_at: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class Extension:
    """Extra time granted on a clock, in the clock's own unit."""

    amount: int | float
    requested_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class ClockStatus:
    """A clock seen at one moment.

    ``deadline`` is None while a pause taken in time stops the clock. ``remaining`` is the
    counted time left and goes negative once more counted time has run than allowed.
    """

    deadline: datetime | None
    elapsed: timedelta
    remaining: timedelta
    overdue: bool
    paused: bool
    provisional: bool


@dataclass(frozen=True)
class SlaClock:
    """One deadline that can be paused, resumed and extended; immutable, changes return copies.

    A pause (waiting for the caller's information) does not count: on resume the deadline moves
    later by the counted time the pause covered. ``resume(..., restart=True)`` instead starts
    the whole period again from the resumption, for rules that recompute the period once the
    missing material arrives. A pause taken after the deadline does not undo the breach.
    """

    started_at: datetime
    duration: Duration
    pauses: tuple[Pause, ...] = ()
    extensions: tuple[Extension, ...] = ()

    def __post_init__(self) -> None:
        if self.started_at.tzinfo is None or self.started_at.utcoffset() is None:
            raise ClockError("a clock needs a timezone-aware start")

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].ended_at is None

    @property
    def effective_duration(self) -> Duration:
        return self.duration.plus(sum(e.amount for e in self.extensions))

    def pause(self, at: datetime, reason: str = "") -> SlaClock:
        if self.paused:
            raise ClockError("the clock is already paused")
        latest = self.pauses[-1].ended_at if self.pauses else self.started_at
        assert latest is not None
        if at < latest:
            raise ClockError(f"cannot pause at {at.isoformat()}, before {latest.isoformat()}")
        return replace(self, pauses=(*self.pauses, Pause(at, None, reason)))

    def resume(self, at: datetime, *, restart: bool = False) -> SlaClock:
        if not self.paused:
            raise ClockError("the clock is not paused")
        last = self.pauses[-1]
        if at < last.started_at:
            raise ClockError(f"cannot resume at {at.isoformat()}, before the pause began")
        if restart:
            return SlaClock(at, self.duration, (), self.extensions)
        return replace(self, pauses=(*self.pauses[:-1], replace(last, ended_at=at)))

    def extend(self, amount: int | float, at: datetime, reason: str = "") -> SlaClock:
        """Grant ``amount`` more of the clock's unit; whether it may be granted is policy."""
        Duration(amount, self.duration.unit)  # validates the amount for this unit
        return replace(self, extensions=(*self.extensions, Extension(amount, at, reason)))

    def _cuts(self) -> tuple[tuple[datetime, datetime | None], ...]:
        return tuple(
            (p.started_at.astimezone(UTC), p.ended_at and p.ended_at.astimezone(UTC))
            for p in self.pauses
        )

    def _budget(self, calendar: WorkingCalendar) -> Span:
        return budget(self.started_at, self.effective_duration, calendar)

    def deadline(self, calendar: WorkingCalendar) -> Deadline | None:
        """The deadline with every pause left out; None while a timely pause stops the clock."""
        cuts = self._cuts()
        closed = cuts[:-1] if self.paused else cuts
        allowed = self._budget(calendar)
        due = _advance(self.started_at, allowed.amount, self.duration.unit.basis, calendar, closed)
        assert due is not None
        due = Deadline(due.at, due.provisional or allowed.provisional)
        if self.paused and self.pauses[-1].started_at <= due.at:
            return None
        return due

    def elapsed(self, now: datetime, calendar: WorkingCalendar) -> Span:
        """Counted, unpaused time from the start to ``now``."""
        return counted_between(
            self.started_at, now, self.duration.unit.basis, calendar, self._cuts()
        )

    def remaining(self, now: datetime, calendar: WorkingCalendar) -> Span:
        allowed = self._budget(calendar)
        used = self.elapsed(now, calendar)
        return Span(allowed.amount - used.amount, allowed.provisional or used.provisional)

    def is_overdue(self, now: datetime, calendar: WorkingCalendar) -> bool:
        """True once ``now`` is past the deadline (the deadline instant itself is in time)."""
        due = self.deadline(calendar)
        return due is not None and now > due.at

    def status(self, now: datetime, calendar: WorkingCalendar) -> ClockStatus:
        due = self.deadline(calendar)
        left = self.remaining(now, calendar)
        return ClockStatus(
            deadline=None if due is None else due.at,
            elapsed=self.elapsed(now, calendar).amount,
            remaining=left.amount,
            overdue=due is not None and now > due.at,
            paused=self.paused,
            provisional=left.provisional or (due is not None and due.provisional),
        )
