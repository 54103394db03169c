"""Twilio voice webhooks of the IVR: thin views over ``ivr.flow``."""

from __future__ import annotations

import logging

from flask import Flask

from callcenter.numbers import ASCII_DIGITS, whole_number
from callcenter.webhooks import Answer, Webhook, WebhookRoutes, add_webhooks
from ivr import flow, twiml
from ivr.context import call_context, ivr_config
from ivr.menu import CallerInput, Node

log = logging.getLogger(__name__)


def webhook_error(error: Exception, hook: Webhook) -> Answer:
    """No webhook may answer 5xx: a caller would hear Twilio's 'application error'."""
    log.exception("webhook %s failed; caller sent to voicemail", hook.path)
    prompts = ivr_config().prompts
    settings = hook.services.settings
    return twiml.voicemail(
        [prompts.get("sorry_error")], prompts.voice,
        action_url=settings.public_url("/ivr/voicemail"),
        recording_status_url=settings.public_url("/recordings/status?kind=voicemail"),
    )


routes = WebhookRoutes(on_error=webhook_error)


@routes.post("/voice/incoming")
def incoming(hook: Webhook) -> Answer:
    with call_context(hook) as ctx:
        return flow.incoming(ctx)


@routes.post("/ivr/menu")
def menu_answer(hook: Webhook) -> Answer:
    query = hook.query
    try:
        node = Node(query.get("node", ""))
    except ValueError:
        node = None
    attempt = whole_number(query, "attempt", 99, 1)
    caller = CallerInput.from_webhook(hook.form.get("Digits"), hook.form.get("SpeechResult"))
    with call_context(hook) as ctx:
        if node is None:  # a URL we never issued: start the menu again rather than fail
            return flow.incoming(ctx)
        number = "".join(ch for ch in query.get("number", "") if ch in ASCII_DIGITS)[:16]
        return flow.answer(ctx, node, attempt, caller, complaint_number=number)


@routes.post("/ivr/voicemail")
def voicemail(hook: Webhook) -> Answer:
    recording_sid = hook.form.get("RecordingSid", "")[:64]
    duration = whole_number(hook.form, "RecordingDuration", 24 * 3600, 0)
    with call_context(hook) as ctx:
        return flow.voicemail_done(
            ctx, recording_sid if recording_sid.isalnum() else "", duration,
            hook.form.get("Digits", ""))


@routes.post("/voice/status")
def status(hook: Webhook) -> Answer:
    with call_context(hook) as ctx:
        if ctx.persisted:
            flow.call_ended(ctx, whole_number(hook.form, "CallDuration", 7 * 24 * 3600, 0))
    return twiml.empty()


@routes.post("/voice/fallback")
def fallback(hook: Webhook) -> Answer:
    log.error("Twilio used the fallback URL: ErrorCode=%s ErrorUrl=%s",
              hook.form.get("ErrorCode"), hook.form.get("ErrorUrl"))
    with call_context(hook) as ctx:
        return flow.fallback(ctx)


def init_app(app: Flask) -> None:
    add_webhooks(app, routes)
