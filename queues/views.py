"""Webhooks of the hold queue: the waitUrl loop and the <Enqueue> action."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request

from callcenter.services import services
from callcenter.webhooks import twilio_webhook, twiml_response
from ivr import flow, twiml
from ivr.context import call_context, ivr_config, public_url
from ivr.views import webhook_error
from queues import holding
from queues.music import hold_music_wav

bp = Blueprint("queues", __name__)

HOLD_MUSIC_PATH = "/media/hold-music.wav"


def _position() -> int:
    raw = request.form.get("QueuePosition", "")
    return int(raw) if raw.isdigit() and len(raw) < 7 else 0


@bp.post("/queue/wait")
@twilio_webhook
def wait() -> Response:
    """One pass of the hold loop: the caller's position, then music. Twilio loops it."""
    prompts = ivr_config().prompts
    position = _position()
    announcement = []
    if position:
        announcement.append(prompts.get("queue_position", position=position))
    music = prompts.get("hold_music").audio_url or public_url(HOLD_MUSIC_PATH)
    return twiml_response(twiml.hold(announcement, prompts.voice, music))


@bp.post("/queue/left")
@twilio_webhook
def left() -> Response:
    """The <Enqueue> ended: bridged, hung up, or left the queue (overflow to voicemail)."""
    result = request.form.get("QueueResult", "")[:32]
    with services().database.session() as session:
        ctx = call_context(session)
        if ctx.persisted:
            holding.leave_queue(session, ctx.facts.call_sid, result, ctx.now)
            ctx.step("queue_left", outcome=result)
        if result in ("leave", "queue-full", "error", "system-error"):
            return twiml_response(flow.overflow_to_voicemail(ctx))
    return twiml_response(twiml.empty())


@bp.get(HOLD_MUSIC_PATH)
def hold_music() -> Response:
    """Public like any media Twilio fetches: it carries nothing about anybody."""
    response = Response(hold_music_wav(), mimetype="audio/wav")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


bp.register_error_handler(Exception, webhook_error)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
