"""Twilio voice webhooks of the IVR: thin views over ``ivr.flow``."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, request
from werkzeug.exceptions import HTTPException

from callcenter.services import services
from callcenter.webhooks import Webhook, twilio_webhook, twiml_response
from ivr import flow, twiml
from ivr.context import call_context, ivr_config
from ivr.menu import CallerInput, Node

log = logging.getLogger(__name__)

bp = Blueprint("voice", __name__)


def _int_param(fields: dict[str, str], name: str, default: int, maximum: int) -> int:
    raw = fields.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) <= 6 and int(raw) <= maximum else default


@bp.post("/voice/incoming")
@twilio_webhook
def incoming(hook: Webhook) -> Response:
    with call_context(hook) as ctx:
        return twiml_response(flow.incoming(ctx))


@bp.post("/ivr/menu")
@twilio_webhook
def menu_answer(hook: Webhook) -> Response:
    query = hook.query
    try:
        node = Node(query.get("node", ""))
    except ValueError:
        node = None
    attempt = _int_param(query, "attempt", 1, 99)
    caller = CallerInput.from_webhook(hook.form.get("Digits"), hook.form.get("SpeechResult"))
    with call_context(hook) as ctx:
        if node is None:  # a URL we never issued: start the menu again rather than fail
            return twiml_response(flow.incoming(ctx))
        number = "".join(ch for ch in query.get("number", "") if ch.isdigit())[:16]
        return twiml_response(flow.answer(ctx, node, attempt, caller, complaint_number=number))


@bp.post("/ivr/voicemail")
@twilio_webhook
def voicemail(hook: Webhook) -> Response:
    recording_sid = hook.form.get("RecordingSid", "")[:64]
    duration = _int_param(hook.form, "RecordingDuration", 0, 24 * 3600)
    with call_context(hook) as ctx:
        return twiml_response(flow.voicemail_done(
            ctx, recording_sid if recording_sid.isalnum() else "", duration,
            hook.form.get("Digits", "")))


@bp.post("/voice/status")
@twilio_webhook
def status(hook: Webhook) -> Response:
    with call_context(hook) as ctx:
        if ctx.persisted:
            flow.call_ended(ctx, _int_param(hook.form, "CallDuration", 0, 7 * 24 * 3600))
    return twiml_response(twiml.empty())


@bp.post("/voice/fallback")
@twilio_webhook
def fallback(hook: Webhook) -> Response:
    log.error("Twilio used the fallback URL: ErrorCode=%s ErrorUrl=%s",
              hook.form.get("ErrorCode"), hook.form.get("ErrorUrl"))
    with call_context(hook) as ctx:
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
