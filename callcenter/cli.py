"""The ``ivr`` command line (also ``flask --app app ...``): serve, worker, db, call, demo."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from callcenter import jobs, migrate
from callcenter.services import services


@click.command("serve")
@click.option("--bind", default="127.0.0.1:5000", show_default=True)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
def serve_command(bind: str, workers: int) -> None:
    """Serve the webhooks with gunicorn."""
    from gunicorn.app.base import BaseApplication

    from app import create_app

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", None)

        def load(self) -> Flask:
            return create_app()

    _Gunicorn().run()


@click.command("worker")
@click.option("--queue", "queue_names", multiple=True, type=click.Choice(jobs.QUEUES),
              help="Queues to work, in priority order (default: all).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--name", default=None)
@with_appcontext
def worker_command(queue_names: tuple[str, ...], burst: bool, name: str | None) -> None:
    """Run an RQ worker for the service's queues."""
    from flask import current_app

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker = jobs.make_worker(app, queue_names or jobs.QUEUES, name=name)
    worker.work(burst=burst, with_scheduler=True)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Enqueue the periodic jobs (SLA checks, offer time-outs, downloads) when they are due."""
    from callcenter.schedule import run_scheduler

    run_scheduler(services().redis)


@click.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Create or migrate the schema up to REVISION."""
    url = services().settings.database_url
    migrate.upgrade(url, revision)
    click.echo(f"database at {safe_url(url)} is at {revision}")


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


COMMANDS: list[Any] = [serve_command, worker_command, scheduler_command, db_group]


def init_app(app: Flask) -> None:
    from callcenter.demo import call_command, demo_command
    from handlers.commands import COMMANDS as COMPLAINT_COMMANDS
    from ivr.commands import COMMANDS as IVR_COMMANDS
    from queues.commands import COMMANDS as QUEUE_COMMANDS
    from recordings.commands import COMMANDS as RECORDING_COMMANDS
    from staff.commands import COMMANDS as STAFF_COMMANDS

    for command in [*COMMANDS, call_command, demo_command, *QUEUE_COMMANDS,
                    *COMPLAINT_COMMANDS, *RECORDING_COMMANDS, *STAFF_COMMANDS, *IVR_COMMANDS]:
        app.cli.add_command(command)


def _create_app() -> Flask:
    from app import create_app

    return create_app()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``ivr`` script."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    group = FlaskGroup(create_app=_create_app, add_default_commands=False,
                       help="Hotline IVR and voice queue.")
    group.main(args=argv if argv is not None else sys.argv[1:], prog_name="ivr")


if __name__ == "__main__":
    main()
