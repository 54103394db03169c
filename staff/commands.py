"""Command-line commands of the `staff` package, added to `ivr` by `callcenter.cli`.

``ivr staff add ID --name NAME --role ROLE`` creates a person and prints their API token
once: only its hash is stored, so it cannot be shown again (create a new one instead).
"""

from __future__ import annotations

import re
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError

from callcenter.services import services
from staff.auth import new_token, token_hash
from staff.models import Role, Staff

STAFF_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,32}$")


@click.group("staff")
def staff_group() -> None:
    """The people who use the API: seats, supervisors, the complaint chain."""


@staff_group.command("add")
@click.argument("staff_id")
@click.option("--name", required=True, help="The person's name.")
@click.option("--role", type=click.Choice([role.value for role in Role]),
              default=Role.SEAT.value, show_default=True)
@with_appcontext
def add_staff(staff_id: str, name: str, role: str) -> None:
    """Create a person and print their bearer token (shown this once only)."""
    if not STAFF_ID.match(staff_id):
        raise click.BadParameter("1-32 letters, digits, _ . @ or -", param_hint="STAFF_ID")
    if not name.strip() or len(name.strip()) > 64:
        raise click.BadParameter("1-64 characters", param_hint="--name")
    token = new_token()
    try:
        with services().database.session() as session:
            session.add(Staff(id=staff_id, name=name.strip(), role=role,
                              token_hash=token_hash(token)))
    except IntegrityError:
        raise click.ClickException(f"staff member {staff_id!r} exists already") from None
    click.echo(f"created {staff_id} ({role}); API token (shown once, keep it safe):")
    click.echo(token)


COMMANDS: list[Any] = [staff_group]
