"""The recording status callback webhook: ``POST /recordings/status``.

Query parameters (part of the URL Twilio signs, so they cannot be forged): ``kind``
(``voicemail`` or ``conversation``), ``seat`` (the seat that took the call) and ``call``
(the customer's call SID, when the recorded leg is another one, such as the seat's).
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.utils import parsedate_to_datetime

from flask import Flask
from werkzeug.exceptions import BadRequest

from callcenter.numbers import whole_number
from callcenter.webhooks import Answer, Webhook, WebhookRoutes, add_webhooks
from ivr import twiml
from ivr.views import webhook_error
from recordings import api
from recordings.callbacks import RecordingFacts, apply_status
from recordings.capture import CALL_SID, SEAT_ID
from recordings.jobs import enqueue_download_quietly
from recordings.models import RecordingKind

log = logging.getLogger(__name__)

routes = WebhookRoutes(on_error=webhook_error)


def _start_time(form: dict[str, str]) -> datetime | None:
    raw = form.get("RecordingStartTime", "")
    try:
        moment = parsedate_to_datetime(raw) if raw else None
    except (TypeError, ValueError):
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


@routes.post("/recordings/status")
def status(hook: Webhook) -> Answer:
    form = hook.form
    sid = form.get("RecordingSid", "")[:64]
    leg_sid = form.get("CallSid", "")[:64]
    if not (sid.isalnum() and leg_sid.isalnum()):
        raise BadRequest("RecordingSid and CallSid are required")
    try:
        kind = RecordingKind(hook.query.get("kind", RecordingKind.CONVERSATION))
    except ValueError:
        kind = RecordingKind.CONVERSATION
    seat = hook.query.get("seat", "")
    customer_call = hook.query.get("call", "")
    call_sid = customer_call if CALL_SID.match(customer_call) else leg_sid
    svc = hook.services
    with svc.database.session() as session:
        outcome = apply_status(session, RecordingFacts(
            recording_sid=sid,
            call_sid=call_sid,
            leg_call_sid=leg_sid,
            status=form.get("RecordingStatus", "completed")[:16],
            url=form.get("RecordingUrl", "")[:512],
            duration=whole_number(form, "RecordingDuration", 7 * 24 * 3600),
            seat_id=seat if SEAT_ID.match(seat) else None,
            channels=whole_number(form, "RecordingChannels", 8),
            source=form.get("RecordingSource", "")[:32],
            started_at=_start_time(form),
            error_code=form.get("ErrorCode", "")[:16],
        ), kind, svc.now())
        recording_id = outcome.recording.id
    if outcome.completed_now:
        enqueue_download_quietly(svc, recording_id)
    return twiml.empty()


def init_app(app: Flask) -> None:
    add_webhooks(app, routes)
    api.init_app(app)
