"""Command-line commands of the `queues` package, added to `ivr` by `callcenter.cli`.

* ``ivr queues`` — live figures of every queue and seat; ``ivr queues rebuild`` — rebuild
  the Redis routing index from the database (after Redis lost its data, or to install a
  changed routing file at once).
* ``ivr seats add|list|set-state`` — manage seats.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from callcenter.services import services
from queues import figures, recovery, seats
from queues.config import RoutingConfig
from queues.context import routing_config
from queues.jobs import current_router
from queues.seats import SeatError


def _fmt(value: float | None, suffix: str = "") -> str:
    return "-" if value is None else f"{value:g}{suffix}"


def figures_text(session: Session, config: RoutingConfig, now: datetime) -> str:
    """The live figures as the ``ivr queues`` table."""
    queue_rows = figures.queue_figures(session, config, now)
    seat_rows = figures.seat_figures(session, now)
    lines = [f"queues (averages over the last {config.figures_window_s // 60} min; service "
             f"level: answered within {config.service_level_s} s)",
             f"{'queue':<12}{'waiting':>8}{'longest':>9}{'answered':>9}{'avg wait':>9}"
             f"{'avg talk':>9}{'SL':>7}{'abandoned':>10}{'free seats':>11}"]
    for q in queue_rows:
        level = None if q.service_level is None else round(q.service_level * 100)
        lines.append(f"{q.queue:<12}{q.waiting:>8}{q.longest_wait_s:>8}s{q.answered:>9}"
                     f"{_fmt(q.average_wait_s, 's'):>9}{_fmt(q.average_handle_s, 's'):>9}"
                     f"{_fmt(level, '%'):>7}{q.abandoned:>10}{q.available_seats:>11}")
    lines += ["", "seats", f"{'seat':<18}{'name':<12}{'state':<11}{'for':>8}  call"]
    for seat in seat_rows:
        lines.append(f"{seat.seat_id:<18}{seat.name[:10]:<12}{seat.state:<11}"
                     f"{seat.seconds_in_state:>7}s  {seat.current_call_sid or ''}")
    return "\n".join(lines)


@click.group("queues", invoke_without_command=True)
@click.pass_context
@with_appcontext
def queues_group(ctx: click.Context) -> None:
    """Live figures of the hold queues and seats (subcommands: rebuild)."""
    if ctx.invoked_subcommand is not None:
        return
    svc = services()
    with svc.database.session() as session:
        click.echo(figures_text(session, routing_config(), svc.now()))


@queues_group.command("rebuild")
@with_appcontext
def rebuild_command() -> None:
    """Rebuild the Redis routing index from the database, then offer waiting calls."""
    report = recovery.rebuild_now(current_router())
    click.echo(f"routing index rebuilt at sequence {report.seq}")
    for line in report.repairs:
        click.echo(f"  repaired: {line}")


@click.group("seats")
def seats_group() -> None:
    """Seats (坐席): who answers, how they are reached, their skills and state."""


@seats_group.command("add")
@click.argument("seat_id")
@click.option("--name", required=True)
@click.option("--reach", required=True,
              help="client:<identity>, a phone number (+86...) or sip:<user@host>.")
@click.option("--skill", "skills", multiple=True, required=True, metavar="SKILL:LEVEL",
              help="e.g. --skill complaint:3 --skill repair:1 (levels 1-9).")
@click.option("--staff", "staff_id", default=None, help="The staff member who works it.")
@click.option("--wrap-up", "wrap_up", type=int, default=None,
              help="Seconds of after-call work (default: the queue's).")
@with_appcontext
def add_seat(seat_id: str, name: str, reach: str, skills: tuple[str, ...],
             staff_id: str | None, wrap_up: int | None) -> None:
    """Create a seat (offline until it logs in)."""
    try:
        seat = seats.create_seat(current_router(), seat_id=seats.check_seat_id(seat_id),
                                 name=name, reach=reach, skills=seats.parse_skills(
                                     ",".join(skills)),
                                 staff_id=staff_id, wrap_up_seconds=seats.check_wrap_up(wrap_up))
    except SeatError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"seat {seat.id} ({seat.name}) at {seat.reach}, skills "
               + ", ".join(f"{k}:{v}" for k, v in sorted(seat.skills.items())))


@seats_group.command("list")
@with_appcontext
def list_seats() -> None:
    """Every seat with its reach, skills and state."""
    svc = services()
    with svc.database.session() as session:
        rows = seats.list_seats(session)
    for seat in rows:
        skills = ",".join(f"{k}:{v}" for k, v in sorted(seat.skills.items()))
        click.echo(f"{seat.id:<16}{seat.name[:11]:<12}{seat.state:<11}{seat.reach:<28}{skills}")


@seats_group.command("set-state")
@click.argument("seat_id")
@click.argument("state", type=click.Choice(["available", "break", "offline"]))
@with_appcontext
def set_seat_state(seat_id: str, state: str) -> None:
    """Set a seat available, on break or offline (not while a call rings or talks)."""
    try:
        previous = seats.set_state(current_router(), services(), seat_id,
                                   seats.check_manual_state(state))
    except SeatError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"seat {seat_id}: {previous} -> {state}")


COMMANDS: list[Any] = [queues_group, seats_group]
