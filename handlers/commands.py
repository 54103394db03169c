"""Operator commands of complaint handling, added to ``ivr`` by ``callcenter.cli``.

``ivr policy show [FILE]`` prints a policy in plain words (the chain, every deadline) so an
operator can check what they wrote; ``ivr policy check FILE`` says whether a file can be
used and, if not, where and why. ``ivr calendar set-year`` enters a year's holidays and
make-up workdays once they are published; ``ivr calendar show`` prints how a year is judged.
"""

from __future__ import annotations

import getpass
import sys
import tomllib
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from callcenter.services import services
from handlers import calendar_store, context
from handlers.calendar import DayKind, DaySource, official_years
from handlers.calendar_store import ScheduleError, YearSchedule, parse_days
from handlers.describe import describe_policy
from handlers.policy import PolicyError, load_policy
from handlers.recompute import recompute_open
from handlers.trail import Actor


@click.group("policy")
def policy_group() -> None:
    """The complaint-handling policy file."""


@policy_group.command("show")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def policy_show(file: Path | None) -> None:
    """Print FILE (default: the policy in use, POLICY_PATH) in plain words."""
    try:
        policy = load_policy(file) if file else context.complaint_policy()
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(describe_policy(policy), nl=False)


@policy_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def policy_check(file: Path) -> None:
    """Check FILE; exit 1 with the line and key of the first problem."""
    try:
        policy = load_policy(file)
    except PolicyError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    stages = " → ".join(policy.flow.order)
    click.echo(f"ok: {file}: {policy.name}; chain {' → '.join(policy.chain)}; stages {stages}")


@click.group("calendar")
def calendar_group() -> None:
    """The working calendar behind SLA deadlines."""


def _schedule_file(path: Path) -> tuple[list[str], list[str]]:
    """``holidays = [...]`` and ``workdays = [...]`` from a TOML file (ranges allowed)."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise click.ClickException(f"{path}: cannot read the schedule ({exc})") from None
    unknown = sorted(set(data) - {"holidays", "workdays"})
    if unknown:
        raise click.ClickException(f"{path}: unknown key(s) {', '.join(unknown)}; "
                                   "expected holidays and workdays")
    lists = []
    for key in ("holidays", "workdays"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise click.ClickException(f"{path}: {key} must be a list of dates")
        lists.append(value)
    return lists[0], lists[1]


@calendar_group.command("set-year")
@click.argument("year", type=click.IntRange(1901, 2199))
@click.option("--holiday", "holidays", multiple=True,
              help="A day off (2027-02-05) or a range (2027-02-05..2027-02-11); repeatable.")
@click.option("--workday", "workdays", multiple=True,
              help="A make-up workday (调休上班), e.g. 2027-02-20; repeatable.")
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path),
              help="A TOML file with holidays = [...] and workdays = [...].")
@click.option("--by", default="", help="Who enters it (default: the login name).")
@with_appcontext
def calendar_set_year(year: int, holidays: tuple[str, ...], workdays: tuple[str, ...],
                      file: Path | None, by: str) -> None:
    """Enter YEAR's published schedule; it replaces what was entered before for YEAR.

    Every other date of YEAR then follows Monday to Friday. Open complaints' deadlines are
    recomputed at once.
    """
    days_off, days_on = list(holidays), list(workdays)
    if file:
        from_file = _schedule_file(file)
        days_off += from_file[0]
        days_on += from_file[1]
    try:
        schedule = YearSchedule(year, parse_days(days_off), parse_days(days_on))
    except ScheduleError as exc:
        raise click.ClickException(str(exc)) from None
    if not schedule.holidays:
        raise click.ClickException("a year's schedule needs its holidays (--holiday or --file)")
    svc, policy = services(), context.complaint_policy()
    who = by or getpass.getuser()
    with svc.database.session() as session:
        calendar_store.set_year(session, schedule, by=who, source=str(file or "command line"),
                                now=svc.now())
        calendar = context.working_calendar(session)
        moved = recompute_open(session, policy, calendar, svc.now(),
                               Actor("operator", who[:64], who, "operator"))
    if year in official_years():
        click.echo(f"note: {year} is also in chinese_calendar; the entered schedule wins")
    click.echo(f"{year}: {len(schedule.holidays)} holidays, {len(schedule.workdays)} workdays "
               f"entered by {who}; {moved['deadlines']} deadline(s) of "
               f"{moved['complaints']} open complaint(s) recomputed")


_KIND_WORDS = {DayKind.HOLIDAY: "休息(节假日)", DayKind.MAKEUP_WORKDAY: "调休上班",
               DayKind.WORKDAY: "上班", DayKind.WEEKEND: "休息(周末)"}


@calendar_group.command("show")
@click.argument("year", type=click.IntRange(1901, 2199))
@with_appcontext
def calendar_show(year: int) -> None:
    """Print how YEAR's days are judged, and whether deadlines in it are provisional."""
    with services().database.session() as session:
        entered = calendar_store.entered_year(session, year)
        calendar = context.working_calendar(session)
        days = calendar_store.year_days(calendar, year)
    if entered is not None:
        click.echo(f"{year}: schedule entered by {entered.entered_by} on "
                   f"{entered.entered_at.date().isoformat()} ({entered.source})")
    elif year in official_years():
        click.echo(f"{year}: official schedule from chinese_calendar")
    else:
        click.echo(f"{year}: NO SCHEDULE — weekends, fixed holidays and Qingming only; lunar "
                   "festivals and make-up workdays are unknown. Deadlines counted in this "
                   f"year are provisional until `ivr calendar set-year {year}` is run.")
    working = sum(d.working for d in days)
    click.echo(f"{working} working days, {len(days) - working} days off")
    for info in days:
        weekend = info.day.weekday() >= 5
        unusual = info.kind is DayKind.HOLIDAY or (info.kind is DayKind.MAKEUP_WORKDAY) or (
            info.working == weekend)
        if unusual:
            note = " (provisional)" if info.source is DaySource.FALLBACK else ""
            click.echo(f"  {info.day.isoformat()} {'一二三四五六日'[info.day.weekday()]} "
                       f"{_KIND_WORDS[info.kind]}{note}")


COMMANDS: list[Any] = [policy_group, calendar_group]
