"""Twilio voice webhooks of the IVR: thin views over ``ivr.flow``."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, request
from werkzeug.exceptions import HTTPException

from callcenter.services import services
from callcenter.webhooks import twilio_webhook, twiml_response
from ivr import flow, twiml
from ivr.context import call_context, ivr_config
from ivr.menu import CallerInput, Node

log = logging.getLogger(__name__)

bp = Blueprint("voice", __name__)


def _int_param(name: str, default: int, maximum: int, *, in_url: bool = False) -> int:
    raw = (request.args if in_url else request.form).get(name, "")
    return int(raw) if raw.isdigit() and len(raw) <= 6 and int(raw) <= maximum else default


@bp.post("/voice/incoming")
@twilio_webhook
def incoming() -> Response:
    with call_context() as ctx:
        return twiml_response(flow.incoming(ctx))


@bp.post("/ivr/menu")
@twilio_webhook
def menu_answer() -> Response:
    try:
        node = Node(request.args.get("node", ""))
    except ValueError:
        node = None
    attempt = _int_param("attempt", 1, 99, in_url=True)
    caller = CallerInput.from_webhook(request.form.get("Digits"), request.form.get("SpeechResult"))
    with call_context() as ctx:
        if node is None:  # a URL we never issued: start the menu again rather than fail
            return twiml_response(flow.incoming(ctx))
        number = "".join(ch for ch in request.args.get("number", "") if ch.isdigit())[:16]
        return twiml_response(flow.answer(ctx, node, attempt, caller, complaint_number=number))


@bp.post("/ivr/voicemail")
@twilio_webhook
def voicemail() -> Response:
    recording_sid = request.form.get("RecordingSid", "")[:64]
    duration = _int_param("RecordingDuration", 0, 24 * 3600)
    with call_context() as ctx:
        return twiml_response(flow.voicemail_done(
            ctx, recording_sid if recording_sid.isalnum() else "", duration,
            request.form.get("Digits", "")))


@bp.post("/voice/status")
@twilio_webhook
def status() -> Response:
    with call_context() as ctx:
        if ctx.persisted:
            flow.call_ended(ctx, _int_param("CallDuration", 0, 7 * 24 * 3600))
    return twiml_response(twiml.empty())


@bp.post("/voice/fallback")
@twilio_webhook
def fallback() -> Response:
    log.error("Twilio used the fallback URL: ErrorCode=%s ErrorUrl=%s",
              request.form.get("ErrorCode"), request.form.get("ErrorUrl"))
    with call_context() as ctx:
        return twiml_response(flow.fallback(ctx))


def webhook_error(error: Exception) -> Response | HTTPException:
    """No webhook may answer 5xx: a caller would hear Twilio's 'application error'."""
    if isinstance(error, HTTPException):
        return error
    log.exception("webhook %s failed; caller sent to voicemail", request.path)
    prompts = ivr_config().prompts
    return twiml_response(twiml.voicemail(
        [prompts.get("sorry_error")], prompts.voice,
        action_url=services().settings.public_url("/ivr/voicemail"),
        recording_status_url=services().settings.public_url("/recordings/status?kind=voicemail"),
    ))


bp.register_error_handler(Exception, webhook_error)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
