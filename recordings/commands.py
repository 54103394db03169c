"""``ivr recordings ...``: verify, list, purge, retry, sweep and alerts."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import select, update

from callcenter.services import services
from recordings import integrity, jobs, retention
from recordings.alerts import open_alerts
from recordings.downloads import download
from recordings.models import Integrity, MediaState, Recording
from recordings.storage import StorageError, storage_for
from recordings.twilio_media import DownloadError


@click.group("recordings")
def recordings_group() -> None:
    """Evidence recordings: integrity, downloads, retention."""


@recordings_group.command("verify")
@click.argument("sids", nargs=-1)
@click.option("--require-complete", is_flag=True,
              help="Also fail while any completed recording is not stored yet.")
@click.option("--wait", "wait_seconds", default=0.0, show_default=True,
              help="First wait up to this many seconds for pending downloads to finish.")
@click.option("--verbose", "-v", is_flag=True, help="List every recording, not just problems.")
@with_appcontext
def verify_command(sids: tuple[str, ...], require_complete: bool, wait_seconds: float,
                   verbose: bool) -> None:
    """Re-hash every stored recording against its recorded SHA-256.

    Exits 1 when a stored file is missing or changed, or a download was given up (with
    --require-complete: also while any recording is still waiting or pending).
    """
    svc = services()
    if wait_seconds > 0 and not integrity.wait_for_downloads(svc.database, wait_seconds):
        click.echo(f"downloads still outstanding after {wait_seconds:g} s", err=True)
    report = integrity.verify(svc.database, storage_for(svc.settings), svc.now,
                              recording_sids=sids)
    for check in report.checks:
        if verbose or check.outcome is not Integrity.OK:
            click.echo(check.describe())
    for state in (MediaState.GAVE_UP, MediaState.PENDING, MediaState.WAITING):
        for sid in report.not_stored_sids.get(state, []):
            click.echo(f"{sid}  {state.upper().replace('_', ' ')}  (no stored copy)")
    failed = (report.count(Integrity.MISSING) + report.count(Integrity.CHANGED)
              + report.not_stored[MediaState.GAVE_UP])
    outstanding = report.not_stored[MediaState.PENDING] + report.not_stored[MediaState.WAITING]
    click.echo(
        f"{len(report.checks)} stored recordings checked: "
        f"{report.count(Integrity.OK)} ok, {report.count(Integrity.MISSING)} missing, "
        f"{report.count(Integrity.CHANGED)} changed; "
        f"{report.not_stored[MediaState.GAVE_UP]} downloads given up, {outstanding} not "
        f"downloaded yet, {report.not_stored[MediaState.PURGED]} purged (hash kept), "
        f"{report.not_stored[MediaState.NONE]} without media (absent or failed at Twilio)")
    if failed or (require_complete and outstanding):
        sys.exit(1)


@recordings_group.command("list")
@click.option("--call", "call_sid", default="")
@click.option("--complaint", "complaint_id", type=int, default=None)
@click.option("--state", type=click.Choice([s.value for s in MediaState]), default=None)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@with_appcontext
def list_command(call_sid: str, complaint_id: int | None, state: str | None,
                 limit: int) -> None:
    """List recordings, newest first, with their state and SHA-256."""
    query = select(Recording).order_by(Recording.id.desc()).limit(limit)
    if call_sid:
        query = query.where(Recording.call_sid == call_sid)
    if complaint_id is not None:
        query = query.where(Recording.complaint_id == complaint_id)
    if state:
        query = query.where(Recording.media_state == state)
    with services().database.session() as session:
        for r in session.scalars(query):
            click.echo(f"{r.recording_sid}  {r.kind:<12} {r.media_state:<8} {r.integrity:<9} "
                       f"call {r.call_sid}  seat {r.seat_id or '-'}  complaint "
                       f"{r.complaint_id or '-'}  {r.duration_seconds or 0}s  "
                       f"{r.sha256 or '-'}  {r.last_error[:60] if r.last_error else ''}")


@recordings_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Only list what would be purged.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Delete media kept past RECORDINGS_RETENTION_DAYS after their complaint was archived."""
    svc = services()
    purged = retention.purge_expired(svc.database, storage_for(svc.settings), svc.now,
                                     svc.settings.recordings_retention_days, dry_run=dry_run)
    for item in purged:
        verb = "would purge" if dry_run else ("purged" if item.done else "FAILED")
        click.echo(f"{verb} {item.recording_sid} ({item.storage_key}, sha256 {item.sha256}) "
                   f"complaint {item.complaint_number} archived {item.archived_at:%Y-%m-%d}"
                   f"{'  ' + item.error if item.error else ''}")
    click.echo(f"{len(purged)} recordings {'due' if dry_run else 'handled'}")
    if any(item.error for item in purged):
        sys.exit(1)


@recordings_group.command("retry")
@click.argument("sids", nargs=-1, required=True)
@click.option("--here", is_flag=True, help="Download in this process instead of a worker.")
@with_appcontext
def retry_command(sids: tuple[str, ...], here: bool) -> None:
    """Try the downloads of recordings again, including ones given up."""
    svc = services()
    with svc.database.session() as session:
        session.execute(update(Recording)
                        .where(Recording.recording_sid.in_(sids),
                               Recording.media_state.in_([MediaState.GAVE_UP,
                                                          MediaState.PENDING]))
                        .values(media_state=MediaState.PENDING, next_attempt_at=svc.now(),
                                attempt_started_at=None, download_since=svc.now()))
        rows = session.execute(select(Recording.id, Recording.recording_sid, Recording.media_state)
                               .where(Recording.recording_sid.in_(sids))).all()
    found = {sid for _, sid, _ in rows}
    for sid in sorted(set(sids) - found):
        click.echo(f"{sid}: no such recording", err=True)
    for recording_id, sid, state in rows:
        if state != MediaState.PENDING:
            click.echo(f"{sid}: {state}, nothing to download")
        elif here:
            try:
                outcome = download(svc.settings, svc.database, storage_for(svc.settings),
                                   svc.now, recording_id)
            except (DownloadError, StorageError) as exc:
                outcome = f"failed: {exc}"
            click.echo(f"{sid}: {outcome}")
        else:
            jobs.enqueue_download(svc, recording_id)
            click.echo(f"{sid}: download enqueued")


@recordings_group.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Run the periodic sweep once now (enqueue due downloads, clean up)."""
    click.echo(jobs.sweep_recordings())


@recordings_group.command("alerts")
@with_appcontext
def alerts_command() -> None:
    """List the open evidence alerts."""
    with services().database.session() as session:
        alerts = open_alerts(session)
        for alert in alerts:
            click.echo(f"{alert.raised_at:%Y-%m-%d %H:%M}  {alert.kind:<17} {alert.message}")
    click.echo(f"{len(alerts)} open alerts")


COMMANDS: list[Any] = [recordings_group]
