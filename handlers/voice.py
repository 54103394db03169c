"""Twilio webhooks of the call-back survey call: thin views over ``handlers.survey``.

``/complaints/survey`` is the call's URL (answered), ``/complaints/survey/answer`` takes the
key pressed, ``/complaints/survey/status`` the call's final status. Each names its attempt
in the query string (``callback=<id>``), which Twilio signs with the rest of the URL.
"""

from __future__ import annotations

import logging

from flask import Flask

from callcenter.numbers import MAX_ID, whole_number
from callcenter.webhooks import Answer, Webhook, WebhookRoutes, add_webhooks
from handlers import context, survey
from ivr import twiml
from ivr.context import ivr_config, public_url
from ivr.flow import spell_digits

log = logging.getLogger(__name__)

_REPLIES = {
    survey.Reply.THANKS: "survey_thanks",
    survey.Reply.SORRY: "survey_sorry",
    survey.Reply.NO_RATING: "survey_no_rating",
    survey.Reply.GOODBYE: "survey_goodbye",
}


def survey_error(error: Exception, hook: Webhook) -> Answer:
    """No survey webhook answers 5xx: the caller hears an apology, a seat will call."""
    log.exception("survey webhook %s failed", hook.path)
    return _say_and_end("survey_error")


routes = WebhookRoutes(on_error=survey_error)


def _call_sid(hook: Webhook) -> str:
    sid = hook.form.get("CallSid", "")[:64]
    return sid if sid.isalnum() else ""


def _ask(callback_id: int, try_number: int, intro: list[str]) -> Answer:
    prompts = ivr_config().prompts
    action = public_url("/complaints/survey/answer", callback=str(callback_id),
                        attempt=str(try_number))
    spoken = [*(prompts.get(key) for key in intro), prompts.get("survey_menu")]
    return twiml.menu(spoken, prompts.voice, action, speech=False)


def _say_and_end(key: str) -> Answer:
    prompts = ivr_config().prompts
    return twiml.speak_and_hang_up([prompts.get(key)], prompts.voice)


@routes.post("/complaints/survey")
def answered(hook: Webhook) -> Answer:
    """The caller picked up: who we are, the complaint's result, the rating question."""
    svc, policy = hook.services, context.complaint_policy()
    callback_id = whole_number(hook.query, "callback", MAX_ID, 0)
    with svc.database.session() as session:
        opening = survey.answered(session, callback_id, _call_sid(hook), svc.now(), policy,
                                  context.working_calendar(session))
    if opening is None:
        return _say_and_end("survey_goodbye")
    prompts = ivr_config().prompts
    action = public_url("/complaints/survey/answer", callback=str(callback_id), attempt="1")
    spoken = [
        prompts.get("survey_intro", number=spell_digits(opening.number)),
        prompts.get("survey_result", result=opening.result),
        prompts.get("survey_menu"),
    ]
    return twiml.menu(spoken, prompts.voice, action, speech=False)


@routes.post("/complaints/survey/answer")
def rated(hook: Webhook) -> Answer:
    """A key (or silence, when the Gather timed out into its Redirect)."""
    svc, policy = hook.services, context.complaint_policy()
    callback_id = whole_number(hook.query, "callback", MAX_ID, 0)
    try_number = max(1, whole_number(hook.query, "attempt", 99, 0))
    digits = hook.form.get("Digits", "")[:4]
    with svc.database.session() as session:
        reply = survey.rate(session, callback_id, digits, try_number, svc.now(), policy,
                            context.working_calendar(session))
    if reply is survey.Reply.ASK_AGAIN:
        return _ask(callback_id, try_number + 1, ["reprompt"])
    return _say_and_end(_REPLIES[reply])


@routes.post("/complaints/survey/status")
def status(hook: Webhook) -> Answer:
    svc, policy = hook.services, context.complaint_policy()
    callback_id = whole_number(hook.query, "callback", MAX_ID, 0)
    call_status = hook.form.get("CallStatus", "")[:16]
    with svc.database.session() as session:
        survey.call_ended(session, callback_id, _call_sid(hook), call_status, svc.now(), policy,
                          context.working_calendar(session))
    return twiml.empty()


def init_app(app: Flask) -> None:
    add_webhooks(app, routes)
