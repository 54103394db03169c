"""``ivr journal``: the call journal from the command line (see ``ivr.journal``)."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import with_appcontext

from ivr.context import ivr_config


@click.group("journal")
def journal_group() -> None:
    """The call journal of this host's web processes."""


@journal_group.command("ship")
@with_appcontext
def journal_ship() -> None:
    """Ship the files of web processes that are gone (a live one ships its own)."""
    journal = ivr_config().journal
    shipped = journal.ship()
    left = sorted(path.name for path in journal.directory.glob("*.jsonl"))
    click.echo(f"{shipped} lines shipped from {journal.directory}; "
               f"files of live processes: {', '.join(left) or 'none'}")


COMMANDS: list[Any] = [journal_group]
