"""The recording status callback webhook."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request
from sqlalchemy import select

from callcenter.services import services
from callcenter.webhooks import twilio_webhook, twiml_response
from ivr import twiml
from ivr.models import Call
from ivr.views import webhook_error
from recordings.callbacks import RecordingFacts, apply_status
from recordings.models import RecordingKind

bp = Blueprint("recordings", __name__)


@bp.post("/recordings/status")
@twilio_webhook
def status() -> Response:
    form = request.form
    sid = form.get("RecordingSid", "")[:64]
    call_sid = form.get("CallSid", "")[:64]
    if not (sid.isalnum() and call_sid.isalnum()):
        return Response("RecordingSid and CallSid are required\n", status=400,
                        mimetype="text/plain")
    try:
        kind = RecordingKind(request.args.get("kind", RecordingKind.CONVERSATION))
    except ValueError:
        kind = RecordingKind.CONVERSATION
    raw_duration = form.get("RecordingDuration", "")
    svc = services()
    with svc.database.session() as session:
        call = session.scalar(select(Call).where(Call.call_sid == call_sid))
        apply_status(session, RecordingFacts(
            recording_sid=sid,
            call_sid=call_sid,
            status=form.get("RecordingStatus", "completed")[:16],
            url=form.get("RecordingUrl", "")[:512],
            duration=int(raw_duration) if raw_duration.isdigit() else None,
            caller_number=call.from_number if call else "",
        ), kind, svc.now())
    return twiml_response(twiml.empty())


bp.register_error_handler(Exception, webhook_error)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
