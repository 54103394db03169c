"""Webhooks of the hold queue and the seat leg: thin views over ``queues.callflow``.

* ``/queue/wait`` — the <Enqueue> waitUrl: one turn of the hold loop.
* ``/queue/choice`` — the caller's key at the way-out menu (voicemail, call-back, wait).
* ``/queue/left`` — the <Enqueue> action: the caller left the queue.
* ``/queue/connect`` — where the routing redirects a caller to ring a seat.
* ``/queue/seat-answered`` — the seat leg's status callback (answered).
* ``/queue/seat-done`` — the <Dial> action: the seat hung up or did not answer.

Query parameters are part of the URL Twilio signs, so they are ours; they are still checked
before use, and a value we would never have issued falls back to something harmless.
"""

from __future__ import annotations

import re

from flask import Blueprint, Flask, Response

from callcenter.numbers import MAX_ID, whole_number
from callcenter.services import EXTENSION_KEY as SERVICES_KEY
from callcenter.webhooks import Answer, Webhook, WebhookRoutes, add_webhooks
from ivr import twiml
from ivr.context import call_context, ivr_config, public_url
from ivr.views import webhook_error
from queues import api, callflow
from queues import context as queues_context
from queues.hold import HoldState
from queues.music import hold_music_wav
from queues.seats import SEAT_ID

routes = WebhookRoutes(on_error=webhook_error)
bp = Blueprint("queues", __name__)  # the hold music

HOLD_MUSIC_PATH = "/media/hold-music.wav"
_SKILL = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_CALL_SID = re.compile(r"^[A-Za-z0-9]{2,64}$")
DEFAULT_SKILL = "inquiry"
MAX_COUNT = 10**9 - 1  # seconds on hold, places in the queue
MAX_TALK_SECONDS = 10**7 - 1  # a seat leg's DialCallDuration


def _skill(hook: Webhook) -> str:
    skill = hook.query.get("skill", "")
    return skill if _SKILL.match(skill) else DEFAULT_SKILL


def _offer(hook: Webhook) -> tuple[str, int]:
    seat = hook.query.get("seat", "")
    return (seat if SEAT_ID.match(seat) else ""), whole_number(hook.query, "seq", MAX_ID, 0)


@routes.post("/queue/wait")
def wait(hook: Webhook) -> Answer:
    """One turn of the hold loop: position and expected wait when due, then music."""
    music = ivr_config().prompts.get("hold_music").audio_url or public_url(HOLD_MUSIC_PATH)
    hold_request = callflow.HoldRequest(
        skill=_skill(hook), queue_time=whole_number(hook.form, "QueueTime", MAX_COUNT, 0),
        twilio_position=whole_number(hook.form, "QueuePosition", MAX_COUNT, 0),
        state=HoldState.from_params(hook.query))
    with call_context(hook) as ctx:
        return callflow.hold_turn(ctx, hold_request, music)


@routes.post("/queue/choice")
def choice(hook: Webhook) -> Answer:
    digits = hook.form.get("Digits", "")[:4]
    with call_context(hook) as ctx:
        return callflow.overflow_choice(
            ctx, _skill(hook), digits, HoldState.from_params(hook.query))


@routes.post("/queue/left")
def left(hook: Webhook) -> Answer:
    """The <Enqueue> ended: redirected to a seat, hung up, or left for voicemail/call-back."""
    result = hook.form.get("QueueResult", "")[:32]
    with call_context(hook) as ctx:
        return callflow.left(ctx, result)


@routes.post("/queue/connect")
def connect(hook: Webhook) -> Answer:
    seat_id, seq = _offer(hook)
    with call_context(hook) as ctx:
        return callflow.connect(ctx, _skill(hook), seat_id, seq)


@routes.post("/queue/seat-answered")
def seat_answered(hook: Webhook) -> Answer:
    seat_id, seq = _offer(hook)
    call_sid = hook.query.get("call", "") or hook.form.get("ParentCallSid", "")
    if seat_id and _CALL_SID.match(call_sid):
        callflow.seat_answered(call_sid, seat_id, seq, hook.form.get("CallStatus", ""))
    return twiml.empty()


@routes.post("/queue/seat-done")
def seat_done(hook: Webhook) -> Answer:
    seat_id, seq = _offer(hook)
    status = hook.form.get("DialCallStatus", "")[:16]
    with call_context(hook) as ctx:
        return callflow.seat_done(
            ctx, _skill(hook), seat_id, seq, status,
            whole_number(hook.form, "DialCallDuration", MAX_TALK_SECONDS))


@bp.get(HOLD_MUSIC_PATH)
def hold_music() -> Response:
    """Public like any media Twilio fetches: it carries nothing about anybody."""
    response = Response(hold_music_wav(), mimetype="audio/wav")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


def init_app(app: Flask) -> None:
    settings = app.extensions[SERVICES_KEY].settings
    queues_context.init_app(app, settings.routing_config_path or None)
    app.register_blueprint(bp)
    add_webhooks(app, routes)
    api.init_app(app)
