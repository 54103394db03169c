"""Alerts about evidence: a durable row for the console and a CRITICAL log line for paging.

An alert is raised once per recording and kind; raising it again while it is open only
refreshes its message, and raising it after it was resolved opens it again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.db import insert_ignoring_conflict
from recordings.models import RecordingAlert

log = logging.getLogger("recordings.alerts")


class AlertKind(StrEnum):
    DOWNLOAD_FAILING = "download_failing"  # failing for a while; still retried
    DOWNLOAD_GAVE_UP = "download_gave_up"  # no more automatic tries: the evidence is at risk
    PROVIDER_FAILED = "provider_failed"  # Twilio reported the recording as failed
    MISSING = "missing"  # a stored copy is gone
    CHANGED = "changed"  # a stored copy no longer has its recorded SHA-256


def raise_alert(session: Session, recording_id: int, kind: AlertKind, message: str,
                now: datetime) -> None:
    """Open (or re-open) the alert ``kind`` for a recording and log it at CRITICAL."""
    inserted = insert_ignoring_conflict(session, RecordingAlert.__table__, {
        "recording_id": recording_id, "kind": kind.value, "message": message, "raised_at": now,
        "resolved_at": None,
    }, ["recording_id", "kind"])
    if not inserted:
        session.execute(
            update(RecordingAlert)
            .where(RecordingAlert.recording_id == recording_id, RecordingAlert.kind == kind)
            .values(message=message, resolved_at=None)
        )
    log.critical("recording alert %s (recording id %s): %s", kind.value, recording_id, message)


def resolve_alerts(session: Session, recording_id: int, kinds: list[AlertKind],
                   now: datetime) -> None:
    """Close the open alerts ``kinds`` of a recording (its problem went away)."""
    session.execute(
        update(RecordingAlert)
        .where(RecordingAlert.recording_id == recording_id,
               RecordingAlert.kind.in_([kind.value for kind in kinds]),
               RecordingAlert.resolved_at.is_(None))
        .values(resolved_at=now)
    )


def open_alerts(session: Session) -> list[RecordingAlert]:
    return list(session.scalars(
        select(RecordingAlert).where(RecordingAlert.resolved_at.is_(None))
        .order_by(RecordingAlert.raised_at)
    ))
